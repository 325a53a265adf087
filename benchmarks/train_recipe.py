#!/usr/bin/env python3
"""gristmill's training recipe against nanoGPT's, side by side in one run, several seeds.

1. char: tinyshakespeare at nanoGPT's CPU budget (4 layers, 4 heads, 128 wide, context 64,
   batch 12, 2000 steps, character tokenizer): training/configs/nanogpt_shakespeare_char.yaml
   (the nanogpt preset) against training/configs/shakespeare_char.yaml, scored on the whole
   validation split in nats per character (val_bpb x ln 2: the end-of-text tokens our loader
   adds are not characters). Target: <= 1.80; nanoGPT gets 1.89-1.91.
2. bpe: the demo's curated web-and-books sample with its 4096-token BPE and
   training/configs/tiny.yaml, as shipped and with the nanoGPT recipe's keys (NANOGPT below,
   and GPT-2's biases: tiny.yaml as it was) put back: the steps the shipped recipe needs
   to reach the nanoGPT recipe's final validation loss (linear between evaluations; target
   <= 70%), and tokens/s (median of the logged windows; target within 10%).

`--ablate` adds, per seed, one char run for each switch in which shakespeare_char.yaml
differs from the preset, with that one switch set back to nanoGPT's value (the table in
docs/training.md). Runs go one after another (`--parallel 2` runs the two arms of a seed
at once: same load on both, half the wall time on an otherwise idle 2+ core machine).
The demo data is made as `make demo` makes it, into --work, unless --demo names it.

Usage: .venv/bin/python benchmarks/train_recipe.py [--seeds 1337 1338] [--parts char bpe]
       [--char-steps 2000] [--bpe-steps 400] [--ablate] [--work DIR] [--demo DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_quality import TEXT, write_shards

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "training" / "configs"
GRISTMILL = Path(sys.executable).parent / "gristmill"
# the recipe's keys at nanoGPT's values (GPT-2's architecture, AdamW, cosine)
NANOGPT = {"model.positions": "learned", "model.norm": "layernorm", "model.mlp": "gelu",
           "model.qk_norm": False, "model.zero_init": False, "model.logit_softcap": None,
           "model.tie_embeddings": True, "optim.name": "adamw", "schedule.kind": "cosine"}

TINY_BEFORE = {"model.bias": True}  # tiny.yaml before the recipe had GPT-2's biases


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def train(config: Path, out: Path, overrides: dict[str, object], extra: list[str]) -> dict:
    """One `gristmill train`; returns its evaluations, speed and parameter count."""
    args = [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...')}"
            .strip() for k, v in overrides.items()]
    start = time.monotonic()
    log = out.with_suffix(".log")
    with open(log, "w", encoding="utf-8") as sink:
        done = subprocess.run([str(GRISTMILL), "train", str(config), f"run.out_dir={out}",
                               "run.tensorboard=false", *args, *extra, "--quiet"],
                              stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT, check=False)
    if done.returncode:
        sys.exit(f"training {out.name} failed; see {log}:\n{log.read_text()[-3000:]}")
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    speeds = [r["tokens_per_s"] for r in records if "tokens_per_s" in r]
    return {"evals": [r for r in records if "val_loss" in r], "seconds":
            time.monotonic() - start, "tokens_per_s": statistics.median(speeds),
            "params": parameters(out), "load": load()}


def parameters(out: Path) -> int:
    from safetensors.torch import load_file

    files = sorted((out / "checkpoints").glob("step-*/model.safetensors"))
    return sum(t.numel() for t in load_file(files[-1]).values())  # tied weights once


def arms(jobs: list[tuple[str, Path, dict]], extra: list[str], work: Path,
         parallel: int) -> dict[str, dict]:
    def one(job: tuple[str, Path, dict]) -> tuple[str, dict]:
        name, config, overrides = job
        result = train(config, work / name, overrides, extra)
        print(f"  {name}: {summary(result)}", flush=True)
        return name, result

    with ThreadPoolExecutor(parallel) as pool:
        return dict(pool.map(one, jobs))


def summary(r: dict) -> str:
    last = r["evals"][-1]
    return (f"val_loss {last['val_loss']:.4f}, nats/char {last['val_bpb'] * math.log(2):.4f}"
            f", {r['tokens_per_s']:,.0f} tokens/s, {r['params']:,} params, "
            f"{r['seconds']:.0f}s (load {r['load']})")


def switches() -> dict[str, object]:
    """The recipe keys shakespeare_char.yaml sets to other values than nanoGPT's."""
    raw = yaml.safe_load((CONFIGS / "shakespeare_char.yaml").read_text())
    values = {f"{s}.{k}": v for s, keys in raw.items() for k, v in keys.items()}
    return {k: v for k, v in NANOGPT.items() if k in values and values[k] != v}


