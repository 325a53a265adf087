#!/usr/bin/env python3
"""Read+write throughput of the local executor against a plain gzip+json -> Parquet loop.

Writes a seeded synthetic JSONL.gz corpus (English-like text from a fixed Zipf-weighted
vocabulary, ~1% exact duplicates) and times `run_pipeline` in-process (finalize included) with
no steps and with length + exact_dedup + split, on 1 and N workers, next to a single-process
gzip+json -> `pq.write_table` (zstd 3) baseline. MB = 10^6 bytes of input text (UTF-8);
CPU s = user+sys of this process and its reaped workers. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curation.core.config import validate
from curation.core.pipeline import Pipeline
from curation.run.orchestrate import RunOptions, run_pipeline

WORDS = """
the of and to a in that is was he for it with as his on be at by i this had not are but from or
have an they which one you were her all she there would their we him been has when who will more
no if out so said what up its about into than them can only other new some could time these two
may then do first any my now such like our over man me even most made after also did many before
must through back years where much your way well down should because each just those people how
river garden letter morning window city water story music paper village café naïve however
"""
VOCAB = WORDS.split()
STEPS: dict[str, list[Any]] = {
    "read+write": [],
    "length+dedup+split": [{"length": {"min_words": 20, "max_chars": 200000}},
                           {"exact_dedup": {}}, {"split": {"validation_fraction": 0.05}}],
}


def make_corpus(root: Path, files: int, docs: int, words: int, seed: int) -> tuple[int, int]:
    """Write part-NNN.jsonl.gz under root; returns (documents, text bytes)."""
    rng = random.Random(seed)
    cum = list(accumulate(1 / (rank + 1) for rank in range(len(VOCAB))))
    recent: list[str] = []
    total_bytes = 0
    root.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        with open(root / f"part-{f:03d}.jsonl.gz", "wb") as raw, \
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as out:
            for i in range(docs):
                if recent and rng.random() < 0.01:
                    text = rng.choice(recent)
                else:
                    picked = rng.choices(VOCAB, cum_weights=cum, k=rng.randint(
                        int(words * 0.8), int(words * 1.2)))
                    text = " ".join(" ".join(picked[s:s + 12]).capitalize() + "."
                                    for s in range(0, len(picked), 12))
                    recent = [*recent[-99:], text]
                total_bytes += len(text.encode())
                record = {"id": f"{f}-{i}", "url": f"https://example.com/{f}/{i}", "text": text}
                out.write(json.dumps(record).encode() + b"\n")
    return files * docs, total_bytes


def cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def timed(run: Callable[[], int], out: Path, docs: int) -> tuple[float, float]:
    """(wall s, CPU s) of one run writing under `out`; checks every document was accounted."""
    shutil.rmtree(out, ignore_errors=True)
    wall, cpu = time.perf_counter(), cpu_seconds()
    rows = run()
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    assert rows == docs, (rows, docs)
    shutil.rmtree(out)
    return wall, cpu


def executor(corpus: Path, out: Path, steps: list[Any], workers: int) -> Callable[[], int]:
    raw = {"name": "bench", "input": {"paths": [str(corpus / "*.jsonl.gz")], "metadata": ["url"]},
           "output": {"path": str(out)}, "steps": steps}
    pipeline = Pipeline(validate(raw, "benchmark"))
    options = RunOptions(workers=workers, quiet=True)
    return lambda: run_pipeline(pipeline, options).manifest["counts"]["input"]


def baseline(corpus: Path, out: Path) -> int:
    """Single process: gzip + json.loads per line, one zstd Parquet file per input file."""
    out.mkdir(parents=True)
    rows = 0
    for path in sorted(corpus.glob("*.jsonl.gz")):
        with gzip.open(path, "rb") as handle:
            records = [json.loads(line) for line in handle]
        rows += len(records)
        table = pa.table({name: [r[name] for r in records] for name in ("id", "text", "url")})
        pq.write_table(table, out / f"{path.name.split('.')[0]}.parquet",
                       compression="zstd", compression_level=3)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8, help="input files (units of work)")
    parser.add_argument("--docs-per-file", type=int, default=5000, help="documents per file")
    parser.add_argument("--words", type=int, default=900, help="mean words per document")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="N")
    parser.add_argument("--rounds", type=int, default=2,
                        help="each round runs every case once; a case keeps its fastest run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="default: a temporary directory")
    parser.add_argument("--json", type=Path, help="also save the numbers here")
    args = parser.parse_args()
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="gristmill-bench-"))
    corpus, out, warm = work / "corpus", work / "out", work / "warm"
    cases: list[tuple[str, int, Callable[[], int]]] = [
        ("baseline gzip+json->parquet", 1, lambda: baseline(corpus, out))]
    cases += [(f"executor {name}", n, executor(corpus, out, steps, n))
              for name, steps in STEPS.items() for n in dict.fromkeys([1, args.workers])]
    try:
        start = time.perf_counter()
        docs, nbytes = make_corpus(corpus, args.files, args.docs_per_file, args.words, args.seed)
        print(f"corpus: {args.files} files, {docs:,} docs, {nbytes / 1e6:,.1f} MB text, "
              f"{sum(p.stat().st_size for p in corpus.iterdir()) / 1e6:,.1f} MB gzipped, made in "
              f"{time.perf_counter() - start:.0f}s; commit {commit}; load {os.getloadavg()[0]:.1f}")
        if os.getloadavg()[0] > (os.cpu_count() or 1):
            print("warning: other processes are busy; wall times and speedups are noisy, "
                  "CPU s is the steadier figure")
        make_corpus(warm, 1, 20, args.words, args.seed)  # imports and first calls: untimed
        timed(lambda: baseline(warm, out), out, 20)
        timed(executor(warm, out, STEPS["length+dedup+split"], 1), out, 20)
        best: dict[int, tuple[float, float]] = {}
        for round_ in range(1, args.rounds + 1):  # rounds, so load from others hits every case
            for i, (case, workers, run) in enumerate(cases):
                wall, cpu = timed(run, out, docs)
                best[i] = min(best.get(i, (wall, cpu)), (wall, cpu))
                print(f"  round {round_}: {case} x{workers}: {wall:.2f}s (cpu {cpu:.2f}s)",
                      flush=True)
        rows = [{"case": case, "workers": workers, "seconds": best[i][0], "cpu_seconds": best[i][1]}
                for i, (case, workers, _) in enumerate(cases)]
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    one = {r["case"]: r["seconds"] for r in rows if r["workers"] == 1}
    for r in rows:
        r.update(docs_per_s=docs / r["seconds"], mb_per_s=nbytes / 1e6 / r["seconds"],
                 speedup_vs_1_worker=one[r["case"]] / r["seconds"],
                 vs_baseline=rows[0]["seconds"] / r["seconds"])
    print(f"\n{'case':<30}{'workers':>8}{'wall s':>8}{'CPU s':>7}{'docs/s':>8}{'MB/s':>7}"
          f"{'vs 1w':>7}{'vs base':>8}   (load {os.getloadavg()[0]:.1f})")
    for r in rows:
        print(f"{r['case']:<30}{r['workers']:>8}{r['seconds']:>8.2f}{r['cpu_seconds']:>7.2f}"
              f"{r['docs_per_s']:>8,.0f}{r['mb_per_s']:>7.1f}{r['speedup_vs_1_worker']:>6.2f}x"
              f"{r['vs_baseline']:>7.2f}x")
    if args.json:
        meta = {"date": time.strftime("%Y-%m-%d"), "commit": commit, "cpus": os.cpu_count(),
                "machine": platform.platform(), "docs": docs, "text_bytes": nbytes}
        args.json.write_text(json.dumps({**meta, "args": vars(args), "results": rows},
                                        indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
