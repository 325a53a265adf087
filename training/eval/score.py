"""Log-likelihood of continuations given contexts: the one number every cloze task needs.

Requests (context ids, continuation ids) are packed into batches of similar length; each
sequence is `context + continuation[:-1]`, and the log-softmax is taken only at the
positions that predict a continuation token, so memory grows with the scored tokens, not
with batch x length x vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from training.device import autocast

Forward = Callable[[torch.Tensor], torch.Tensor]  # ids (B, T) -> logits (B, T, vocab)
Head = Callable[[torch.Tensor], torch.Tensor]  # hidden states (N, C) -> logits (N, vocab)


def loglikelihoods(forward: Forward, requests: Sequence[tuple[list[int], list[int]]],
                   block_size: int, device: torch.device, dtype: torch.dtype,
                   batch_tokens: int | None = None, head: Head | None = None) -> list[float]:
    """The summed natural-log probability of each continuation given its context.

    With `head`, `forward` returns hidden states and only the scored positions go through
    the output layer (the full logits of a batch are the largest tensor by far).
    A context longer than the window loses its oldest tokens; a continuation must fit in
    `block_size` tokens (callers skip those that do not). `batch_tokens` (padded tokens
    per forward pass) defaults to 1,024 on a CPU, where larger batches fall out of the
    caches and run slower (benchmarks/eval_speed.py), and 16,384 on a GPU."""
    if batch_tokens is None:
        batch_tokens = 1024 if device.type == "cpu" else 16384
    order = sorted(range(len(requests)), key=lambda i: -_length(requests[i], block_size))
    out = [0.0] * len(requests)
    batch: list[int] = []
    for i in order:
        width = _length(requests[batch[0] if batch else i], block_size)
        if batch and width * (len(batch) + 1) > batch_tokens:
            _score(forward, head, requests, batch, block_size, device, dtype, out)
            batch = []
        batch.append(i)
    if batch:
        _score(forward, head, requests, batch, block_size, device, dtype, out)
    return out


def _length(request: tuple[list[int], list[int]], block_size: int) -> int:
    return min(len(request[0]) + len(request[1]) - 1, block_size)


@torch.no_grad()
def _score(forward: Forward, head: Head | None,
           requests: Sequence[tuple[list[int], list[int]]], batch: list[int],
           block_size: int, device: torch.device, dtype: torch.dtype,
           out: list[float]) -> None:
    width = _length(requests[batch[0]], block_size)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    rows, cols, targets, owner = [], [], [], []
    for row, i in enumerate(batch):
        context, continuation = requests[i]
        sequence = (context + continuation)[-(block_size + 1):]
        inputs = sequence[:-1]
        ids[row, :len(inputs)] = torch.tensor(inputs)
        first = len(inputs) - len(continuation)  # position predicting continuation[0]
        rows += [row] * len(continuation)
        cols += range(first, len(inputs))
        targets += continuation
        owner += [row] * len(continuation)
    with autocast(device, dtype):
        output = forward(ids.to(device))
        picked = output[torch.tensor(rows, device=device), torch.tensor(cols, device=device)]
        if head is not None:
            picked = head(picked)
    logprobs = torch.log_softmax(picked.float(), dim=-1)
    token_lp = logprobs.gather(1, torch.tensor(targets, device=device)[:, None])[:, 0]
    sums = torch.zeros(len(batch), dtype=torch.float64, device=device)
    sums.index_add_(0, torch.tensor(owner, device=device), token_lp.double())
    for i, value in zip(batch, sums.tolist(), strict=True):
        out[i] = value