def char_part(seeds: list[int], steps: int, ablate: bool, work: Path, parallel: int) -> None:
    data = work / "shakespeare"
    if not data.exists():
        write_shards(TEXT.read_text(encoding="utf-8"), data)
        subprocess.run([str(GRISTMILL), "tokenizer", "train", "--kind", "char", "--data",
                        str(data), "--out", str(work / "chars.json"), "--quiet"], check=True,
                       capture_output=True)
    extra = [f"data.sources=[{data}]", f"data.tokenizer={work / 'chars.json'}",
             f"run.max_steps={steps}", f"run.eval_every={steps}", f"run.checkpoint_every="
             f"{steps}", "run.eval_tokens=1000000"]  # > the validation split: all of it
    rows: dict[str, list[float]] = {}
    for seed in seeds:
        print(f"char, seed {seed} (load {load()})", flush=True)
        jobs = [(f"char-nanogpt-{seed}", CONFIGS / "nanogpt_shakespeare_char.yaml", {}),
                (f"char-gristmill-{seed}", CONFIGS / "shakespeare_char.yaml", {})]
        if ablate:
            jobs += [(f"char-without-{key}-{seed}", CONFIGS / "shakespeare_char.yaml",
                      {key: NANOGPT[key]}) for key in switches()]
        results = arms(jobs, [*extra, f"run.seed={seed}"], work, parallel)
        for name, r in results.items():
            arm = name.removeprefix("char-").rsplit("-", 1)[0]
            rows.setdefault(arm, []).append(r["evals"][-1]["val_bpb"] * math.log(2))
        ratio = results[jobs[1][0]]["params"] / results[jobs[0][0]]["params"]
        print(f"  parameters: gristmill / nanogpt = {ratio:.3f}")
    print(f"\nchar, {steps} steps, whole validation split, nats/char (seeds {seeds}):")
    for arm, values in rows.items():
        spread = f" +- {statistics.stdev(values):.4f}" if len(values) > 1 else ""
        print(f"  {arm:<32} {statistics.mean(values):.4f}{spread}   "
              + " ".join(f"{v:.4f}" for v in values))


def demo_data(work: Path) -> Path:
    """The demo's curated sample and tokenizer, made as the Makefile's demo target does."""
    demo = work / "demo"
    if (demo / "tokenizer.json").exists():
        return demo
    subprocess.run([str(GRISTMILL), "curate", "pipelines/web.yaml", "--input",
                    "data/sample/*.jsonl.gz", "--output", str(demo), "--overwrite",
                    "steps.cleanup.unwrap_lines=true", "steps.split.validation_fraction=0.05"],
                   cwd=ROOT, check=True, capture_output=True)
    subprocess.run([str(GRISTMILL), "tokenizer", "train", "--data", str(demo), "--vocab-size",
                    "4096", "--out", str(demo / "tokenizer.json"), "--overwrite"], cwd=ROOT,
                   check=True, capture_output=True)
    return demo


def reach(evals: list[dict], target: float) -> float | None:
    """The first step at which val_loss reaches `target`, linear between evaluations."""
    before = (0, math.inf)
    for e in evals:
        if e["val_loss"] <= target:
            step0, loss0 = before
            if math.isinf(loss0):
                return float(e["step"])
            return step0 + (e["step"] - step0) * (loss0 - target) / (loss0 - e["val_loss"])
        before = (e["step"], e["val_loss"])
    return None


def bpe_part(seeds: list[int], steps: int, every: int, demo: Path, work: Path,
             parallel: int) -> None:
    extra = [f"data.sources=[{demo}]", f"data.tokenizer={demo / 'tokenizer.json'}",
             f"run.max_steps={steps}", f"run.eval_every={every}",
             f"run.checkpoint_every={steps}"]
    for seed in seeds:
        print(f"bpe, seed {seed} (load {load()})", flush=True)
        jobs = [(f"bpe-nanogpt-{seed}", CONFIGS / "tiny.yaml", {**NANOGPT, **TINY_BEFORE}),
                (f"bpe-gristmill-{seed}", CONFIGS / "tiny.yaml", {})]
        results = arms(jobs, [*extra, f"run.seed={seed}"], work, parallel)
        base, new = results[jobs[0][0]], results[jobs[1][0]]
        target = base["evals"][-1]["val_loss"]
        step = reach(new["evals"], target)
        share = f"{step / steps:.0%}" if step is not None else "not reached"
        print(f"  nanogpt recipe's final val_loss {target:.4f} (bpb "
              f"{base['evals'][-1]['val_bpb']:.4f}); gristmill's final "
              f"{new['evals'][-1]['val_loss']:.4f} (bpb {new['evals'][-1]['val_bpb']:.4f}); "
              f"gristmill reaches {target:.4f} at step {step or float('nan'):.0f} of {steps} "
              f"({share}); tokens/s gristmill / nanogpt = "
              f"{new['tokens_per_s'] / base['tokens_per_s']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1337, 1338])
    parser.add_argument("--parts", nargs="+", choices=["char", "bpe"], default=["char", "bpe"])
    parser.add_argument("--char-steps", type=int, default=2000)
    parser.add_argument("--bpe-steps", type=int, default=400)
    parser.add_argument("--bpe-eval-every", type=int, default=50)
    parser.add_argument("--ablate", action="store_true", help="one char run per switch off")
    parser.add_argument("--parallel", type=int, default=1, help="runs at once")
    parser.add_argument("--work", help="keep data and runs here (new folder)")
    parser.add_argument("--demo", help="a curated demo folder with tokenizer.json")
    args = parser.parse_args()
    if TEXT is None and "char" in args.parts:
        sys.exit("shared/data/clean_tinyshakespeare/input.txt not found")
    with tempfile.TemporaryDirectory(prefix="gristmill-recipe-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if "char" in args.parts:
            char_part(args.seeds, args.char_steps, args.ablate, work, args.parallel)
        if "bpe" in args.parts:
            demo = Path(args.demo) if args.demo else demo_data(work)
            bpe_part(args.seeds, args.bpe_steps, args.bpe_eval_every, demo, work,
                     args.parallel)
        print(f"load {load()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")


if __name__ == "__main__":
    main()
