#!/usr/bin/env python3
"""The whole web pipeline, gristmill against datatrove 0.10.1: wall time of the command.

Workload (`web_workload.py`, seeded): 3,377 web-like documents in 4 JSONL files (~19 MB of
text) with exact and near copies, junk and planted e-mails and phones; `--scale 10` makes
33,770 documents in 40 files. Both tools run the same rules with 2 workers each:

- gristmill: `gristmill curate` on [gopher_repetition, gopher_quality, c4 (no
  terminal-punctuation rule), fineweb, pii, minhash_dedup] at their defaults, a fresh
  process, Parquet out (its defaults: zstd shards, rejected rows kept, report.html).
- datatrove: one fresh process running five `LocalPipelineExecutor`s (tasks = files,
  workers 2): JsonlReader -> GopherRepetitionFilter -> GopherQualityFilter ->
  C4QualityFilter(filter_no_terminal_punct=False) -> FineWebQualityFilter -> PIIFormatter ->
  JsonlWriter (the filtered documents) -> MinhashDedupSignature (5-grams, 14 x 8); then
  MinhashDedupBuckets (14 tasks), MinhashDedupCluster (1 task), and JsonlReader ->
  MinhashDedupFilter -> ParquetWriter. Filtering and signatures share one pass, the
  cheapest layout for datatrove.

Each round runs both, alternating which goes first; the table gives each side's median wall
time and the ratio of the medians, the kept counts, and how many kept ids the two share.
datatrove lives in its own venv (see heuristics_vs_datatrove.py; pyarrow is added there for
its ParquetWriter):

    .venv/bin/python benchmarks/pipeline_vs_datatrove.py [--rounds 3] [--scale 10]
        [--only gristmill] [--keep-ids FILE]   # save gristmill's kept ids (sorted) to FILE
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("DATATROVE_VENV",
                           Path.home() / ".cache" / "gristmill" / "datatrove-0.10.1"))
GRISTMILL = Path(sys.executable).parent / "gristmill"
ENV = {"HF_HUB_OFFLINE": "1", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
       "OMP_WAIT_POLICY": "PASSIVE", "TOKENIZERS_PARALLELISM": "false"}
PIPELINE = """name: web-vs-datatrove
input:
  paths: [{input}/*.jsonl]
  metadata: [url]
output:
  path: {output}
steps:
  - gopher_repetition: {{}}
  - gopher_quality: {{}}
  - c4:
      require_terminal_punctuation: false
  - fineweb: {{}}
  - pii: {{}}
  - minhash_dedup: {{}}
"""


def run_datatrove(corpus: str, out: str, workers: int) -> None:
    """Runs in datatrove's venv (`--worker`): the five executors, one after the other."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

    work = Path(out) / "_work"
    tasks = len(list(Path(corpus).glob("*.jsonl")))
    config = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8)

    def execute(name: str, pipeline: list, n_tasks: int) -> None:
        LocalPipelineExecutor(pipeline=pipeline, tasks=n_tasks, workers=min(workers, n_tasks),
                              logging_dir=str(work / "logs" / name)).run()

    execute("filter", [
        JsonlReader(corpus, glob_pattern="*.jsonl"),
        GopherRepetitionFilter(), GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False), FineWebQualityFilter(),
        PIIFormatter(),
        JsonlWriter(str(work / "filtered")),
        MinhashDedupSignature(output_folder=str(work / "signatures"), config=config),
    ], tasks)
    execute("buckets", [MinhashDedupBuckets(input_folder=str(work / "signatures"),
                                            output_folder=str(work / "buckets"),
                                            config=config)], config.num_buckets)
    execute("cluster", [MinhashDedupCluster(input_folder=str(work / "buckets"),
                                            output_folder=str(work / "remove"),
                                            config=config)], 1)
    execute("dedup", [JsonlReader(str(work / "filtered")),
                      MinhashDedupFilter(input_folder=str(work / "remove")),
                      ParquetWriter(out)], tasks)


def kept_ids(output: Path, side: str) -> list[str]:
    import pyarrow.parquet as pq

    files = output.glob("*.parquet") if side == "gristmill" else output.rglob("*.parquet")
    ids = []
    for path in sorted(files):
        if "_work" not in path.parts:
            ids += pq.read_table(path, columns=["id"]).column("id").to_pylist()
    return sorted(ids)


def timed(side: str, corpus: Path, out: Path, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, **ENV}
    if side == "gristmill":
        config = out.parent / "gristmill.yaml"
        config.write_text(PIPELINE.format(input=corpus, output=out))
        cmd = [str(GRISTMILL), "curate", str(config), "--workers", str(workers), "--quiet"]
    else:
        cmd = [str(VENV / "bin" / "python"), str(Path(__file__).resolve()), "--worker",
               str(corpus), str(out), "--workers", str(workers)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 2):  # 2: gristmill's whole-run warning, not a failure
        raise SystemExit(f"{side} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", nargs=2, metavar=("CORPUS", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1, help="x 3,377 documents, x 4 files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["gristmill", "datatrove"])
    parser.add_argument("--keep-ids", type=Path, help="write gristmill's kept ids here")
    parser.add_argument("--workdir", type=Path, help="keep the corpus and outputs here")
    args = parser.parse_args()
    if args.worker:
        run_datatrove(*args.worker, args.workers)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from web_workload import SMALL_DOCS, SMALL_FILES, write_corpus

    root = args.workdir or Path(tempfile.mkdtemp(prefix="pipeline_vs_dt_"))
    corpus = root / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    docs, text_bytes = write_corpus(corpus, SMALL_DOCS * args.scale, SMALL_FILES * args.scale,
                                    args.seed)
    print(f"workload: {docs:,} documents, {text_bytes / 1e6:.1f} MB of text, "
          f"{SMALL_FILES * args.scale} files; {args.workers} workers; load {load()}", flush=True)
    sides = [args.only] if args.only else ["gristmill", "datatrove"]
    times: dict[str, list[float]] = {side: [] for side in sides}
    for round_ in range(args.rounds):
        for side in (sides if round_ % 2 == 0 else sides[::-1]):
            seconds = timed(side, corpus, root / side, args.workers)
            times[side].append(seconds)
            print(f"  round {round_ + 1}: {side:9s} {seconds:7.1f} s  (load {load()})",
                  flush=True)
    ids = {side: kept_ids(root / side, side) for side in sides}
    for side in sides:
        print(f"{side:9s} median {statistics.median(times[side]):7.1f} s  "
              f"(runs {', '.join(f'{t:.1f}' for t in times[side])}), "
              f"{len(ids[side]):,} kept")
    if len(sides) == 2:
        common = len(set(ids["gristmill"]) & set(ids["datatrove"]))
        ratio = statistics.median(times["datatrove"]) / statistics.median(times["gristmill"])
        print(f"kept by both: {common:,}; gristmill is {ratio:.1f}x faster "
              f"(datatrove median / gristmill median; goal 10x); load {load()}")
    if args.keep_ids and "gristmill" in ids:
        args.keep_ids.write_text("\n".join(ids["gristmill"]) + "\n")
    if not args.workdir:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
