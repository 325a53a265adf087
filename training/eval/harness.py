"""Score a model on cloze tasks: per item the log-likelihood of every choice, per task
acc, acc_norm, bits per byte of the correct answer and centered accuracy, and an aggregate.

- `acc`: the choice with the highest summed log-likelihood is the gold one.
- `acc_norm`: the same after dividing each log-likelihood by the choice's UTF-8 bytes
  (lm-eval's acc_norm), which removes the bias towards short answers.
- `bpb`: the correct answers' nats / ln 2 / their UTF-8 bytes, over all items: a continuous
  score that does not depend on the tokenizer and moves before accuracy does.
- `centered`: (acc_norm - chance) / (1 - chance), chance = the mean of 1 / choices, so 0
  is guessing and 1 is perfect, comparable across tasks (DCLM's CORE averages it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch
from tokenizers import Tokenizer

from training.eval.score import Forward, Head, loglikelihoods
from training.eval.tasks import Item, TaskData
from training.tokenizer.load import eot_id

METRICS = ("acc", "acc_norm", "bpb", "centered")


@dataclass
class Model:
    """What scoring needs of a model: its forward (ids, positions and attention mask to
    logits, or to hidden states when `head` is the output layer), context length, device,
    dtype and tokenizer."""

    forward: Forward
    block_size: int
    device: torch.device
    dtype: torch.dtype
    tokenizer: Tokenizer
    head: Head | None = None


def encode_item(model: Model, item: Item) -> tuple[list[list[int]], list[list[int]]]:
    """Token ids of each choice's context (after end-of-text, as a document starts in
    training) and of each continuation; each context is encoded once."""
    eot = eot_id(model.tokenizer)
    unique = {c: [eot, *model.tokenizer.encode(c, add_special_tokens=False).ids]
              for c in dict.fromkeys(item.contexts)}
    choices = [model.tokenizer.encode(c, add_special_tokens=False).ids for c in item.choices]
    return [unique[c] for c in item.contexts], choices


def score_task(model: Model, task: str, items: list[Item], details: TextIO | None = None,
               batch_tokens: int | None = None) -> dict[str, Any]:
    """One task's metrics; each item's record goes to `details` (JSONL) when given."""
    encoded = [encode_item(model, item) for item in items]
    fits = [max(len(c) for c in choices) <= model.block_size - 1
            for _, choices in encoded]
    requests = [r for (contexts, choices), ok in zip(encoded, fits, strict=True) if ok
                for r in requests_of(contexts, choices)]
    scores = iter(loglikelihoods(model.forward, requests, model.block_size, model.device,
                                 model.dtype, batch_tokens, model.head))
    records = []
    for item, (contexts, choices), ok in zip(items, encoded, fits, strict=True):
        if not ok:
            continue
        logprobs = [lp for _ in requests_of(contexts, choices) for lp in next(scores)]
        record = detail(task, item, contexts, choices, logprobs)
        records.append(record)
        if details is not None:
            details.write(json.dumps(record, ensure_ascii=False) + "\n")
    return {**task_metrics(records), "skipped": len(items) - len(records)}


def requests_of(contexts: list[list[int]], choices: list[list[int]]
                ) -> list[tuple[list[int], list[list[int]]]]:
    """One request per run of choices that share a context (all of an item's, except in
    WinoGrande), so each context is computed once for its choices, in choice order."""
    requests: list[tuple[list[int], list[list[int]]]] = []
    for context, choice in zip(contexts, choices, strict=True):
        if requests and requests[-1][0] == context:
            requests[-1][1].append(choice)
        else:
            requests.append((context, [choice]))
    return requests


def detail(task: str, item: Item, contexts: list[list[int]], choices: list[list[int]],
           logprobs: list[float]) -> dict[str, Any]:
    """The per-item record of --details: enough to recompute every metric by hand."""
    sizes = [len(c.encode()) for c in item.choices]
    shared = item.shared_context
    return {"task": task, "context": item.contexts[0] if shared else list(item.contexts),
            "choices": list(item.choices), "gold": item.gold,
            "pred": _argmax(logprobs),
            "pred_norm": _argmax([lp / max(n, 1) for lp, n in zip(logprobs, sizes,
                                                                  strict=True)]),
            "context_tokens": contexts[0] if shared else contexts,
            "choice_tokens": choices, "logprobs": logprobs}


def task_metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """acc, acc_norm, bpb, centered and n from per-item records."""
    n = len(records)
    if n == 0:
        return {"n": 0}
    acc = sum(r["pred"] == r["gold"] for r in records) / n
    acc_norm = sum(r["pred_norm"] == r["gold"] for r in records) / n
    chance = sum(1 / len(r["choices"]) for r in records) / n
    nats = -sum(r["logprobs"][r["gold"]] for r in records)
    size = sum(len(r["choices"][r["gold"]].encode()) for r in records)
    return {"n": n, "acc": acc, "acc_norm": acc_norm, "bpb": nats / math.log(2) / max(size, 1),
            "centered": (acc_norm - chance) / (1 - chance), "chance": chance,
            "acc_stderr": math.sqrt(acc * (1 - acc) / n)}


def aggregate(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The unweighted mean of each metric over the tasks (each task counts once)."""
    scored = [r for r in results.values() if r.get("n")]
    return {m: sum(r[m] for r in scored) / len(scored) for m in METRICS} if scored else {}


def evaluate_tasks(model: Model, tasks: Iterable[str], data: TaskData,
                   limit: int | None = None, details: Path | None = None,
                   batch_tokens: int | None = None) -> dict[str, Any]:
    """`{"tasks": {name: metrics}, "aggregate": {...}}` for the given tasks."""
    results = {}
    handle = open(details, "w", encoding="utf-8") if details else None  # noqa: SIM115
    try:
        for task in tasks:
            results[task] = score_task(model, task, data.items(task, limit), handle,
                                       batch_tokens)
    finally:
        if handle:
            handle.close()
    return {"tasks": results, "aggregate": aggregate(results)}


def _argmax(values: list[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)
