#!/usr/bin/env python3
"""Whole-command training speed: `gristmill train` against a plain nanoGPT loop, per step.

Issue 18's comparison: 6 layers, 384 wide, 6 heads, context 256, batch 12, GPT-2's
architecture (learned positions, LayerNorm, GELU, biases, tied head), AdamW, on
tinyshakespeare with a byte-level BPE of `--vocab` ids. Each arm is a fresh process, run
one after the other and alternating order every round, in fp32 and (where the CPU has
AVX512-BF16 or AMX) in bf16 autocast:

- gristmill: `gristmill train` on the shards (its loader tokenizes them, in the training
  process by default), logging every 5 steps; tokens/s over the steps after `--warmup`
  from its own metrics (the logged windows' tokens / their seconds);
- nanogpt: this script's `loop` subcommand: nanoGPT's train.py reduced to its hot loop,
  from a uint16 `train.bin` of the same tokens (np.memmap, random offsets, `torch.randint`),
  the model and optimizer of train_throughput.py (RefGPT, foreach AdamW), `loss.item()`
  every 5 steps as nanoGPT logs; the same steps timed.

The OpenMP wait policy is the environment's unless `--omp` names one for both arms
(`--omp unset` removes it). Prints tokens/s per run, the medians and the ratio.
Usage: .venv/bin/python benchmarks/train_vs_nanogpt.py [--rounds 2] [--steps 40]
       [--warmup 10] [--dtypes fp32 bf16] [--omp unset|PASSIVE|ACTIVE] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_quality import TEXT, write_shards
from train_throughput import native_bf16

ROOT = Path(__file__).resolve().parents[1]
GRISTMILL = Path(sys.executable).parent / "gristmill"
LAYERS, WIDTH, HEADS, CONTEXT, BATCH, LOG_EVERY = 6, 384, 6, 256, 12, 5
NANOGPT_KEYS = {"model.n_layer": LAYERS, "model.n_head": HEADS, "model.n_embd": WIDTH,
                "model.bias": "true", "model.positions": "learned", "model.norm": "layernorm",
                "model.mlp": "gelu", "model.dropout": 0.0, "data.block_size": CONTEXT,
                "data.batch_size": BATCH, "optim.name": "adamw", "optim.lr": 6e-4,
                "schedule.kind": "cosine", "schedule.warmup_steps": 0}


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def prepare(work: Path, vocab: int) -> tuple[Path, Path, Path]:
    """Shakespeare shards, their BPE and the train split as nanoGPT's uint16 train.bin."""
    data, tok, binfile = work / "shakespeare", work / f"bpe{vocab}.json", work / "train.bin"
    if not data.exists():
        write_shards(TEXT.read_text(encoding="utf-8"), data)
    if not tok.exists():
        subprocess.run([str(GRISTMILL), "tokenizer", "train", "--data", str(data), "--out",
                        str(tok), "--vocab-size", str(vocab), "--quiet"], check=True)
    if not binfile.exists():
        import pyarrow.parquet as pq
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tok))
        eot = tokenizer.token_to_id("<|endoftext|>")
        ids: list[int] = []
        for shard in sorted((data / "train").glob("*.parquet")):
            for text in pq.read_table(shard, columns=["text"])["text"].to_pylist():
                ids += [*tokenizer.encode(text).ids, eot]
        np.array(ids, dtype=np.uint16).tofile(binfile)
    return data, tok, binfile


def env(omp: str | None) -> dict[str, str]:
    out = dict(os.environ)
    if omp == "unset":
        out.pop("OMP_WAIT_POLICY", None)
    elif omp:
        out["OMP_WAIT_POLICY"] = omp
    return out


def run_gristmill(data: Path, tok: Path, out: Path, dtype: str, steps: int, warmup: int,
                  omp: str | None) -> float:
    keys = {**NANOGPT_KEYS, "data.sources": f"[{data}]", "data.tokenizer": tok,
            "run.out_dir": out, "run.max_steps": warmup + steps, "run.dtype":
            {"fp32": "float32", "bf16": "bfloat16"}[dtype], "run.log_every": LOG_EVERY,
            "run.eval_every": 10**6, "run.checkpoint_every": 10**6, "run.eval_tokens": BATCH
            * CONTEXT, "run.tensorboard": "false"}
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([str(GRISTMILL), "train", str(ROOT / "training/configs/tiny.yaml"),
                    *(f"{k}={v}" for k, v in keys.items()), "--quiet"], check=True,
                   env=env(omp), cwd=ROOT, stdout=subprocess.DEVNULL)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    timed = [r for r in records if "tokens_per_s" in r and r["step"] > warmup]
    seconds = sum(LOG_EVERY * BATCH * CONTEXT / r["tokens_per_s"] for r in timed)
    return len(timed) * LOG_EVERY * BATCH * CONTEXT / seconds


