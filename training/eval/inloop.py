"""Evaluations a training run adds to its validation loss: fixed text sets
(`run.eval_sets`, logged as `eval_loss/NAME`, `eval_bpb/NAME`) and cloze tasks
(`run.eval_tasks`, logged as `task_acc/NAME`, `task_acc_norm/NAME`, `task_bpb/NAME`,
`task_centered/NAME` and the aggregates `task_acc`, ...), so curves of both sit in
metrics.jsonl next to `val_loss`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tokenizers import Tokenizer

from training import parallel
from training.config import TrainConfig
from training.data.validation import ValidationSet
from training.errors import TrainingError
from training.eval.harness import METRICS, Model, score_task
from training.eval.harness import aggregate as mean_over_tasks
from training.eval.perplexity import text_split
from training.eval.tasks import Item, find_task_data, parse_tasks


def prepare(config: TrainConfig, tokenizer: Tokenizer, rank: int, world_size: int
            ) -> tuple[dict[str, ValidationSet], dict[str, list[Item]]]:
    """The evaluation sets' windows and the tasks' items, loaded once at set-up, so a
    missing directory or task data fails before training starts."""
    r = config.run
    sets = {name: ValidationSet(text_split(path, config.data.text_column), tokenizer,
                                config.data.block_size, r.eval_tokens, rank, world_size)
            for name, path in r.eval_sets.items()}
    items = {}
    if r.eval_tasks:
        if (r.eval_tasks_every or r.eval_every) % r.eval_every:
            raise TrainingError(f"run.eval_tasks_every ({r.eval_tasks_every}) must be a "
                                f"multiple of run.eval_every ({r.eval_every})")
        data = find_task_data(r.eval_task_data)
        items = {task: data.items(task, r.eval_tasks_limit)
                 for task in parse_tasks(r.eval_tasks)}
    return sets, items


def extra_metrics(run: Any, evaluate: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """At an evaluation step: every evaluation set, and the tasks when they are due."""
    metrics: dict[str, Any] = {}
    for name, windows in run.eval_sets.items():
        found = evaluate(replace(run, validation={name: windows}))
        metrics[f"eval_loss/{name}"] = found["val_loss"]
        metrics[f"eval_bpb/{name}"] = found["val_bpb"]
    c = run.config.run
    if run.task_items and (run.step % (c.eval_tasks_every or c.eval_every) == 0
                           or run.step == c.max_steps):
        metrics.update(task_metrics(run))
    return metrics


def task_metrics(run: Any) -> dict[str, float]:
    gpt = parallel.without_ddp(run.wrapped)
    model = Model(lambda ids, **kw: gpt(ids, **kw)[0], run.model.config.block_size,
                  run.device, run.dtype, run.tokenizer)
    run.model.eval()
    try:
        results = {task: score_task(model, task, items)
                   for task, items in run.task_items.items()}
    finally:
        run.model.train()
    out = {f"task_{m}/{task}": r[m] for task, r in results.items() if r.get("n")
           for m in METRICS}
    return out | {f"task_{m}": v for m, v in mean_over_tasks(results).items()}
