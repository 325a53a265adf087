#!/usr/bin/env python3
"""What `executor: ray` costs over the local executor on one machine, same corpus, same run.

Writes a seeded synthetic corpus (`executor_throughput.make_corpus`: English-like Zipf text,
~1% exact copies; by default 16 files x 6,250 = 100,000 documents of ~200 words), starts a
Ray cluster of `--cpus` CPUs in this process (timed, reported apart: a cluster is started
once and serves many runs), then times, in interleaved rounds, the real command in a fresh
interpreter each time, as a user would run it:

    gristmill curate p.yaml --workers 2 --quiet                      # local
    gristmill curate p.yaml --executor ray --address ADDR --quiet    # a new Ray job

The pipeline is length + exact_dedup + minhash_dedup + split: every kind of stage (maps,
a one-task reduce, the distributed MinHash clustering, apply, finalize). The two outputs
must be identical. Overhead = ray / local - 1, of the fastest run of each case and, since
the cases alternate and share any load from other jobs, the median over rounds of each
round's pair.

    .venv/bin/python benchmarks/ray_overhead.py [--files 16 --docs-per-file 6250 --rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ray
from executor_throughput import make_corpus

PIPELINE = """\
name: ray-overhead
input:
  paths: [corpus/*.jsonl.gz]
  metadata: [url]
output:
  path: out
steps:
  - length: {min_words: 20}
  - exact_dedup: {}
  - minhash_dedup: {}
  - split: {validation_fraction: 0.05}
"""


def timed_run(work: Path, extra: list[str]) -> tuple[float, dict[str, str]]:
    """Wall seconds of one `gristmill curate` and the sha256 of each output shard."""
    shutil.rmtree(work / "out", ignore_errors=True)
    argv = [sys.executable, "-m", "gristmill.launcher", "curate", "p.yaml", "--quiet", *extra]
    start = time.perf_counter()
    subprocess.run(argv, cwd=work, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    shards = {str(p.relative_to(work / "out")): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in sorted((work / "out").rglob("*.parquet"))}
    return seconds, shards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--docs-per-file", type=int, default=6250)
    parser.add_argument("--words", type=int, default=200, help="mean words per document")
    parser.add_argument("--cpus", type=int, default=2, help="Ray CPUs = local workers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gristmill-ray-bench-"))
    try:
        docs, nbytes = make_corpus(work / "corpus", args.files, args.docs_per_file, args.words,
                                   args.seed)
        (work / "p.yaml").write_text(PIPELINE)
        print(f"corpus: {args.files} files, {docs:,} docs, {nbytes / 1e6:.1f} MB text; "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        start = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False,
                 _temp_dir=str(work / "ray"))
        address = ray.get_runtime_context().gcs_address
        print(f"ray cluster ({args.cpus} CPUs) started in {time.perf_counter() - start:.1f}s "
              "(once per cluster, not counted below)", flush=True)
        cases = {"local": ["--workers", str(args.cpus)],
                 "ray": ["--executor", "ray", "--address", address]}
        wall: dict[str, list[float]] = {name: [] for name in cases}
        outputs: dict[str, dict[str, str]] = {}
        for round_ in range(1, args.rounds + 1):
            for name, extra in cases.items():
                seconds, outputs[name] = timed_run(work, extra)
                wall[name].append(seconds)
                print(f"  round {round_}: {name}: {seconds:.1f}s (load "
                      f"{os.getloadavg()[0]:.1f})", flush=True)
        assert outputs["ray"] == outputs["local"], "ray and local outputs differ"
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    labels = {"local": f"local, {args.cpus} workers", "ray": f"ray, {args.cpus} CPUs"}
    for name, label in labels.items():
        print(f"{label:<18} best {min(wall[name]):5.1f}s ({docs / min(wall[name]):,.0f} docs/s)")
    rounds = [r / local - 1 for r, local in zip(wall["ray"], wall["local"], strict=True)]
    print(f"ray overhead: {min(wall['ray']) / min(wall['local']) - 1:+.1%} best against best, "
          f"{statistics.median(rounds):+.1%} median of the rounds (goal < 25%); outputs "
          f"identical; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
