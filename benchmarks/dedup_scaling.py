#!/usr/bin/env python3
"""How `minhash_dedup` scales: time and peak memory per stage for 10k, 100k and 1M documents.

Each size is a generated corpus of short documents (40-80 words drawn uniformly from a
20,000-word pseudo-vocabulary; short so that the 1M run fits in minutes on 2 cores), in
JSONL files of at most 62,500 documents. 10% of the documents are copies of an earlier
one with one or two words substituted, 2% exact copies. The pipeline is just
`minhash_dedup: {}` (defaults), run by the real command in a subprocess with 2 workers:

    python -m gristmill.launcher curate pipeline.yaml --workers 2 --quiet

A monitor thread polls the run's `_work/` directory every 50 ms to see which stage it is in
(map: signatures; reduce: banding + clustering in the driver; apply: decisions + writing;
finalize: publishing shards and the manifest) and samples the RSS of the whole process tree
(the driver and its workers, summed, from /proc) and of the driver alone. Peak RSS of the
largest single process also comes from getrusage(RUSAGE_CHILDREN).ru_maxrss, which cannot
miss a short peak. The reduce's own time is the one the executor records in the manifest.

    .venv/bin/python benchmarks/dedup_scaling.py [--sizes 10000 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PER_FILE = 62_500
PIPELINE = """\
name: dedup-scaling
input:
  paths: [corpus]
output:
  path: out
steps:
  - minhash_dedup: {}
"""
STAGES = ["map", "reduce", "apply", "finalize"]


def vocabulary(size: int, rng: random.Random) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiouy"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(syllables, k=rng.randint(1, 4))))
    return sorted(words)


def generate(directory: Path, docs: int, seed: int = 1) -> dict[str, int]:
    """JSONL files of short random documents with planted near and exact copies."""
    rng = random.Random(seed)
    vocab = vocabulary(20_000, rng)
    directory.mkdir(parents=True)
    kept: list[list[str]] = []
    planted = {"near": 0, "exact": 0}
    lines: list[str] = []
    for i in range(docs):
        r = rng.random()
        if kept and r < 0.02:
            words = rng.choice(kept)
            planted["exact"] += 1
        elif kept and r < 0.12:
            words = list(rng.choice(kept))
            for _ in range(rng.randint(1, 2)):
                words[rng.randrange(len(words))] = rng.choice(vocab)
            planted["near"] += 1
        else:
            words = rng.choices(vocab, k=rng.randint(40, 80))
            if len(kept) < 200_000:
                kept.append(words)
            else:
                kept[rng.randrange(len(kept))] = words
        lines.append('{"text": "' + " ".join(words) + '"}\n')
        if len(lines) == PER_FILE or i == docs - 1:
            (directory / f"part-{i // PER_FILE:04d}.jsonl").write_text("".join(lines))
            lines = []
    return planted


def tree_rss(root: int) -> tuple[int, int]:
    """(RSS of `root` and all its descendants, RSS of `root`), in bytes, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * page
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total, rss.get(root, 0)


@dataclass
class Monitor:
    """Stage boundaries and per-stage peak RSS of a running curate command."""

    proc: subprocess.Popen
    out: Path
    started: float = field(default_factory=time.monotonic)
    ends: dict[str, float] = field(default_factory=dict)
    tree_peak: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    driver_peak: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))

    def stage(self) -> str:
        work = self.out / "_work"
        if (self.out / "_manifest.json").exists() or (work / "finalize.json").exists():
            return "finalize"
        if any(work.glob("reduce-*")):
            return "apply"
        if any(work.glob(".tmp-reduce-*")):
            return "reduce"
        return "map"

    def run(self) -> None:
        current = "map"
        while self.proc.poll() is None:
            now = self.stage()
            if STAGES.index(now) > STAGES.index(current):
                for passed in STAGES[STAGES.index(current):STAGES.index(now)]:
                    self.ends.setdefault(passed, time.monotonic())
                current = now
            tree, driver = tree_rss(self.proc.pid)
            self.tree_peak[current] = max(self.tree_peak[current], tree)
            self.driver_peak[current] = max(self.driver_peak[current], driver)
            time.sleep(0.05)
        self.ends.setdefault("finalize", time.monotonic())
        for stage in STAGES:
            self.ends.setdefault(stage, self.ends["finalize"])

    def seconds(self) -> dict[str, float]:
        out, last = {}, self.started
        for stage in STAGES:
            out[stage] = self.ends[stage] - last
            last = self.ends[stage]
        return out


def run_size(root: Path, docs: int) -> dict:
    start = time.monotonic()
    planted = generate(root / "corpus", docs)
    generated = time.monotonic() - start
    (root / "pipeline.yaml").write_text(PIPELINE)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen([sys.executable, "-m", "gristmill.launcher", "curate",
                             "pipeline.yaml", "--workers", "2", "--quiet"], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    monitor = Monitor(proc, root / "out")
    thread = threading.Thread(target=monitor.run)
    thread.start()
    thread.join()
    stderr = proc.stderr.read().decode()
    assert proc.wait() == 0, stderr
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    manifest = json.loads((root / "out" / "_manifest.json").read_text())
    (step,) = [s for s in manifest["steps"] if s["name"] == "minhash_dedup"]
    return {"docs": docs, "files": len(list((root / "corpus").glob("*.jsonl"))),
            "generate_s": generated, "seconds": monitor.seconds(),
            "reduce_s": step["reduce_seconds"], "tree_peak": monitor.tree_peak,
            "driver_peak": monitor.driver_peak, "maxrss": after.ru_maxrss * 1024,
            "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            "planted": planted, "rejected": step["rejected"].get("near_duplicate", 0),
            "candidate_pairs": step["report"]["candidate_pairs"],
            "clusters": step["report"]["clusters"]}


def mib(value: int) -> str:
    return f"{value / 2**20:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = []
    for docs in args.sizes:
        with tempfile.TemporaryDirectory(prefix="dedup-scaling-") as tmp:
            load = os.getloadavg()[0]
            results.append({**run_size(Path(tmp), docs), "load": load})
            r = results[-1]
            print(f"{docs:,} docs: {sum(r['seconds'].values()):.1f} s, "
                  f"peak tree RSS {mib(max(r['tree_peak'].values()))} MiB", file=sys.stderr)
    print("| docs | files | map s | reduce s | apply s | finalize s | total s | us/doc | "
          "CPU s | load |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        s = r["seconds"]
        total = sum(s.values())
        print(f"| {r['docs']:,} | {r['files']} | {s['map']:.1f} | {r['reduce_s']:.1f} "
              f"({s['reduce']:.1f}) | {s['apply']:.1f} | {s['finalize']:.1f} | {total:.1f} | "
              f"{total / r['docs'] * 1e6:.0f} | {r['cpu_s']:.0f} | {r['load']:.1f} |")
    print("\nPeak RSS in MiB, whole process tree (driver + 2 workers) / driver alone:\n")
    print("| docs | map | reduce | apply | finalize | largest single process (ru_maxrss) |\n"
          "|---:|---:|---:|---:|---:|---:|")
    for r in results:
        cells = [f"{mib(r['tree_peak'][s])} / {mib(r['driver_peak'][s])}" for s in STAGES]
        print(f"| {r['docs']:,} | " + " | ".join(cells) + f" | {mib(r['maxrss'])} |")
    print("\n| docs | planted near / exact copies | rejected | clusters | candidate pairs |\n"
          "|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['docs']:,} | {r['planted']['near']:,} / {r['planted']['exact']:,} | "
              f"{r['rejected']:,} | {r['clusters']:,} | {r['candidate_pairs']:,} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
