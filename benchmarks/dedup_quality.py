#!/usr/bin/env python3
"""Near-duplicate detection quality of `minhash_dedup`: precision, recall and F1.

Every number comes from the real pipeline (`run_pipeline`, the same code as `gristmill
curate`): a corpus is written as JSONL with ids, curated with one `minhash_dedup`
configuration, and the clusters are read back from the output shards (`dup_cluster` of kept
and rejected rows). Two predicted duplicates = two documents in the same cluster.

(a) Clough & Stevenson (/work/shared/data/neardup_clough_plagiarism): 5 source texts and 95
    short answers (33-344 words) labeled cut (near copy), light, heavy revision or non
    plagiarised. Positive = an answer labeled cut or light, in the cluster of its task's
    source; every other (answer, source) pair must stay apart. Files are UTF-8 or, where
    that fails, Windows-1252. Also printed: the true shingle Jaccard of each answer with
    its source, per label, because it bounds what any Jaccard-threshold method can find.
(b) Synthetic edits of real text: passages of 100-500 words from the 18 English Project
    Gutenberg books (past the license header, before the footer). For each edit operation
    (insert, delete, substitute words; boilerplate lines added; sentences moved; mixed:
    the rate's word edits of random kinds plus one boilerplate line and one moved
    sentence) and each edit rate (share of the words edited; at least one edit),
    `--per-cell` passages get one edited copy. Positive pairs = (passage, its copy) where
    the copy is a near duplicate: its words intact (boilerplate, reorder) or at most 2% of
    them edited (NEAR_DUPLICATE_WORD_EDITS explains why). Copies with 5% or more word edits
    are related texts, ignored (neither true nor false); every other pair is negative,
    including unrelated passages wrongly merged. Also printed: F1 when every copy counts.
(c) Real web documents (/work/shared/data web samples and HTML pages, 957 documents, none
    planted): pairs each configuration merges, with their true 5-gram Jaccard. A pair
    below WEB_SAME_PAGE is two distinct pages, a false positive (--show-web lists them).

Pair precision = predicted pairs that are true / predicted pairs; pair recall = true pairs
found / true pairs; F1 their harmonic mean.

    .venv/bin/python benchmarks/dedup_quality.py [--only clough|synthetic|web] [--show-web]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import re
import statistics
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curation.core.config import validate
from curation.core.pipeline import Pipeline
from curation.run.orchestrate import RunOptions, run_pipeline
from curation.text.normalize import normalize

CLOUGH = Path("/work/shared/data/neardup_clough_plagiarism")
BOOKS = Path("/work/shared/data/clean_gutenberg_en")
POSITIVE = {"cut", "light"}
RATES = [0.01, 0.02, 0.05, 0.10, 0.20]
OPERATIONS = ["insert", "delete", "substitute", "boilerplate", "reorder", "mixed"]
WORD_EDITS = {"insert", "delete", "substitute", "mixed"}
# The label of (b): copies with at most this share of words edited are near duplicates.
# At 2% their 5-gram Jaccard with the passage is 0.63-0.95 (median 0.72-0.84), where
# FineWeb (14 x 8: half found at 0.72) and text-dedup (threshold 0.7) look; at 5% it is
# 0.48-0.74, at 10% about 0.45, within what distinct pages of one site share in (c).
NEAR_DUPLICATE_WORD_EDITS = 0.02
WEB = Path("/work/shared/data")
# (c): a flagged web pair below this true 5-gram Jaccard is two distinct pages. Checked by
# eye (--show-web): flagged pairs are either >= 0.93 (the same page) or <= 0.44 (pages of
# one site sharing a template, different content).
WEB_SAME_PAGE = 0.5
BOILERPLATE = [
    "Share this article on Facebook, Twitter or by email.",
    "We use cookies to improve your experience. By continuing you accept our cookie policy.",
    "Subscribe to our newsletter for weekly updates and special offers.",
    "Copyright 2024 All rights reserved. Terms of use | Privacy policy | Contact us",
    "Click here to read more stories like this one.",
    "Advertisement",
    "Related posts: You may also like these articles from our archive.",
    "Home | About | Blog | Shop | Help",
]


# ---------------------------------------------------------------- running the pipeline


def clusters_of(records: list[dict[str, str]], params: dict[str, Any], root: Path,
                workers: int = 2) -> tuple[dict[str, str], dict[str, Any]]:
    """Curate `records` ({id, text}) with minhash_dedup(params); cluster key per id."""
    run_dir = root / "run"
    inputs = run_dir / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    half = (len(records) + 1) // 2  # two files, so both workers have work
    for n, part in enumerate((records[:half], records[half:])):
        (inputs / f"part-{n}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part))
    config = validate({"name": "dedup-quality",
                       "input": {"paths": [str(inputs)], "id_field": "id"},
                       "output": {"path": str(run_dir / "out")},
                       "steps": [{"minhash_dedup": params}]}, "benchmark")
    result = run_pipeline(Pipeline(config), RunOptions(workers=workers, quiet=True,
                                                       overwrite=True))
    out = run_dir / "out"
    cluster = {}
    for path in sorted(out.rglob("*.parquet")):
        table = pq.read_table(path, columns=["id", "dup_cluster"]).to_pydict()
        for doc_id, key in zip(table["id"], table["dup_cluster"], strict=True):
            cluster[doc_id] = key or doc_id
    assert len(cluster) == len(records), "every document must come back exactly once"
    (step,) = [s for s in result.manifest["steps"] if s["name"] == "minhash_dedup"]
    return cluster, step


def predicted_pairs(cluster: dict[str, str]) -> set[tuple[str, str]]:
    members = defaultdict(list)
    for doc_id, key in cluster.items():
        members[key].append(doc_id)
    return {tuple(sorted(p)) for group in members.values() if len(group) > 1
            for p in itertools.combinations(group, 2)}


@dataclass
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def row(self) -> str:
        return f"{self.precision:.3f} | {self.recall:.3f} | {self.f1:.3f} | {self.fp}"


def score(predicted: set[tuple[str, str]], true: set[tuple[str, str]],
          ignore: set[tuple[str, str]] = frozenset()) -> Score:
    """Pairs in `ignore` (neither duplicates nor distinct, e.g. two cut answers of one
    task: both copy the same source) count neither way."""
    predicted = predicted - ignore
    return Score(len(predicted & true), len(predicted - true), len(true - predicted))


def shingle_set(text: str, ngram: int) -> set[bytes]:
    words = [w for w in normalize(text).split(b" ") if w]
    k = min(ngram, len(words))
    return {b" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


def jaccard(a: str, b: str, ngram: int) -> float:
    x, y = shingle_set(a, ngram), shingle_set(b, ngram)
    return len(x & y) / len(x | y) if x | y else 1.0


# ---------------------------------------------------------------- (a) Clough & Stevenson


def load_clough() -> tuple[list[dict[str, str]], dict[str, tuple[str, str]]]:
    """Records and, per file, (task, label)."""
    labels = {}
    for line in (CLOUGH / "file_information.csv").read_text().splitlines()[1:]:
        name, task, label = line.strip().split(",")
        labels[name] = (task, label)
    records = []
    for name in sorted(labels):
        raw = (CLOUGH / "texts" / name).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        records.append({"id": name, "text": text})
    return records, labels


def clough_truth(labels: dict[str, tuple[str, str]]
                 ) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """True pairs: each cut/light answer with its source, and those answers with each
    other (both copy the same source). Ignored: pairs of heavy revisions with anything of
    their task, which the labels leave open."""
    true, ignore = set(), set()
    by_task = defaultdict(list)
    for name, (task, label) in labels.items():
        by_task[task].append((name, label))
    for members in by_task.values():
        family = [n for n, label in members if label in POSITIVE | {"orig"}]
        true |= {tuple(sorted(p)) for p in itertools.combinations(family, 2)}
        heavy = [n for n, label in members if label == "heavy"]
        ignore |= {tuple(sorted((h, n))) for h in heavy for n, _ in members if n != h}
    return true, ignore


def clough(root: Path) -> None:
    records, labels = load_clough()
    text = {r["id"]: r["text"] for r in records}
    source = {task: name for name, (task, label) in labels.items() if label == "orig"}
    print("## (a) Clough & Stevenson: 95 answers, 5 sources\n")
    print(f"{sum(1 for r in records if not _is_utf8(r['id']))} of {len(records)} files are "
          "Windows-1252, read as such.\n")
    print("True Jaccard of an answer's shingles with its source's, median [min-max]:\n")
    print("| label | answers | words (median) | 1-gram | 3-gram | 5-gram |\n|---|---:|---:|"
          "---:|---:|---:|")
    for label in ("cut", "light", "heavy", "non"):
        names = [n for n, (_, lab) in labels.items() if lab == label]
        cells = []
        for ngram in (1, 3, 5):
            values = [jaccard(text[n], text[source[labels[n][0]]], ngram) for n in names]
            cells.append(f"{statistics.median(values):.2f} [{min(values):.2f}-"
                         f"{max(values):.2f}]")
        words = statistics.median(len(text[n].split()) for n in names)
        print(f"| {label} | {len(names)} | {words:.0f} | {' | '.join(cells)} |")
    true, ignore = clough_truth(labels)
    print(f"\n{len(true)} true pairs (each cut/light answer with its source and with each "
          f"other), {len(ignore)} pairs with a heavy revision ignored.\n")
    print("| ngram | bands x rows | verify | precision | recall | F1 | false pairs | "
          "answers found (cut / light / heavy / non) |\n|---:|---|---|---:|---:|---:|---:|---|")
    configs = [{}, {"verify": True}, {"ngram": 1, "threshold": 0.7}]
    configs += [{"ngram": n, "threshold": t} for n in (2, 3, 4, 5) for t in (0.2, 0.3, 0.4, 0.5)]
    configs += [{"ngram": 3, "threshold": t, "verify": True} for t in (0.2, 0.3)]
    for params in configs:
        cluster, step = clusters_of(records, params, root)
        s = score(predicted_pairs(cluster), true, ignore)
        found = {label: sum(1 for n, (task, lab) in labels.items() if lab == label
                            and cluster[n] == cluster[source[task]])
                 for label in ("cut", "light", "heavy", "non")}
        print(f"| {params.get('ngram', 5)} | {_bands(step, params)} | {_verify(params)} | "
              f"{s.row()} | {found['cut']}/19 {found['light']}/19 {found['heavy']}/19 "
              f"{found['non']}/38 |")


def _is_utf8(name: str) -> bool:
    try:
        (CLOUGH / "texts" / name).read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _bands(step: dict[str, Any], params: dict[str, Any]) -> str:
    """bands x rows as run, and the threshold that chose them."""
    report = step["report"]
    chosen = f" (threshold {params['threshold']})" if "threshold" in params else ""
    return f"{report['bands']} x {report['rows']}{chosen}"


def _verify(params: dict[str, Any]) -> str:
    if not params.get("verify"):
        return "off"
    return f"on ({params.get('threshold', 'default')})"


# ---------------------------------------------------------------- (b) synthetic edits


def passages(count: int, seed: int) -> list[str]:
    """`count` passages of 100-500 words, whole paragraphs, from the books' bodies."""
    rng = random.Random(seed)
    pool = []
    for path in sorted(BOOKS.glob("*.txt")):
        paragraphs = [" ".join(p.split()) for p in re.split(r"\r?\n\s*\r?\n",
                                                            path.read_text("utf-8-sig"))]
        body = paragraphs[len(paragraphs) // 10: len(paragraphs) * 85 // 100]
        current: list[str] = []
        for paragraph in body:
            current.append(paragraph)
            words = sum(len(p.split()) for p in current)
            if words >= 100:
                if words <= 500:
                    pool.append("\n\n".join(current))
                current = []
    rng.shuffle(pool)
    if len(pool) < count:
        raise SystemExit(f"only {len(pool)} passages of 100-500 words")
    return pool[:count]


def edit(text: str, operation: str, rate: float, rng: random.Random, vocab: list[str]) -> str:
    """Apply `operation` to about `rate` of the words of `text` (at least one edit)."""
    words = text.split(" ")
    k = max(1, round(rate * len(words)))
    if operation == "mixed":  # k word edits of random kinds, a boilerplate line, a move
        for _ in range(k):
            text = edit(text, rng.choice(["insert", "delete", "substitute"]), 0, rng, vocab)
        return reorder(edit(text, "boilerplate", 0, rng, vocab), 1, rng)
    if operation == "insert":
        for _ in range(k):
            words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
    elif operation == "delete":
        for _ in range(min(k, len(words) - 1)):
            del words[rng.randrange(len(words))]
    elif operation == "substitute":
        for i in rng.sample(range(len(words)), k):
            words[i] = rng.choice(vocab)
    elif operation == "boilerplate":
        lines = []
        while sum(len(line.split()) for line in lines) < k:
            lines.append(rng.choice(BOILERPLATE))
        top = [line for line in lines if rng.random() < 0.5]
        bottom = [line for line in lines if line not in top]
        return "\n".join([*top, text, *bottom])
    elif operation == "reorder":
        return reorder(text, k, rng)
    return " ".join(words)


def reorder(text: str, k: int, rng: random.Random) -> str:
    """Move sentences holding about k words to other places."""
    sentences = re.split(r"(?<=[.!?])\s+", text)
    if len(sentences) < 2:
        return text
    moved = 0
    while moved < k:
        sentence = sentences.pop(rng.randrange(len(sentences)))
        sentences.insert(rng.randrange(len(sentences) + 1), sentence)
        moved += len(sentence.split())
    return " ".join(sentences)


@dataclass
class Synthetic:
    records: list[dict[str, str]]
    pairs: dict[tuple[str, str], tuple[str, float]]  # (source, copy) -> (operation, rate)
    true_jaccard: dict[tuple[str, str], float]


def synthetic_corpus(per_cell: int, unrelated: int, seed: int) -> Synthetic:
    rng = random.Random(seed)
    cells = [(op, rate) for op in OPERATIONS for rate in RATES]
    base = passages(per_cell * len(cells) + unrelated, seed)
    vocab = sorted({w for p in base[:200] for w in p.split()})
    records = [{"id": f"p{i:05d}", "text": t} for i, t in enumerate(base)]
    pairs, true_jaccard = {}, {}
    for n, (op, rate) in enumerate(cells):
        for j in range(per_cell):
            i = n * per_cell + j
            copy = {"id": f"e{i:05d}-{op}-{rate}", "text": edit(base[i], op, rate, rng, vocab)}
            records.append(copy)
            pair = (f"p{i:05d}", copy["id"])
            pairs[pair] = (op, rate)
            true_jaccard[pair] = jaccard(base[i], copy["text"], 5)
    rng.shuffle(records)
    return Synthetic(records, pairs, true_jaccard)


SYNTHETIC_CONFIGS = [
    ({}, "**default**"), ({"verify": True}, "default + verify"),
    ({"threshold": 0.7}, "threshold 0.7"),
    ({"threshold": 0.5, "verify": True}, "threshold 0.5 + verify"),
    ({"threshold": 0.4}, "threshold 0.4"),
    ({"ngram": 3}, "3-grams"), ({"ngram": 3, "threshold": 0.5}, "3-grams, threshold 0.5"),
    ({"ngram": 3, "threshold": 0.5, "verify": True}, "3-grams, threshold 0.5 + verify"),
    ({"ngram": 2, "threshold": 0.3, "verify": True}, "2-grams, threshold 0.3 + verify"),
    ({"ngram": 1, "threshold": 0.4, "verify": True}, "1-grams, threshold 0.4 + verify"),
]


@dataclass
class Labels:
    """Pairs of the synthetic set: near duplicates (counted) and related copies (ignored)."""
    true: set[tuple[str, str]]
    related: set[tuple[str, str]]
    rate_of: dict[tuple[str, str], float]

    @classmethod
    def of(cls, data: Synthetic) -> Labels:
        rate_of = {tuple(sorted(p)): rate for p, (_, rate) in data.pairs.items()}
        true = {tuple(sorted(p)) for p, cell in data.pairs.items() if is_near_duplicate(*cell)}
        return cls(true, set(rate_of) - true, rate_of)

    def at(self, rate: float) -> tuple[set[tuple[str, str]], set[tuple[str, str]], set[str]]:
        """True and related pairs of copies with this edit rate, and their documents."""
        true = {p for p in self.true if self.rate_of[p] == rate}
        related = {p for p in self.related if self.rate_of[p] == rate}
        return true, related, {i for p in true | related for i in p}


def is_near_duplicate(operation: str, rate: float) -> bool:
    """The label: a copy is a near duplicate of its passage when its words are intact
    (boilerplate added, sentences moved: any rate here) or at most NEAR_DUPLICATE_WORD_EDITS
    of them are edited. Copies with more word edits are related texts, not near
    duplicates; they count neither way (like Clough's heavy revisions)."""
    return operation not in WORD_EDITS or rate <= NEAR_DUPLICATE_WORD_EDITS


@dataclass
class Measured:
    label: str
    bands: str
    overall: Score
    per_rate: dict[float, tuple[Score, str]]  # near-duplicate score, recall of related
    every_copy: Score  # the old label: every edited copy is a duplicate
    recall: dict[tuple[str, float], float]
    web_false: tuple[int, int] | None = None  # false pairs, documents in them


def measure(data: Synthetic, labels: Labels, params: dict[str, Any], label: str,
            root: Path) -> Measured:
    cluster, step = clusters_of(data.records, params, root)
    predicted = predicted_pairs(cluster)
    per_rate = {}
    for rate in RATES:
        true, related, ids = labels.at(rate)
        involved = {p for p in predicted if set(p) & ids}
        found = f"{len(related & predicted) / len(related):.2f}" if related else "-"
        per_rate[rate] = (score(involved, true, related), found)
    recall = {cell: statistics.mean(cluster[a] == cluster[b] for (a, b), c in
                                    data.pairs.items() if c == cell)
              for cell in itertools.product(OPERATIONS, RATES)}
    return Measured(label, _bands(step, params), score(predicted, labels.true, labels.related),
                    per_rate, score(predicted, labels.true | labels.related), recall)


def synthetic(root: Path, per_cell: int, unrelated: int, web_docs: list[dict[str, str]]
              ) -> None:
    data = synthetic_corpus(per_cell, unrelated, seed=2026)
    labels = Labels.of(data)
    words = statistics.mean(len(r["text"].split()) for r in data.records)
    print(f"\n## (b) Synthetic edits of Gutenberg passages: {len(data.records)} documents "
          f"({words:.0f} words on average), {len(data.pairs)} edited copies ({per_cell} per "
          f"operation and rate), {unrelated} unrelated passages\n")
    _print_jaccard(data)
    print(f"\nLabel: {len(labels.true)} near-duplicate pairs (word edits <= "
          f"{NEAR_DUPLICATE_WORD_EDITS:.0%}; boilerplate and reorder at every rate), "
          f"{len(labels.related)} related pairs ignored (word edits >= 5%).")
    results = []
    for params, label in SYNTHETIC_CONFIGS:
        results.append(measure(data, labels, params, label, root))
        if web_docs:
            results[-1].web_false = web_false_pairs(web_docs, params, root)
    _print_default(results[0])
    _print_grid(results)


def _print_jaccard(data: Synthetic) -> None:
    print("True 5-gram Jaccard of a copy with its passage, median [min-max] by edit rate "
          "(* = near duplicate by the label):\n")
    print("| operation | " + " | ".join(f"{r:.0%}" for r in RATES) + " |\n|---|"
          + "---:|" * len(RATES))
    for op in OPERATIONS:
        cells = []
        for rate in RATES:
            values = [j for p, j in data.true_jaccard.items() if data.pairs[p] == (op, rate)]
            star = "*" if is_near_duplicate(op, rate) else ""
            cells.append(f"{statistics.median(values):.2f} [{min(values):.2f}-"
                         f"{max(values):.2f}]{star}")
        print(f"| {op} | " + " | ".join(cells) + " |")


def _print_default(m: Measured) -> None:
    print(f"\nDefaults ({m.bands}), per edit rate: near-duplicate pairs of copies with that "
          "rate; related = share of the ignored copies found anyway:\n")
    print("| edit rate | precision | recall | F1 | false pairs | related found |\n"
          "|---|---:|---:|---:|---:|---:|")
    for rate in RATES:
        s, found = m.per_rate[rate]
        print(f"| {rate:.0%} | {s.row()} | {found} |")
    print(f"| **all** | {m.overall.row()} | |")
    print(f"\nEvery copy counted as a duplicate instead (the label before): "
          f"{m.every_copy.row()} (P | R | F1 | false pairs)")
    print("\nRecall of the defaults by operation and edit rate (all copies):\n")
    print("| operation | " + " | ".join(f"{r:.0%}" for r in RATES) + " |\n|---|"
          + "---:|" * len(RATES))
    for op in OPERATIONS:
        print(f"| {op} | " + " | ".join(f"{m.recall[(op, r)]:.2f}" for r in RATES) + " |")


def _print_grid(results: list[Measured]) -> None:
    print("\nAll configurations: near-duplicate label (overall and F1 per rate), F1 with every "
          "copy a duplicate, and false pairs on the real web documents of (c) (pairs, "
          "documents in them):\n")
    print("| configuration | bands x rows | precision | recall | F1 | false pairs | "
          + " | ".join(f"F1 {r:.0%}" for r in RATES) + " | F1 every copy | web false |\n"
          "|---|---|---:|---:|---:|---:|" + "---:|" * len(RATES) + "---:|---:|")
    for m in results:
        web = f"{m.web_false[0]} ({m.web_false[1]})" if m.web_false else "-"
        print(f"| {m.label} | {m.bands} | {m.overall.row()} | "
              + " | ".join(f"{m.per_rate[r][0].f1:.3f}" for r in RATES)
              + f" | {m.every_copy.f1:.3f} | {web} |")


# ---------------------------------------------------------------- (c) real web documents


class _HtmlText(HTMLParser):
    """Visible text of a page, one line per block element (no script, style)."""

    BLOCKS = {"p", "div", "br", "li", "tr", "td", "h1", "h2", "h3", "h4", "title", "section"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.hidden += tag in ("script", "style", "noscript")
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    @classmethod
    def text(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
        return "\n".join(line for line in lines if line)


def web_documents() -> list[dict[str, str]]:
    """Real web documents, none planted: Common Crawl (Dolma 2019 sample and test files),
    RedPajama samples, and the text of the trafilatura benchmark's HTML pages."""
    names = ["web_dolma_cc2019/CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz",
             "web_dolma_tests/cc_en_head-0091.jsonl", "web_dolma_tests/cc_en_head-0174.jsonl",
             "web_dolma_tests/provided_documents_000.jsonl.gz"]
    names += [f"web_datajuicer/redpajama-{part}-refined.jsonl"
              for part in ("c4", "cc-2023-06", "pile-stackexchange")]
    texts = [json.loads(line)["text"] for name in names
             for line in _read(WEB / name).split("\n") if line.strip()]
    texts += [_HtmlText.text(_read(path)) for path in
              sorted((WEB / "html_extraction_trafilatura/html").glob("*.html.gz"))]
    return [{"id": f"w{i:04d}", "text": t} for i, t in enumerate(texts)]


def _read(path: Path) -> str:
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
    return path.read_text("utf-8")


def web_flagged(docs: list[dict[str, str]], params: dict[str, Any], root: Path
                ) -> list[tuple[float, str, str]]:
    """Pairs merged by `params`, with their true 5-gram Jaccard, most similar first."""
    cluster, _ = clusters_of(docs, params, root)
    text = {d["id"]: d["text"] for d in docs}
    return sorted(((jaccard(text[a], text[b], 5), a, b) for a, b in predicted_pairs(cluster)),
                  reverse=True)


def web_false_pairs(docs: list[dict[str, str]], params: dict[str, Any], root: Path
                    ) -> tuple[int, int]:
    false = [(a, b) for j, a, b in web_flagged(docs, params, root) if j < WEB_SAME_PAGE]
    return len(false), len({i for p in false for i in p})


def web(root: Path, docs: list[dict[str, str]], show: bool) -> None:
    pairs = len(docs) * (len(docs) - 1) // 2
    print(f"\n## (c) Real web documents: {len(docs)} documents, {pairs:,} pairs\n")
    text = {d["id"]: d["text"] for d in docs}
    for params, label in [({}, "defaults"), ({"ngram": 3, "threshold": 0.5}, "3-grams, 0.5")]:
        flagged = web_flagged(docs, params, root)
        false = [p for p in flagged if p[0] < WEB_SAME_PAGE]
        print(f"{label}: {len(flagged)} pairs flagged, {len(false)} with a true 5-gram "
              f"Jaccard below {WEB_SAME_PAGE} (distinct pages)")
        for j, a, b in flagged if show else []:
            print(f"  J5 {j:.2f} {a} {' '.join(text[a].split())[:90]!r}\n"
                  f"          {b} {' '.join(text[b].split())[:90]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["clough", "synthetic", "web"])
    parser.add_argument("--per-cell", type=int, default=40,
                        help="edited copies per operation and edit rate")
    parser.add_argument("--unrelated", type=int, default=1000,
                        help="passages without a copy (false-positive bait)")
    parser.add_argument("--show-web", action="store_true",
                        help="print every flagged pair of web documents, for checking by eye")
    args = parser.parse_args()
    docs = web_documents() if args.only != "clough" else []
    with tempfile.TemporaryDirectory(prefix="dedup-quality-") as tmp:
        if args.only in (None, "clough"):
            clough(Path(tmp) / "clough")
        if args.only in (None, "synthetic"):
            synthetic(Path(tmp) / "synthetic", args.per_cell, args.unrelated, docs)
        if args.only in (None, "web"):
            web(Path(tmp) / "web", docs, args.show_web)


if __name__ == "__main__":
    main()
