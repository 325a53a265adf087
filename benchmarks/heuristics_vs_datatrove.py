#!/usr/bin/env python3
"""Agreement and speed of gristmill's heuristic filters against datatrove 0.10.

Runs datatrove's `GopherRepetitionFilter`, `GopherQualityFilter`, `C4QualityFilter` (default,
and with `filter_no_terminal_punct=False` as in FineWeb's pipeline) and `FineWebQualityFilter`
with their defaults, and gristmill's `gopher_repetition`, `gopher_quality`, `c4` and `fineweb`
steps with theirs, on the same real web documents (`../shared/data/web_*`: every JSONL record
with a "text" field), and prints:

- agreement per filter: the share of documents on which both keep, or both drop (for C4, also
  the share of kept documents whose cleaned text is identical);
- documents per second on one core, for both, in two modes: "all four" runs the four filters
  on every document (each sees the original text; nothing stops early), "chain" runs them in
  FineWeb's order (repetition, quality, C4 without the terminal-punctuation rule, FineWeb on
  C4's cleaned text) and stops at the first drop. Each timed run is a fresh process pinned to
  one CPU, with cold caches, after both sides have loaded their tokenizer; the table gives the
  median of --repeats runs, alternating the two sides.

datatrove lives in its own virtual environment, never in gristmill's: it pins xxhash<4 and
replaces the `fasttext` module. The first run creates it (network access to PyPI needed):

    python3 -m venv ~/.cache/gristmill/datatrove-0.10.1
    ~/.cache/gristmill/datatrove-0.10.1/bin/pip install datatrove==0.10.1 spacy regex

(datatrove tokenizes English words and sentences with a blank spaCy pipeline; `regex` is a
dependency its text utilities import). Then:

    .venv/bin/python benchmarks/heuristics_vs_datatrove.py [--repeats 3] [--cpu N]
        [--also data/sample]      # more JSONL to compare decisions on (not timed)

Parameter names differ where datatrove's are misleading; the mapping used here:
`max_non_alpha_words_ratio` -> `min_alpha_words_ratio`, `max_symbol_word_ratio` ->
`max_hash_ratio` and `max_ellipsis_ratio`, `min_doc_words`/`max_doc_words` ->
`min_words`/`max_words`, `min/max_avg_word_length` -> `min/max_mean_word_length`,
`dup_*_frac` -> `max_dup_*_frac`, `top_n_grams`/`dup_n_grams` -> `max_top_{n}gram_frac` /
`max_dup_{n}gram_frac`, `filter_no_terminal_punct` -> `require_terminal_punctuation`,
`min_num_sentences` -> `min_sentences`, `split_paragraph` -> `split_on`, `line_punct_thr` ->
`min_line_punct_ratio`, `short_line_thr` -> `max_short_line_ratio`, `short_line_length` ->
`short_line_max_chars`, `char_duplicates_ratio` -> `max_dup_line_char_ratio`,
`new_line_ratio` -> `max_newline_word_ratio`. Defaults are the same numbers.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
DATASETS = ("web_dolma_cc2019", "web_datajuicer", "web_dolma_tests")
DATATROVE = "datatrove==0.10.1"
VENV = Path(os.environ.get("DATATROVE_VENV",
                           Path.home() / ".cache" / "gristmill" / "datatrove-0.10.1"))
FILTERS = ("gopher_quality", "gopher_repetition", "c4", "c4_no_terminal_punct", "fineweb")
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                 "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}


# ---------------------------------------------------------------------------------------
# Workers: each runs in its own process (datatrove's in datatrove's venv) and reports JSON.


def _pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def _read(docs_path: str) -> list[tuple[str, str]]:
    with open(docs_path, encoding="utf-8") as f:
        return [(r["id"], r["text"]) for r in map(json.loads, f)]


def worker_datatrove(docs_path: str, mode: str) -> dict:
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.utils.text import split_into_sentences, split_into_words

    docs = _read(docs_path)
    repetition, quality = GopherRepetitionFilter(), GopherQualityFilter()
    c4, c4_web = C4QualityFilter(), C4QualityFilter(filter_no_terminal_punct=False)
    fineweb = FineWebQualityFilter()
    split_into_words("Load the tokenizer. Not timed.")
    split_into_sentences("Load the sentencizer. Not timed.")

    if mode == "all":
        start, cpu = time.perf_counter(), time.process_time()
        for id_, text in docs:
            doc = Document(text=text, id=id_)
            repetition.filter(doc)
            quality.filter(doc)
            fineweb.filter(doc)
            c4.filter(Document(text=text, id=id_))
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                "docs": len(docs)}
    if mode == "chain":
        start, cpu = time.perf_counter(), time.process_time()
        for id_, text in docs:
            doc = Document(text=text, id=id_)
            for step in (repetition, quality, c4_web, fineweb):
                if step.filter(doc) is not True:
                    break
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                "docs": len(docs)}
    decisions: dict[str, list] = {name: [] for name in FILTERS}
    steps = {"gopher_quality": quality, "gopher_repetition": repetition, "c4": c4,
             "c4_no_terminal_punct": c4_web, "fineweb": fineweb}
    for id_, text in docs:
        for name, step in steps.items():
            doc = Document(text=text, id=id_)
            result = step.filter(doc)
            keep = result is True
            decisions[name].append([keep, None if keep else result[1],
                                    doc.text if keep and name.startswith("c4") else None])
    return {"decisions": decisions}


def worker_gristmill(docs_path: str, mode: str) -> dict:
    sys.path.insert(0, str(REPO))
    from curation.core.document import Document
    from curation.steps.c4 import C4
    from curation.steps.fineweb import FineWeb
    from curation.steps.gopher import GopherQuality, GopherRepetition
    from curation.text.words import split_words

    docs = _read(docs_path)
    repetition, quality = GopherRepetition(), GopherQuality()
    c4, c4_web = C4(), C4({"require_terminal_punctuation": False})
    fineweb = FineWeb()
    split_words("Compile the tokenizer's patterns (e.g. U.S.-based). Not timed.")

    if mode == "all":
        start, cpu = time.perf_counter(), time.process_time()
        for id_, text in docs:
            doc = Document(id=id_, text=text)
            repetition.process(doc)
            quality.process(doc)
            fineweb.process(doc)
            c4.process(doc)
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                "docs": len(docs)}
    if mode == "chain":
        start, cpu = time.perf_counter(), time.process_time()
        for id_, text in docs:
            doc = Document(id=id_, text=text)
            for step in (repetition, quality, c4_web, fineweb):
                if step.process(doc) is not None:
                    break
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                "docs": len(docs)}
    decisions: dict[str, list] = {name: [] for name in FILTERS}
    steps = {"gopher_quality": quality, "gopher_repetition": repetition, "c4": c4,
             "c4_no_terminal_punct": c4_web, "fineweb": fineweb}
    for id_, text in docs:
        for name, step in steps.items():
            doc = Document(id=id_, text=text)
            rule = step.process(doc)
            keep = rule is None
            decisions[name].append([keep, rule,
                                    doc.text if keep and name.startswith("c4") else None])
    return {"decisions": decisions}


# ---------------------------------------------------------------------------------------
# Driver


def load_documents(data: Path) -> list[tuple[str, str, str]]:
    """(dataset, id, text) for every JSONL record with a text field, in sorted file order."""
    out = []
    for dataset in DATASETS:
        files = sorted(p for p in (data / dataset).rglob("*")
                       if p.name.endswith((".jsonl", ".jsonl.gz")))
        for path in files:
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                for line_no, line in enumerate(f):
                    if not line.strip():
                        continue
                    record = json.loads(line)
                    if isinstance(record.get("text"), str):
                        out.append((dataset, f"{path.relative_to(data)}:{line_no}",
                                    record["text"]))
    return out


def load_extra(paths: list[Path]) -> list[tuple[str, str, str]]:
    """(group, id, text) for the JSONL(.gz) files under each path; bad lines are skipped."""
    out = []
    for root in paths:
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")))
        for path in files:
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as f:
                for line_no, line in enumerate(f):
                    try:
                        text = json.loads(line)["text"]
                    except (ValueError, KeyError, TypeError):
                        continue
                    if isinstance(text, str):
                        out.append((root.name, f"{path}:{line_no}", text))
    return out


def ensure_datatrove_venv(venv: Path) -> Path:
    """The datatrove venv's python, creating the venv first when it is missing or broken."""
    python = venv / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", "import datatrove, spacy, regex"],
                               capture_output=True)
        if check.returncode == 0:
            return python
    print(f"installing {DATATROVE} into its own virtual environment {venv}", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", DATATROVE, "spacy", "regex"],
                   check=True)
    return python


