#!/usr/bin/env python3
"""The whole web pipeline, gristmill against datatrove 0.10.1: wall time of the command.

Workload (`web_workload.py`, seeded): 3,377 web-like documents in 4 JSONL files (~19 MB of
text) with exact and near copies, junk and planted e-mails and phones; `--scale 10` makes
33,770 documents in 40 files. Both tools run the same rules with 2 workers each:

- gristmill: `gristmill curate` on [gopher_repetition, gopher_quality, c4 (no
  terminal-punctuation rule), fineweb, pii, minhash_dedup] at their defaults, a fresh
  process, Parquet out (its defaults: zstd shards, rejected rows kept, report.html).
- datatrove: one fresh process running four `LocalPipelineExecutor`s (tasks = files,
  workers 2): JsonlReader -> GopherRepetitionFilter -> GopherQualityFilter ->
  C4QualityFilter(filter_no_terminal_punct=False) -> FineWebQualityFilter -> PIIFormatter ->
  JsonlWriter (the filtered documents) -> MinhashDedupSignature (5-grams, 14 x 8); then
  MinhashDedupBuckets (14 tasks), MinhashDedupCluster (1 task), and JsonlReader ->
  MinhashDedupFilter -> ParquetWriter. Filtering and signatures share one pass, the
  cheapest layout for datatrove.

Each round runs both, alternating which goes first; it prints each side's median wall time
and CPU time (user + system of the whole process tree: steadier on a shared machine), the
ratios of the medians, the kept counts, and how many kept ids the two share.
datatrove lives in its own venv (heuristics_vs_datatrove.py makes it); this benchmark also
needs, in that venv, what its reader, writer and dedup import:

    ~/.cache/gristmill/datatrove-0.10.1/bin/pip install pyarrow orjson tokenizers "xxhash<4"

    .venv/bin/python benchmarks/pipeline_vs_datatrove.py [--rounds 3] [--scale 10]
        [--only gristmill] [--keep-ids FILE]   # save gristmill's kept ids (sorted) to FILE
        [--memory]   # then one gristmill run alone, for its peak resident memory
"""

from __future__ import annotations

import argparse
import os
import resource
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
    from multiprocess import forkserver

    # Its workers are the forkserver's children: waiting for it brings their CPU time into
    # this process's children's usage, which the benchmark reads.
    forkserver._forkserver._stop()


def kept_ids(output: Path, side: str) -> list[str]:
    import pyarrow.parquet as pq

    files = output.glob("*.parquet") if side == "gristmill" else output.rglob("*.parquet")
    ids = []
    for path in sorted(files):
        if "_work" not in path.parts:
            ids += pq.read_table(path, columns=["id"]).column("id").to_pylist()
    return sorted(ids)


def check_datatrove() -> None:
    python = VENV / "bin" / "python"
    probe = "import datatrove, pyarrow, orjson, tokenizers, xxhash; assert xxhash.VERSION < '4'"
    if not python.exists() or subprocess.run([str(python), "-c", probe],
                                             capture_output=True).returncode != 0:
        raise SystemExit(f"datatrove's venv {VENV} is missing or incomplete; see the docstring "
                         "of benchmarks/heuristics_vs_datatrove.py, then: "
                         f"{VENV}/bin/pip install pyarrow orjson tokenizers 'xxhash<4'")


def command(side: str, corpus: Path, out: Path, workers: int) -> list[str]:
    shutil.rmtree(out, ignore_errors=True)
    if side == "gristmill":
        config = out.parent / "gristmill.yaml"
        config.write_text(PIPELINE.format(input=corpus, output=out))
        return [str(GRISTMILL), "curate", str(config), "--workers", str(workers), "--quiet"]
    return [str(VENV / "bin" / "python"), str(Path(__file__).resolve()), "--worker",
            str(corpus), str(out), "--workers", str(workers)]


def timed(side: str, corpus: Path, out: Path, workers: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the whole process tree)."""
    cmd, env = command(side, corpus, out, workers), {**os.environ, **ENV}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):  # 2: gristmill's whole-run warning, not a failure
        raise SystemExit(f"{side} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def peak_rss(cmd: list[str]) -> float:
    """MiB: the peak resident memory of the largest process of the command's tree (measured
    in a fresh process, since a process's children's peak covers every child it ever had)."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True,
                          env={**os.environ, **ENV}, check=True)
    return int(done.stdout) / 1024


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
    parser.add_argument("--memory", action="store_true",
                        help="one more gristmill run, alone, for its peak resident memory")
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
    if "datatrove" in sides:
        check_datatrove()
    times: dict[str, list[float]] = {side: [] for side in sides}
    cpus: dict[str, list[float]] = {side: [] for side in sides}
    for round_ in range(args.rounds):
        for side in (sides if round_ % 2 == 0 else sides[::-1]):
            seconds, cpu = timed(side, corpus, root / side, args.workers)
            times[side].append(seconds)
            cpus[side].append(cpu)
            print(f"  round {round_ + 1}: {side:9s} {seconds:7.1f} s wall {cpu:7.1f} s CPU  "
                  f"(load {load()})", flush=True)
    ids = {side: kept_ids(root / side, side) for side in sides}
    wall = {side: statistics.median(times[side]) for side in sides}
    cpu = {side: statistics.median(cpus[side]) for side in sides}
    for side in sides:
        print(f"{side:9s} median {wall[side]:7.1f} s wall (runs "
              f"{', '.join(f'{t:.1f}' for t in times[side])}), {cpu[side]:.1f} s CPU, "
              f"{len(ids[side]):,} kept")
    if len(sides) == 2:
        common = len(set(ids["gristmill"]) & set(ids["datatrove"]))
        print(f"kept by both: {common:,}; gristmill is {wall['datatrove'] / wall['gristmill']:.1f}x"
              f" faster in wall time, {cpu['datatrove'] / cpu['gristmill']:.1f}x in CPU time "
              f"(medians; goal 10x wall); load {load()}")
    if args.memory and "gristmill" in sides:
        rss = peak_rss(command("gristmill", corpus, root / "gristmill", args.workers))
        print(f"gristmill: peak resident memory of its largest process {rss:.0f} MiB")
    if args.keep_ids and "gristmill" in ids:
        args.keep_ids.write_text("\n".join(ids["gristmill"]) + "\n")
    if not args.workdir:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
