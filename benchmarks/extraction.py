#!/usr/bin/env python3
"""HTML extraction quality and speed: the `extract` step's engines against trafilatura with
FineWeb's settings, in one run, on one core.

Part 1, pages: `html_extraction_trafilatura` (200 multilingual pages from trafilatura's
evaluation set; each has snippets that must appear in the extracted text and snippets that
must not). Scores:
- shingle P/R/F1, ScrapingHub style: text is cut into `\\w+` tokens and compared as 4-token
  shingles (shorter snippets as one shingle of all their tokens). Per page, recall is the
  share of must-appear shingles found in the output, precision is found must-appear
  shingles over found must-appear plus found must-not-appear shingles; both are averaged
  over pages and F1 is the harmonic mean of the two averages.
- segment P/R/F (trafilatura's own metric): a snippet counts when it appears whole in the
  whitespace-normalised output; counts are pooled over all pages.
The pages are split by a fixed rule into a development half (the first byte of the SHA-256
of the page's file name is even: 101 pages) and a held-out half (odd: 99 pages). Options of
the engines are tuned on the development half only; the held-out F1 is the headline.
Speed is pages per CPU-second of this process (`time.process_time`, pinned to one core),
engines built before the clock starts. The sandboxed rows are the step as it runs in a
pipeline (a child process with a time limit): their CPU time is the child's plus ours.

Part 2, WARC: the shared WARC files read with gristmill's reader and extracted with each
engine (`--warc-repeat` passes), pages/s against the reader + trafilatura (FineWeb). With
`--datatrove-python` (an interpreter whose environment has datatrove 0.10, warcio,
faust-cchardet and python-magic), datatrove's own WarcReader + Trafilatura (FineWeb's
settings, its sandbox with a 1 s timeout) runs on the same files in a child process pinned
to the same core, against the `extract` step (sandboxed) after gristmill's reader.

Part 3, memory (`--memory-pages N`, 0 skips it): the 200 pages again and again, N in all,
through trafilatura in this process (FineWeb's call, caches never reset) and through the
sandboxed `extract` engines; resident memory (VmRSS) of the process that extracts, at ten
points along the way.

Usage (from the repository root):
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/extraction.py [--limit N] [--json out.json]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import resource
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from curation.core.config import InputConfig
from curation.core.document import Document
from curation.extract.engines import make_engine
from curation.extract.sandbox import ExtractionFailed, Sandbox
from curation.io.readers import discover, read_file

SHARED = Path(os.environ.get("GRISTMILL_SHARED_DATA", Path(__file__).resolve().parents[2]
                             / "shared" / "data"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
PAGES = SHARED / "html_extraction_trafilatura"
WARCS = [SHARED / "web_dolma_tests" / "sample-0000.warc.gz",
         SHARED / "web_dolma_tests" / "sample-0001.warc.gz",
         SHARED / "web_cc_whirlwind" / "whirlwind.warc.gz"]
TOKEN = re.compile(r"\w+")
FINEWEB = {"favor_precision": True, "include_comments": False, "deduplicate": True}
TRIMMED = {"trim_tail_words": 20}  # chosen on the development half (12-30 tried)
NO_SKIP = {"skip_elements": []}  # the default before the boilerplate selectors


def is_development(entry: dict) -> bool:
    """The fixed split: even first byte of the SHA-256 of the page's file name."""
    return hashlib.sha256(entry["file"].encode()).digest()[0] % 2 == 0


def fineweb_trafilatura() -> Callable[[str], str]:
    """trafilatura as datatrove's FineWeb extractor calls it: the baseline."""
    import trafilatura

    return lambda html: trafilatura.extract(html, **FINEWEB) or ""


def sandboxed(engine: str, options: dict | None = None) -> Callable[[str], str]:
    box = Sandbox(engine, options or {}, timeout=30.0, recycle_pages=10_000)

    def run(html: str) -> str:
        try:
            return box.extract(html)
        except ExtractionFailed:
            return ""
    run("<html><body><p>start</p></body></html>")  # process start-up is not timed
    run.box = box  # type: ignore[attr-defined]
    return run


def shingles(text: str, n: int = 4) -> Counter:
    words = TOKEN.findall(text)
    n = min(n, len(words)) or 1
    return Counter(tuple(words[i:i + n]) for i in range(max(len(words) - n + 1, 0)))