def run_worker(python: str, side: str, docs_path: str, mode: str, cpu: int | None) -> dict:
    env = {**os.environ, **SINGLE_THREAD}
    cmd = [python, str(Path(__file__).resolve()), "--worker", side, "--docs", docs_path,
           "--mode", mode] + (["--cpu", str(cpu)] if cpu is not None else [])
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{side} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding web_* datasets")
    parser.add_argument("--datatrove-venv", type=Path, default=VENV)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side and mode")
    parser.add_argument("--cpu", type=int, default=None,
                        help="CPU to pin every worker to (default: the last one available)")
    parser.add_argument("--also", type=Path, action="append", default=[],
                        help="more JSONL files or folders to compare decisions on (not timed)")
    parser.add_argument("--worker", choices=["datatrove", "gristmill"], help=argparse.SUPPRESS)
    parser.add_argument("--docs", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["decisions", "all", "chain"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        _pin(args.cpu)
        work = worker_datatrove if args.worker == "datatrove" else worker_gristmill
        print(json.dumps(work(args.docs, args.mode)))
        return 0

    cpu = args.cpu
    if cpu is None and hasattr(os, "sched_getaffinity"):
        cpu = max(os.sched_getaffinity(0))
    documents = load_documents(args.data)
    if not documents:
        raise SystemExit(f"no documents under {args.data}/{{{','.join(DATASETS)}}}")
    dt_python = str(ensure_datatrove_venv(args.datatrove_venv))
    words = sum(len(text.split()) for _, _, text in documents)
    print(f"{len(documents)} documents, {words / len(documents):.0f} whitespace words each on "
          f"average; pinned to CPU {cpu}; load average before: {load_average()}")

    extra = load_extra(args.also)
    with tempfile.TemporaryDirectory() as tmp:
        docs_path = str(Path(tmp) / "docs.jsonl")
        all_path = str(Path(tmp) / "all.jsonl")
        for path, docs in ((docs_path, documents), (all_path, documents + extra)):
            with open(path, "w", encoding="utf-8") as f:
                for _, id_, text in docs:
                    f.write(json.dumps({"id": id_, "text": text}) + "\n")

        timings: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeats):
            for mode in ("all", "chain"):
                for side, python in (("datatrove", dt_python), ("gristmill", sys.executable)):
                    result = run_worker(python, side, docs_path, mode, cpu)
                    timings.setdefault((side, mode, "cpu"), []).append(
                        result["docs"] / result["cpu"])
                    timings.setdefault((side, mode, "wall"), []).append(
                        result["docs"] / result["seconds"])
        theirs = run_worker(dt_python, "datatrove", all_path, "decisions", cpu)["decisions"]
        ours = run_worker(sys.executable, "gristmill", all_path, "decisions", cpu)["decisions"]
    web = len(documents)
    documents = documents + extra

    print()
    print("Agreement with datatrove 0.10.1 (share of documents with the same keep/drop "
          "decision)")
    header = (f"| {'dataset':<16} | {'docs':>4} | "
              + " | ".join(f"{f:>20}" for f in FILTERS) + " |")
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    groups = [(d, [i for i, doc in enumerate(documents) if doc[0] == d]) for d in DATASETS]
    groups.append(("all web", list(range(web))))
    for name in dict.fromkeys(doc[0] for doc in extra):
        groups.append((name, [i for i in range(web, len(documents)) if documents[i][0] == name]))
    disagreements = []
    for name, idx in groups:
        cells = []
        for f in FILTERS:
            same = sum(theirs[f][i][0] == ours[f][i][0] for i in idx)
            cells.append(f"{100 * same / len(idx):>6.2f}% ({len(idx) - same:>2} differ)")
        print(f"| {name:<16} | {len(idx):>4} | " + " | ".join(f"{c:>20}" for c in cells) + " |")
    for f in FILTERS:
        for i, (t, o) in enumerate(zip(theirs[f], ours[f], strict=True)):
            if t[0] != o[0]:
                disagreements.append(f"  {f}: {documents[i][1]}: datatrove "
                                     f"{'keeps' if t[0] else 'drops (' + t[1] + ')'}, gristmill "
                                     f"{'keeps' if o[0] else 'drops (' + o[1] + ')'}")
    for f in ("c4", "c4_no_terminal_punct"):
        both = [i for i in range(web) if theirs[f][i][0] and ours[f][i][0]]
        same = sum(theirs[f][i][2] == ours[f][i][2] for i in both)
        print(f"{f}: cleaned text identical on {same} of {len(both)} web documents both keep")
    if disagreements:
        print("Disagreements:")
        print("\n".join(disagreements))

    print()
    print(f"Speed on one core (CPU {cpu}): documents per CPU second (per wall-clock second "
          f"in brackets), median of {args.repeats} fresh processes per cell")
    print("| mode     | datatrove docs/s | gristmill docs/s  | ratio        |")
    print("|----------|------------------|-------------------|--------------|")
    for mode in ("all", "chain"):
        cells = {}
        for side in ("datatrove", "gristmill"):
            cells[side] = (statistics.median(timings[(side, mode, "cpu")]),
                           statistics.median(timings[(side, mode, "wall")]))
        (dt, dt_wall), (gm, gm_wall) = cells["datatrove"], cells["gristmill"]
        label = "all four" if mode == "all" else "chain"
        print(f"| {label:<8} | {dt:>6.1f} ({dt_wall:>6.1f}) | {gm:>7.1f} ({gm_wall:>6.1f}) "
              f"| {gm / dt:>4.1f}x ({gm_wall / dt_wall:>4.1f}x) |")
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
