"""Log-likelihood of continuations given a shared context: the one number every cloze
task needs.

Each request is a context and its continuations (an item's choices). It becomes one row:
the context, then every continuation but its last token, each continuation placed at the
positions right after the context and masked so that it sees the context and itself but
not the other continuations. The context is computed once for all its choices, and its
last position predicts every continuation's first token. (A context that is short next to
its continuations is not worth sharing: those continuations get a row each.) Rows of
similar length are packed into batches; the log-softmax is taken only at the positions
that predict a continuation token, so memory grows with the scored tokens, not with
batch x length x vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from training.device import autocast

# ids (B, T) and optional keywords positions (B, T), mask (B, 1, T, T) -> logits
# (B, T, vocab), or hidden states (B, T, C) with a Head; GPT.hidden_states is one
Forward = Callable[..., torch.Tensor]
Head = Callable[[torch.Tensor], torch.Tensor]  # hidden states (N, C) -> logits (N, vocab)
Request = tuple[list[int], list[list[int]]]  # a context and its continuations


def loglikelihoods(forward: Forward, requests: Sequence[Request], block_size: int,
                   device: torch.device, dtype: torch.dtype, batch_tokens: int | None = None,
                   head: Head | None = None) -> list[list[float]]:
    """The summed natural-log probability of each continuation given its context.

    With `head`, `forward` returns hidden states and only the scored positions go through
    the output layer (the full logits of a batch are the largest tensor by far).
    A context longer than the window loses its oldest tokens, the same ones for every
    continuation, so that the longest fits; a continuation must fit in `block_size` - 1
    tokens (callers skip those that do not). `batch_tokens` (padded tokens per forward
    pass) defaults to 1,024 on a CPU, where larger batches fall out of the caches and run
    slower (benchmarks/eval_speed.py), and 16,384 on a GPU."""
    if batch_tokens is None:
        batch_tokens = 1024 if device.type == "cpu" else 16384
    rows = [row for i, request in enumerate(requests) for row in _rows(i, *request, block_size)]
    rows.sort(key=lambda row: -len(row.ids))
    out = [[0.0] * len(continuations) for _, continuations in requests]
    batch: list[Row] = []
    for row in rows:
        if batch and len(batch[0].ids) * (len(batch) + 1) > batch_tokens:
            _score(forward, head, batch, device, dtype, out)
            batch = []
        batch.append(row)
    if batch:
        _score(forward, head, batch, device, dtype, out)
    return out


@dataclass
class Row:
    """One sequence of a batch: a context and one or more continuations after it."""

    ids: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)  # 0: context, j + 1: continuation j
    scored: list[list[int]] = field(default_factory=list)  # indices predicting each one
    targets: list[list[int]] = field(default_factory=list)
    keys: list[tuple[int, int]] = field(default_factory=list)  # (request, continuation)


def _rows(i: int, context: list[int], continuations: list[list[int]], block_size: int
          ) -> list[Row]:
    """The request's continuations in one row after a shared context, or, when the
    context is short next to them, one row each: a longer row costs more attention than
    the repeated context saves (piqa's short goals and long solutions)."""
    context = context[-(block_size + 1 - max(map(len, continuations))):]
    numbered = list(enumerate(continuations))
    if (len(continuations) - 1) * len(context) >= sum(map(len, continuations)):
        return [_row(i, context, numbered)]
    return [_row(i, context, [pair]) for pair in numbered]


def _row(i: int, context: list[int], continuations: list[tuple[int, list[int]]]) -> Row:
    row = Row(list(context), list(range(len(context))), [0] * len(context))
    for segment, (j, continuation) in enumerate(continuations, 1):
        start = len(row.ids)
        row.ids += continuation[:-1]
        row.positions += range(len(context), len(context) + len(continuation) - 1)
        row.segments += [segment] * (len(continuation) - 1)
        row.scored.append([len(context) - 1, *range(start, len(row.ids))][:len(continuation)])
        row.targets.append(continuation)
        row.keys.append((i, j))
    return row


@torch.no_grad()
def _score(forward: Forward, head: Head | None, batch: list[Row], device: torch.device,
           dtype: torch.dtype, out: list[list[float]]) -> None:
    width = len(batch[0].ids)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    positions = torch.zeros(len(batch), width, dtype=torch.long)
    segments = torch.full((len(batch), width), -1, dtype=torch.long)  # -1: padding
    picked_rows, cols, targets, owner = [], [], [], []
    keys: list[tuple[int, int]] = []
    for r, row in enumerate(batch):
        ids[r, :len(row.ids)] = torch.tensor(row.ids)
        positions[r, :len(row.ids)] = torch.tensor(row.positions)
        segments[r, :len(row.ids)] = torch.tensor(row.segments)
        for where, continuation, key in zip(row.scored, row.targets, row.keys, strict=True):
            picked_rows += [r] * len(where)
            cols += where
            targets += continuation
            owner += [len(keys)] * len(where)
            keys.append(key)
    with autocast(device, dtype):
        output = forward(ids.to(device), positions=positions.to(device),
                         mask=_mask(segments).to(device))
        picked = output[torch.tensor(picked_rows, device=device),
                        torch.tensor(cols, device=device)]
        if head is not None:
            picked = head(picked)
    logprobs = torch.log_softmax(picked.float(), dim=-1)
    token_lp = logprobs.gather(1, torch.tensor(targets, device=device)[:, None])[:, 0]
    sums = torch.zeros(len(keys), dtype=torch.float64, device=device)
    sums.index_add_(0, torch.tensor(owner, device=device), token_lp.double())
    for (i, j), value in zip(keys, sums.tolist(), strict=True):
        out[i][j] = value


def _mask(segments: torch.Tensor) -> torch.Tensor:
    """(B, 1, T, T), True where a query sees a key: earlier-or-same positions of the
    context or of its own segment (padding sees itself, so no row is empty)."""
    index = torch.arange(segments.shape[1])
    causal = index[:, None] >= index[None, :]
    same = segments[:, :, None] == segments[:, None, :]
    context = (segments == 0)[:, None, :]
    return (causal & (same | context))[:, None]