def shingle_scores(output: str, must: list[str], must_not: list[str]) -> tuple[float, float]:
    """(precision, recall) of one page, from the snippets' shingles found in the output."""
    by_size: dict[int, Counter] = {}

    def found(snippet: str) -> tuple[int, int]:
        grams = shingles(snippet)
        size = len(next(iter(grams), ()))
        present = by_size.setdefault(size, shingles(output, size)) if size else Counter()
        hits = sum(1 for g in grams if g in present)
        return hits, len(grams)

    tp = total = fp = 0
    for snippet in must:
        hits, n = found(snippet)
        tp, total = tp + hits, total + n
    for snippet in must_not:
        fp += found(snippet)[0]
    precision = tp / (tp + fp) if tp + fp else (0.0 if total else 1.0)
    recall = tp / total if total else 1.0
    return precision, recall


def segment_counts(output: str, must: list[str], must_not: list[str]) -> tuple[int, ...]:
    text = " ".join(output.split())
    tp = sum(" ".join(s.split()) in text for s in must)
    fp = sum(" ".join(s.split()) in text for s in must_not)
    return tp, len(must) - tp, fp


def load_pages(limit: int | None) -> list[tuple[str, dict]]:
    index = json.loads((PAGES / "evaldata_subset.json").read_text())
    pages = []
    for entry in list(index.values())[:limit]:
        html = gzip.decompress((PAGES / "html" / entry["file"]).read_bytes())
        pages.append((html.decode("utf-8", "replace"), entry))
    return pages


def cpu_seconds(children: bool) -> float:
    own = time.process_time()
    if children:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        own += usage.ru_utime + usage.ru_stime
    return own


def measure_pages(name: str, engine: Callable[[str], str], pages: list, child: bool) -> dict:
    start = cpu_seconds(child)
    outputs = [engine(html) for html, _ in pages]
    if child:  # the child's CPU time is counted once it has exited
        engine.box.close()  # type: ignore[attr-defined]
    seconds = cpu_seconds(child) - start
    result = {"engine": name, "pages_per_s": len(pages) / seconds}
    for part, keep in (("", lambda e: True), ("dev_", is_development),
                       ("held_", lambda e: not is_development(e))):
        chosen = [(out, e) for out, (_, e) in zip(outputs, pages, strict=True) if keep(e)]
        result.update({part + key: value for key, value in scores(chosen).items()})
    return result


def scores(outputs: list[tuple[str, dict]]) -> dict[str, float]:
    """Shingle P/R/F1 averaged over pages, and the pooled segment P/R/F."""
    if not outputs:  # --limit left this half empty
        return dict.fromkeys(("precision", "recall", "f1", "segment_precision",
                              "segment_recall", "segment_f"), float("nan"))
    p_r = [shingle_scores(out, e["with"], e["without"]) for out, e in outputs]
    precision = sum(p for p, _ in p_r) / len(p_r)
    recall = sum(r for _, r in p_r) / len(p_r)
    counts = [segment_counts(out, e["with"], e["without"]) for out, e in outputs]
    tp, fn, fp = (sum(c[i] for c in counts) for i in range(3))
    seg_p, seg_r = tp / (tp + fp), tp / (tp + fn)
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall),
            "segment_precision": seg_p, "segment_recall": seg_r,
            "segment_f": 2 * seg_p * seg_r / (seg_p + seg_r)}


def warc_pages(copies: Path) -> list[str]:
    cfg = InputConfig(paths=[str(copies / "*.warc.gz")])
    return [r.text for f in discover(cfg) for r in read_file(f, cfg) if isinstance(r, Document)]


