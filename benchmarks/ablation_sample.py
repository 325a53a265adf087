"""The worked example of docs/ablations.md: does curating the bundled sample with
pipelines/web.yaml make a better model than training on it raw?

Builds, under --work: raw/ (the sample as read, split only), curated/ (pipelines/web.yaml,
as `make demo` runs it), heldout/ (passages of the same Gutenberg books from beyond the part
the sample took: clean text no variant trains on), then runs `gristmill ablate` on a
2-layer, 128-wide model with a 2,048-token BPE, 327,680 tokens a run, seeds 1 and 2.

    .venv/bin/python benchmarks/ablation_sample.py --work /tmp/ablation-sample
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

REPO = Path(__file__).resolve().parent.parent
BOOKS = REPO.parent / "shared" / "data" / "clean_gutenberg_en"
GRISTMILL = [sys.executable, "-m", "gristmill.launcher"]


def heldout(out: Path, start: int = 45_000, words: int = 1_500) -> None:
    """From each book long enough, `words` words from word `start` on (the sample holds
    about the first 36,000 words of each and its last passage), in documents of ~300 words."""
    docs = []
    for book in sorted(BOOKS.glob("*.txt")):
        text = book.read_text(encoding="utf-8-sig").replace("\r\n", "\n").split()
        if len(text) > start + words + 5_000:
            part = text[start:start + words]
            docs += [" ".join(part[i:i + 300]) for i in range(0, words, 300)]
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": [f"h{i}" for i in range(len(docs))], "text": docs}),
                   out / "part-00000.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--tokens", type=int, default=327_680)
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    sample = str(REPO / "data" / "sample" / "*.jsonl.gz")
    (work / "raw.yaml").write_text(yaml.safe_dump({
        "name": "raw", "input": {"paths": [sample]}, "output": {"path": str(work / "raw")},
        "steps": [{"split": {"validation_fraction": 0.05}}]}))
    if not (work / "raw" / "_manifest.json").exists():
        subprocess.run([*GRISTMILL, "curate", str(work / "raw.yaml"), "--quiet"], check=True)
    if not (work / "curated" / "_manifest.json").exists():
        subprocess.run([*GRISTMILL, "curate", str(REPO / "pipelines" / "web.yaml"),
                        "--input", sample, "--output", str(work / "curated"),
                        "steps.cleanup.unwrap_lines=true",
                        "steps.split.validation_fraction=0.05", "--quiet"], check=True)
    heldout(work / "heldout")
    (work / "ablation.yaml").write_text(yaml.safe_dump({
        "variants": {"raw": str(work / "raw"), "curated": str(work / "curated")},
        "seeds": [1, 2], "tokenizer": {"vocab_size": 2048},
        "train": {"config": str(REPO / "training" / "configs" / "tiny.yaml"),
                  "overrides": {"model.n_layer": 2, "data.block_size": 64,
                                "data.batch_size": 8, "schedule.warmup_steps": 20,
                                "run.dtype": "float32"},
                  "tokens": args.tokens, "evals": 8},
        "eval": {"sets": {"heldout_books": str(work / "heldout")}}}))
    subprocess.run([*GRISTMILL, "ablate", str(work / "ablation.yaml"), "--out",
                    str(work / "out")], check=True)


if __name__ == "__main__":
    main()
