#!/usr/bin/env python3
"""Documents/s of `gristmill stats` against a plain pyarrow scan of the same shards.

Writes a seeded synthetic shard directory (zstd Parquet like gristmill's: id, text, source,
url, lang, quality_score, pii_count; English-like text from a fixed Zipf-weighted vocabulary
with some non-ASCII words and typographic quotes, ~300 words a document, a newline every 12
words), then, in every round, runs each case in a fresh subprocess and keeps its fastest run
(so load from other processes falls on every case):

- **scan**: one process, `pq.ParquetFile(f).iter_batches(columns=["text"])` over every file,
  counting rows (pyarrow's default threads): the cost of reading the text at all.
- **stats, W workers**: `curation.stats.collect.collect(DIR, workers=W)`, everything the
  `stats` command computes (lengths, histograms, languages, sources, domains, score columns,
  PII, samples), without writing the report.

Columns: wall seconds and CPU seconds (user + sys of the process and its workers), both
measured inside the subprocess after its imports; documents/s and MB/s of text (UTF-8,
10^6 bytes) from wall time; peak RSS (the larger of the process's and any one worker's);
`vs scan` = scan time / case time (>= 1.00x: at least as fast as reading the shards);
`CPU/scan` = the case's CPU seconds / the scan's (what the work costs, whatever the load).
See docs/stats.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

VOCABULARY = """
the of and to a in that is was he for it with as his on be at by i this had not are but from or
have an they which one you were her all she there would their we him been has when who will more
no if out so said what up its about into than them can only other new some could time these two
may then do first any my now such like our over man me even most made after also did many before
must through back years where much your way well down should because each just those people how
river garden letter morning window city water story music paper village caf\u00e9 na\u00efve
\u201cyes,\u201d said \u2018no\u2019 \u2014 however, d\u00e9j\u00e0 vu Z\u00fcrich
fa\u00e7ade r\u00e9sum\u00e9 \u00d8rsted
"""
WORDS = VOCABULARY.split()

CASE = r"""
import glob, json, resource, sys, time
import pyarrow.parquet as pq
from curation.stats.collect import collect
kind, path, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
usage = lambda who: resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
start, cpu = time.perf_counter(), usage(resource.RUSAGE_SELF)
if kind == "scan":
    docs = 0
    for name in sorted(glob.glob(path + "/*.parquet")):
        for batch in pq.ParquetFile(name).iter_batches(columns=["text"]):
            docs += batch.num_rows
else:
    docs = collect(path, workers=workers)["documents"]
wall = time.perf_counter() - start
cpu = usage(resource.RUSAGE_SELF) - cpu + usage(resource.RUSAGE_CHILDREN)
peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"docs": docs, "wall": wall, "cpu": cpu, "rss_mb": max(peak, workers_peak)}))
"""


def make_corpus(folder: Path, files: int, docs_per_file: int, words: int, row_group: int,
                seed: int = 0) -> int:
    """Write the shards; return the total text size in bytes."""
    rng = np.random.default_rng(seed)
    vocab = np.array(WORDS, dtype=object)
    weights = 1 / np.arange(1, len(vocab) + 1) ** 1.1
    weights /= weights.sum()
    total = 0
    for f in range(files):
        lengths = np.clip(rng.lognormal(np.log(words), 0.6, docs_per_file), 5, 20 * words)
        lengths = lengths.astype(int)
        drawn = vocab[rng.choice(len(vocab), size=int(lengths.sum()), p=weights)]
        texts, at = [], 0
        for n in lengths:
            doc = drawn[at:at + n]
            at += n
            texts.append("\n".join(" ".join(doc[i:i + 12]) for i in range(0, n, 12)))
        ids = [f"part-{f}.jsonl.gz:{i + 1}" for i in range(docs_per_file)]
        table = pa.table({
            "id": ids, "text": texts,
            "source": [f"source-{i % 7}" for i in range(docs_per_file)],
            "url": [f"https://www.site{i % 50}.example/page/{i}" for i in range(docs_per_file)],
            "lang": rng.choice(["en", "en", "en", "fr", "de"], docs_per_file),
            "quality_score": rng.random(docs_per_file).astype(np.float32),
            "pii_count": rng.poisson(0.2, docs_per_file).astype(np.int32)})
        total += sum(len(t.encode()) for t in texts)
        pq.write_table(table, folder / f"part-{f:05d}.parquet", compression="zstd",
                       compression_level=3, row_group_size=row_group)
    return total


def run_case(kind: str, folder: Path, workers: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run([sys.executable, "-c", CASE, kind, str(folder), str(workers)],
                         check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--docs-per-file", type=int, default=40_000)
    parser.add_argument("--words", type=int, default=300, help="median words per document")
    parser.add_argument("--row-group", type=int, default=12_500, help="rows per row group")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", help="keep the shards here (default: a temporary dir)")
    parser.add_argument("--json", help="save the numbers here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.workdir or tmp) / "shards"
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        text_bytes = make_corpus(folder, args.files, args.docs_per_file, args.words,
                                 args.row_group)
        on_disk = sum(p.stat().st_size for p in folder.glob("*.parquet"))
        docs = args.files * args.docs_per_file
        print(f"corpus: {docs:,} documents, {text_bytes / 1e6:,.1f} MB of text, "
              f"{on_disk / 1e6:,.1f} MB on disk, {args.files} files, row groups of "
              f"{args.row_group:,} rows (written in {time.perf_counter() - start:.0f} s)")
        cases = [("scan", "scan", 1), ("stats", "stats, 1 worker", 1)]
        if args.workers > 1:
            cases.append(("stats", f"stats, {args.workers} workers", args.workers))
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for kind, label, workers in cases:
                result = run_case(kind, folder, workers)
                assert result["docs"] == docs, result
                if label not in best or result["wall"] < best[label]["wall"]:
                    best[label] = result
        load = os.getloadavg()[0]
        scan = best["scan"]["wall"]
        scan_cpu = best["scan"]["cpu"]
        lines = [f"{'case':22s} {'wall s':>7s} {'CPU s':>7s} {'docs/s':>9s} {'MB/s':>7s} "
                 f"{'peak RSS':>9s} {'vs scan':>8s} {'CPU/scan':>9s}   (load {load:.1f})"]
        for _, label, _ in cases:
            r = best[label]
            lines.append(f"{label:22s} {r['wall']:7.2f} {r['cpu']:7.2f} "
                         f"{docs / r['wall']:9,.0f} {text_bytes / 1e6 / r['wall']:7.1f} "
                         f"{r['rss_mb']:6.0f} MB {scan / r['wall']:7.2f}x "
                         f"{r['cpu'] / scan_cpu:8.2f}x")
        print("\n".join(lines))
        if args.json:
            commit = subprocess.run(["git", "describe", "--always", "--dirty"],
                                    capture_output=True, text=True).stdout.strip()
            Path(args.json).write_text(json.dumps({
                "commit": commit, "machine": platform.platform(), "cpus": os.cpu_count(),
                "python": platform.python_version(), "pyarrow": pa.__version__,
                "documents": docs, "text_bytes": text_bytes, "rounds": args.rounds,
                "load": load, "results": best}, indent=1))


if __name__ == "__main__":
    main()
