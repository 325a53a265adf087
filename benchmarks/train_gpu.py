"""GPT-2 124M (training/configs/gpt2_124m.yaml) on one GPU: tokens/s and MFU with bf16
autocast, with and without torch.compile, through `gristmill train`'s own trainer.

Data: the bundled sample (data/sample), written as shards, a byte-level BPE tokenizer
trained on it and a pre-tokenized cache, so the loader is never the bottleneck. The corpus
is small (it repeats many times); this measures speed, not quality. MFU counts 6N + 12LHQT
FLOPs per token against the GPU's dense bf16 peak (H100/H200 SXM: 989 TFLOP/s).

    python benchmarks/train_gpu.py --work /tmp/gpu [--steps 60] [--batch 16]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from training.config import load_config
from training.data.corpus import find_splits
from training.data.token_cache import build_cache
from training.tokenizer.train import train_bpe
from training.trainer import train

ROOT = Path(__file__).resolve().parent.parent


def sample_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "data" / "sample").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                try:
                    text = json.loads(line).get("text")
                except (ValueError, AttributeError):
                    continue
                if isinstance(text, str) and text.strip():
                    texts.append(text)
    return texts


def prepare(work: Path) -> tuple[Path, Path, Path]:
    """Shards (train/ and validation/), tokenizer.json and a token cache under `work`."""
    texts = sample_texts()
    shards = work / "shards"
    for split, part in (("train", texts[:-100]), ("validation", texts[-100:])):
        (shards / split).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"id": [f"{split}-{i}" for i in range(len(part))],
                                 "text": part}), shards / split / "part-00000.parquet")
    tokenizer = train_bpe([texts], 8192)
    tokenizer.save(str(work / "tokenizer.json"))
    for split in find_splits(shards):
        if split is not None:
            build_cache(split, tokenizer, work / "cache")
    return shards, work / "tokenizer.json", work / "cache"


def measure(work: Path, compile_: bool, steps: int, batch: int) -> dict[str, float]:
    shards, tokenizer, cache = prepare(work) if not (work / "cache").exists() else (
        work / "shards", work / "tokenizer.json", work / "cache")
    out = work / f"run-compile-{compile_}"
    overrides = [f"data.sources=[{{path: {shards}, cache: {cache}}}]",
                 f"data.tokenizer={tokenizer}", f"data.batch_size={batch}",
                 "data.num_workers=2", f"run.out_dir={out}", f"run.max_steps={steps}",
                 "run.grad_accum=1", f"run.compile={str(compile_).lower()}",
                 "run.log_every=5", f"run.eval_every={steps}", "run.eval_tokens=262144",
                 f"run.checkpoint_every={steps}", "schedule.warmup_steps=10"]
    started = time.monotonic()
    train(load_config(ROOT / "training/configs/gpt2_124m.yaml", overrides), quiet=True)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steady = [r for r in records if "tokens_per_s" in r][2:]  # after compile and warm-up
    return {"tokens_per_s": statistics.median(r["tokens_per_s"] for r in steady),
            "tflops": statistics.median(r["tflops"] for r in steady),
            "mfu": statistics.median(r["mfu"] or 0.0 for r in steady),
            "loss": records[-1].get("loss", float("nan")), "seconds": time.monotonic() - started,
            "val_loss": records[-1].get("val_loss", float("nan"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    rows = {}
    for compile_ in (True, False):
        rows[compile_] = measure(args.work, compile_, args.steps, args.batch)
        print(f"compile={compile_}: {json.dumps(rows[compile_])}", flush=True)
    print(f"\n{'variant':<22}{'tokens/s':>12}{'TFLOP/s':>10}{'MFU':>8}{'loss':>8}{'wall s':>8}")
    for compile_, row in rows.items():
        print(f"{'bf16 + compile' if compile_ else 'bf16, eager':<22}"
              f"{row['tokens_per_s']:>12,.0f}{row['tflops']:>10.1f}{row['mfu']:>8.1%}"
              f"{row['loss']:>8.3f}{row['seconds']:>8.0f}")
    print(f"compile speed-up: {rows[True]['tokens_per_s'] / rows[False]['tokens_per_s']:.2f}x")


if __name__ == "__main__":
    main()