def measure_warc(name: str, engine: Callable[[str], str], copies: Path, repeat: int) -> dict:
    start = time.process_time()
    pages = 0
    for _ in range(repeat):
        for html in warc_pages(copies):
            engine(html)
            pages += 1
    return {"engine": name, "pages": pages, "pages_per_s": pages / (time.process_time() - start)}


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_memory(pages: list, total: int) -> dict[str, list[float]]:
    """RSS in MiB after each tenth of `total` pages, per engine."""
    runs: dict[str, list[float]] = {}
    plain = fineweb_trafilatura()
    for name in ("trafilatura FineWeb in-process", "extract trafilatura, sandboxed",
                 "extract resiliparse, sandboxed"):
        engine = plain if "FineWeb" in name else sandboxed(name.split()[1].rstrip(","))
        points = []
        for i in range(total):
            engine(pages[i % len(pages)][0])
            if (i + 1) % max(total // 10, 1) == 0:
                box = getattr(engine, "box", None)
                points.append(rss_mib(box._child.pid) if box else rss_mib())
        if hasattr(engine, "box"):
            engine.box.close()
        runs[name] = points
    return runs


DATATROVE = """
import os, resource, sys, time
os.sched_setaffinity(0, {int(sys.argv[3])})
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.extractors import Trafilatura
start = time.process_time()
pages = 0
def counted(docs):
    global pages
    for doc in docs:
        pages += 1
        yield doc
for _ in range(int(sys.argv[2])):
    reader = WarcReader(sys.argv[1], glob_pattern="*.warc.gz")
    for doc in Trafilatura(favour_precision=True, timeout=1.0).run(counted(reader.run())):
        pass
child = resource.getrusage(resource.RUSAGE_CHILDREN)
print(pages, time.process_time() - start + child.ru_utime + child.ru_stime)
"""


def measure_datatrove(python: str, copies: Path, repeat: int) -> dict:
    import subprocess

    core = str(sorted(os.sched_getaffinity(0))[0])
    out = subprocess.run([python, "-c", DATATROVE, str(copies), str(repeat), core],
                         capture_output=True, text=True, check=True).stdout.split()
    pages, seconds = int(out[-2]), float(out[-1])
    return {"engine": "datatrove WarcReader + Trafilatura", "pages": pages,
            "pages_per_s": pages / seconds}


def measure_step(name: str, engine: str, copies: Path, repeat: int) -> dict:
    """gristmill's reader and the `extract` step as a pipeline runs them (sandboxed)."""
    from curation.steps.extract import Extract

    step = Extract({"engine": engine, "timeout_s": 1.0})
    step.process(Document("warm", "<html><body><p>start</p></body></html>"))
    start = cpu_seconds(True)
    pages = kept = 0
    for _ in range(repeat):
        for html in warc_pages(copies):
            kept += step.process(Document("d", html)) is None
            pages += 1
    step._sandbox.close()
    return {"engine": name, "pages": pages, "kept": kept,
            "pages_per_s": pages / (cpu_seconds(True) - start)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, help="only the first N pages")
    parser.add_argument("--warc-repeat", type=int, default=5)
    parser.add_argument("--memory-pages", type=int, default=2000)
    parser.add_argument("--datatrove-python", help="python of a venv with datatrove 0.10")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"load average: {os.getloadavg()[0]:.2f}; one core")
    engines = [("trafilatura FineWeb (baseline)", fineweb_trafilatura(), False),
               ("extract resiliparse", make_engine("resiliparse"), False),
               ("extract trafilatura", make_engine("trafilatura"), False),
               ("extract resiliparse, sandboxed", sandboxed("resiliparse"), True),
               ("extract resiliparse, trim_tail 20", make_engine("resiliparse", TRIMMED),
                False),
               ("resiliparse, no skip_elements", make_engine("resiliparse", NO_SKIP), False),
               ("extract trafilatura, sandboxed", sandboxed("trafilatura"), True)]
    pages = load_pages(args.limit)
    results = [measure_pages(name, engine, pages, child) for name, engine, child in engines]
    base = results[0]["pages_per_s"]
    held = sum(not is_development(entry) for _, entry in pages)
    print(f"\nheld-out {held} pages (headline) | shingle P R F1 | development "
          f"{len(pages) - held} pages F1 | all {len(pages)}: F1, segment F | pages/s | x")
    for r in results:
        print(f"{r['engine']:34s} {r['held_precision']:.3f} {r['held_recall']:.3f} "
              f"{r['held_f1']:.3f} | {r['dev_f1']:.3f} | {r['f1']:.3f} {r['segment_f']:.3f}"
              f" | {r['pages_per_s']:6.1f} | {r['pages_per_s'] / base:5.2f}x")
    with tempfile.TemporaryDirectory() as tmp:
        for warc in WARCS:
            shutil.copy(warc, tmp)
        warc_results = [measure_warc(name, engine, Path(tmp), args.warc_repeat)
                        for name, engine, child in engines[:3]]
        if args.datatrove_python:
            warc_results += [
                measure_datatrove(args.datatrove_python, Path(tmp), args.warc_repeat),
                measure_step("extract step resiliparse", "resiliparse", Path(tmp),
                             args.warc_repeat),
                measure_step("extract step trafilatura", "trafilatura", Path(tmp),
                             args.warc_repeat)]
    base = warc_results[0]["pages_per_s"]
    print(f"\nWARC -> text ({warc_results[0]['pages']} pages: read + extract) | pages/s | x")
    for r in warc_results:
        print(f"{r['engine']:36s} {r['pages_per_s']:7.1f} | {r['pages_per_s'] / base:5.2f}x")
    if args.datatrove_python:
        dt = warc_results[3]["pages_per_s"]
        print("against datatrove: " + ", ".join(
            f"{r['engine']} {r['pages_per_s'] / dt:.2f}x" for r in warc_results[4:]))
    memory = measure_memory(pages, args.memory_pages) if args.memory_pages else {}
    if memory:
        print(f"\nresident MiB of the extracting process, every {args.memory_pages // 10} pages")
        for name, points in memory.items():
            print(f"{name:32s} " + " ".join(f"{p:5.0f}" for p in points))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"pages": results, "warc": warc_results, "memory": memory}, indent=1))


if __name__ == "__main__":
    main()
