#!/usr/bin/env python3
"""Validation loss of `gristmill train` on tinyshakespeare against nanoGPT's 1.88.

nanoGPT's CPU character-level run (4 layers, 4 heads, 128 wide, context 64, batch 12, 2000
steps, dropout 0, lr 1e-3 -> 1e-4 cosine, warmup 100, beta2 0.99, no biases) reports a
validation loss of about 1.88 nats/char on the last 10% of the text. This script redoes it
with the real command line, in --work (default: a temporary directory), not the repository:

1. shards: shared/data/clean_tinyshakespeare/input.txt (public-domain text, MIT repo) cut
   into blank-line-separated speeches, each keeping its trailing blank line, so the
   documents put together are the text again; the speeches that start in the first 90% of
   the characters go to train/, the rest to validation/ (nanoGPT cuts at exactly 90%).
2. `gristmill tokenizer train --kind char` and `gristmill train
   training/configs/nanogpt_shakespeare_char.yaml` (nanoGPT's recipe; gristmill's own is
   shakespeare_char.yaml, compared in benchmarks/train_recipe.py) with the paths overridden;
3. the same with a byte-level BPE tokenizer (`--bpe-vocab`, default 1024).

Our loader puts an end-of-text token after every document; `val_loss` counts those
(easy) targets, bits per byte do not. Bits per byte are comparable across tokenizers; for
the char tokenizer on this ASCII text, text nats/char = val_bpb x ln 2 is the number that
compares with nanoGPT's loss (it predicts exactly the characters nanoGPT's does).

Both runs take ~15 min on 2 shared cores with OMP_WAIT_POLICY=passive; without it, on a
loaded machine, libgomp's spinning threads make this small model's steps ~10x slower.
Usage: .venv/bin/python benchmarks/train_quality.py [--steps 2000] [--bpe-vocab 1024]
       [--work DIR] [--skip-bpe] [key.path=value ...]   (extra overrides go to both runs)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
TEXT = next((p for p in (ROOT / ".." / "shared" / "data" / "clean_tinyshakespeare" / "input.txt",
                         Path("/work/shared/data/clean_tinyshakespeare/input.txt"))
             if p.exists()), None)
CONFIG = ROOT / "training" / "configs" / "nanogpt_shakespeare_char.yaml"
GRISTMILL = Path(sys.executable).parent / "gristmill"  # the console script of this venv
NANOGPT_VAL_LOSS = 1.88  # nanoGPT README, CPU shakespeare_char run


def speeches(text: str) -> list[str]:
    """Blank-line-separated speeches, each with its separator: ''.join(result) == text."""
    parts = text.split("\n\n")
    return [p + "\n\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def write_shards(text: str, out: Path) -> tuple[int, int]:
    """train/ and validation/ Parquet files; returns their character counts."""
    docs, cut, seen = speeches(text), 0, 0
    for cut, doc in enumerate(docs):  # noqa: B007 (cut is used after the loop)
        if seen >= 0.9 * len(text):
            break
        seen += len(doc)
    for name, part in (("train", docs[:cut]), ("validation", docs[cut:])):
        (out / name).mkdir(parents=True)
        table = pa.table({"id": [f"{name}-{i}" for i in range(len(part))], "text": part})
        pq.write_table(table, out / name / "part-00000.parquet", row_group_size=1000)
    return seen, len(text) - seen


def gristmill(*args: str, log: Path) -> float:
    """Run the CLI (output to `log`), fail loudly; returns the wall time."""
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        done = subprocess.run([str(GRISTMILL), *args], stdout=out,
                              stderr=subprocess.STDOUT, cwd=ROOT, check=False)
    if done.returncode:
        sys.exit(f"gristmill {' '.join(args)} failed; see {log}:\n{log.read_text()[-3000:]}")
    return time.monotonic() - start


def run_case(name: str, tokenizer_args: list[str], data: Path, work: Path, steps: int,
             extra: list[str]) -> dict:
    """Train the tokenizer and the model; returns the last evaluation and timings."""
    tokenizer, out_dir = work / f"{name}.json", work / f"model-{name}"
    gristmill("tokenizer", "train", "--data", str(data), "--out", str(tokenizer), "--quiet",
              *tokenizer_args, log=work / f"{name}-tokenizer.log")
    overrides = [f"data.sources=[{data}]", f"data.tokenizer={tokenizer}",
                 f"run.out_dir={out_dir}", f"run.max_steps={steps}",
                 f"run.checkpoint_every={steps}", "run.tensorboard=false", *extra]
    seconds = gristmill("train", str(CONFIG), *overrides, "--quiet", log=work / f"{name}.log")
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "val_loss" in r]
    speeds = [r["tokens_per_s"] for r in records if "tokens_per_s" in r]
    vocab = json.loads(tokenizer.read_text())["model"]["vocab"]
    return {"name": name, "seconds": seconds, "evals": evals, "vocab": len(vocab),
            "tokens_per_s": sorted(speeds)[len(speeds) // 2] if speeds else float("nan")}


def report(results: list[dict], chars: tuple[int, int]) -> None:
    print(f"\ntinyshakespeare: {chars[0]:,} train / {chars[1]:,} validation characters; "
          f"(load {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    print(f"{'tokenizer':<10}{'vocab':>6}{'val_loss':>10}{'nats/char':>11}{'val_bpb':>9}"
          f"{'vs 1.88':>9}{'train s':>9}{'tokens/s':>10}")
    for r in results:
        last = r["evals"][-1]
        per_char = last["val_bpb"] * math.log(2)
        print(f"{r['name']:<10}{r['vocab']:>6}{last['val_loss']:>10.4f}{per_char:>11.4f}"
              f"{last['val_bpb']:>9.4f}{per_char - NANOGPT_VAL_LOSS:>+9.3f}"
              f"{r['seconds']:>9.0f}{r['tokens_per_s']:>10,.0f}")
    print("\nvalidation curve (step: char val_loss / val_bpb"
          + (", bpe val_bpb)" if len(results) > 1 else ")"))
    for i, first in enumerate(results[0]["evals"]):
        row = f"  {first['step']:>5}: {first['val_loss']:.4f} / {first['val_bpb']:.4f}"
        for other in results[1:]:
            if i < len(other["evals"]):
                row += f", {other['evals'][i]['val_bpb']:.4f}"
        print(row)
    print(f"nanoGPT: {NANOGPT_VAL_LOSS} nats/char = {NANOGPT_VAL_LOSS / math.log(2):.4f} "
          "bits/byte (ASCII: one byte per character)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps per run")
    parser.add_argument("--bpe-vocab", type=int, default=1024)
    parser.add_argument("--skip-bpe", action="store_true", help="the char run only")
    parser.add_argument("--work", help="keep shards, tokenizers and runs here (new folder)")
    parser.add_argument("overrides", nargs="*", help="extra key.path=value for both runs")
    args = parser.parse_args()
    if TEXT is None:
        sys.exit("shared/data/clean_tinyshakespeare/input.txt not found")
    text = TEXT.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="gristmill-quality-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        chars = write_shards(text, work / "shakespeare")
        cases = [("char", ["--kind", "char"])]
        if not args.skip_bpe:
            cases.append((f"bpe{args.bpe_vocab}", ["--vocab-size", str(args.bpe_vocab)]))
        results = []
        for name, tokenizer_args in cases:
            results.append(run_case(name, tokenizer_args, work / "shakespeare", work,
                                    args.steps, args.overrides))
            last = results[-1]["evals"][-1]
            print(f"{name}: val_loss {last['val_loss']:.4f}, val_bpb {last['val_bpb']:.4f} "
                  f"after {args.steps} steps, {results[-1]['seconds']:.0f}s", flush=True)
        report(results, chars)


if __name__ == "__main__":
    main()