def run_nanogpt(binfile: Path, vocab: int, dtype: str, steps: int, warmup: int,
                omp: str | None) -> float:
    done = subprocess.run([sys.executable, __file__, "loop", str(binfile), str(vocab), dtype,
                           str(steps), str(warmup)], check=True, env=env(omp),
                          capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def loop(binfile: str, vocab: int, dtype: str, steps: int, warmup: int) -> None:
    """nanoGPT's train.py hot loop; prints tokens/s over the steps after `warmup`."""
    import torch
    from torch import nn
    from train_throughput import CLIP, RefGPT, ref_optimizer

    from training.model import GPTConfig

    torch.manual_seed(1337)
    model = RefGPT(GPTConfig(vocab_size=vocab, block_size=CONTEXT, n_layer=LAYERS,
                             n_head=HEADS, n_embd=WIDTH))
    optimizer = ref_optimizer(model)
    data = np.memmap(binfile, dtype=np.uint16, mode="r")
    autocast_on = dtype == "bf16"

    def get_batch() -> tuple[torch.Tensor, torch.Tensor]:
        ix = torch.randint(len(data) - CONTEXT, (BATCH,))
        x = torch.stack([torch.from_numpy(data[i:i + CONTEXT].astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + CONTEXT].astype(np.int64))
                         for i in ix])
        return x, y

    x, y = get_batch()
    for step in range(warmup + steps):
        if step == warmup:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast_on):
            loss = model(x, y)
        x, y = get_batch()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step % LOG_EVERY == 0:
            loss.item()
    print(steps * BATCH * CONTEXT / (time.perf_counter() - start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--omp", help="OMP_WAIT_POLICY for both arms (unset: remove it)")
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    args.warmup = -(-args.warmup // LOG_EVERY) * LOG_EVERY  # gristmill logs every 5 steps
    work = args.work or Path(tempfile.mkdtemp(prefix="gristmill-vs-nanogpt-"))
    data, tok, binfile = prepare(work, args.vocab)
    dtypes = [d for d in args.dtypes if d == "fp32" or native_bf16()]
    print(f"{LAYERS} layers, {WIDTH} wide, context {CONTEXT}, batch {BATCH}, vocab "
          f"{args.vocab}; {args.steps} timed steps after {args.warmup}; OMP_WAIT_POLICY="
          f"{env(args.omp).get('OMP_WAIT_POLICY', '(unset)')}; native bf16: {native_bf16()}")
    speeds: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for dtype in dtypes:
            arms = ["gristmill", "nanogpt"] if r % 2 == 0 else ["nanogpt", "gristmill"]
            for arm in arms:
                before = load()
                speed = (run_gristmill(data, tok, work / f"run-{dtype}-{r}", dtype, args.steps,
                                       args.warmup, args.omp) if arm == "gristmill" else
                         run_nanogpt(binfile, args.vocab, dtype, args.steps, args.warmup,
                                     args.omp))
                speeds.setdefault((dtype, arm), []).append(speed)
                print(f"  round {r + 1} {dtype} {arm:<9} {speed:8,.0f} tokens/s  "
                      f"(load {before} -> {load()})", flush=True)
    for dtype in dtypes:
        ours, ref = (statistics.median(speeds[(dtype, a)]) for a in ("gristmill", "nanogpt"))
        print(f"{dtype}: gristmill {ours:,.0f} against nanogpt {ref:,.0f} tokens/s (medians): "
              f"{ours / ref:.2f}x")


if __name__ == "__main__":
    if sys.argv[1:2] == ["loop"]:
        b, v, d, s, w = sys.argv[2:7]
        loop(b, int(v), d, int(s), int(w))
    else:
        main()
