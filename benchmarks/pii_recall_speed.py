"""PII recall, precision and speed: presidio's default analyzer against gristmill's `pii` step.

Documents: every sentence of presidio-research's synthetic set (1,500 sentences with labeled
spans) is placed, three to a document, between paragraphs of real prose from the Gutenberg
books, so each document is about 5 KB and the labels keep their offsets. Prose with no labels
counts: whatever is found there is a false positive.

- presidio default: `AnalyzerEngine` with its default recognizers for English and a blank
  spaCy pipeline (no download), analyzing every entity type it knows.
- gristmill: `PiiAnalyzer` (what the `pii` step runs) with the seven structured types
  (EMAIL, PHONE, CREDIT_CARD, IP, IBAN, US_SSN and URL).
- gristmill step: the `pii` step itself with its defaults (six types, no URL), `replace`.

Both analyzers get the same overlap resolution (overlapping spans become one, typed by the
best score; presidio-anonymizer does the same before it rewrites text). A labeled span is
*found* when a predicted span of its type overlaps it, and *covered* when predictions of its
type cover every one of its characters. Precision counts predicted spans of a type that
overlap a labeled span of that type. Speed is documents per second over the same documents,
measured in alternating slices so that load from other jobs falls on both.

    .venv/bin/python benchmarks/pii_recall_speed.py            # about a minute
    .venv/bin/python benchmarks/pii_recall_speed.py --docs 100 --ablation
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("PRESIDIO_DEVICE", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curation.core.document import Document
from curation.pii.engine import PiiAnalyzer, Span, resolve
from curation.steps.pii import Pii

DATA = Path(os.environ.get("GRISTMILL_DATA", "/work/shared/data"))
DATASET = DATA / "pii_presidio" / "synth_dataset_v2.json"
BOOKS = DATA / "clean_gutenberg_en"

# Dataset labels -> our types (DOMAIN_NAME holds the dataset's URLs).
LABELS = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD",
          "IP_ADDRESS": "IP", "IBAN_CODE": "IBAN", "US_SSN": "US_SSN", "DOMAIN_NAME": "URL"}
STRUCTURED = ["EMAIL", "PHONE", "CREDIT_CARD", "IP", "IBAN", "US_SSN"]
TYPES = [*STRUCTURED, "URL"]
PRESIDIO_TYPES = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD",
                  "IP_ADDRESS": "IP", "IBAN_CODE": "IBAN", "US_SSN": "US_SSN", "URL": "URL"}


def prose_paragraphs() -> list[str]:
    """Paragraphs of the books' bodies (license header and footer cut off)."""
    paragraphs = []
    for path in sorted(BOOKS.glob("*.txt")):
        text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        start, end = text.find("*** START OF"), text.find("*** END OF")
        if start >= 0:
            text = text[text.find("\n", start) + 1:end if end > start else None]
        paragraphs += [" ".join(p.split()) for p in text.split("\n\n") if len(p.split()) > 5]
    return paragraphs


def build_docs(n_docs: int, doc_chars: int, seed: int):
    """(text, gold spans) documents of about `doc_chars` characters, 3 labeled sentences each."""
    records = json.loads(DATASET.read_text())
    rng = random.Random(seed)
    paragraphs = prose_paragraphs()
    docs = []
    per_doc = 3
    for d in range(min(n_docs, len(records) // per_doc)):
        sentences = records[d * per_doc:(d + 1) * per_doc]
        budget = doc_chars - sum(len(r["full_text"]) + 2 for r in sentences)
        i = rng.randrange(len(paragraphs))
        filler = []
        while budget > 0:
            filler.append(paragraphs[i % len(paragraphs)][:budget])
            budget -= len(filler[-1]) + 2
            i += 1
        slots = sorted(rng.randrange(len(filler) + 1) for _ in sentences)
        parts, gold, pos = [], [], 0
        order = []
        k = 0
        for j in range(len(filler) + 1):
            while k < len(slots) and slots[k] == j:
                order.append(("s", sentences[k]))
                k += 1
            if j < len(filler):
                order.append(("p", filler[j]))
        for kind, item in order:
            piece = item if kind == "p" else item["full_text"]
            if kind == "s":
                for span in item["spans"]:
                    label = LABELS.get(span["entity_type"])
                    if label:
                        gold.append(Span(pos + span["start_position"], pos + span["end_position"],
                                         label, 1.0))
            parts.append(piece)
            pos += len(piece) + 2
        docs.append(("\n\n".join(parts), gold))
    return docs


def presidio_default():
    """presidio's AnalyzerEngine as shipped, with a blank English spaCy pipeline."""
    from curation.pii import offline

    offline.prepare()
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class BlankSpacy(SpacyNlpEngine):
        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    nlp = BlankSpacy(models=[{"lang_code": "en", "model_name": "blank"}])
    nlp.load()
    engine = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])

    def analyze(text: str) -> list[Span]:
        results = engine.analyze(text, language="en")
        spans = resolve([Span(r.start, r.end, r.entity_type, r.score) for r in results])
        return [Span(s.start, s.end, PRESIDIO_TYPES[s.entity], s.score) for s in spans
                if s.entity in PRESIDIO_TYPES]
    return analyze


def score(docs, predictions) -> dict[str, dict[str, float]]:
    table = {}
    for kind in TYPES:
        n = found = covered = predicted = correct = 0
        for (_, gold), pred in zip(docs, predictions, strict=True):
            mine = [p for p in pred if p.entity == kind]
            theirs = [g for g in gold if g.entity == kind]
            for g in theirs:
                n += 1
                hits = [p for p in mine if p.start < g.end and p.end > g.start]
                found += bool(hits)
                chars = set()
                for p in hits:
                    chars.update(range(max(p.start, g.start), min(p.end, g.end)))
                covered += len(chars) == g.end - g.start
            predicted += len(mine)
            correct += sum(any(g.start < p.end and g.end > p.start for g in theirs) for p in mine)
        table[kind] = {"n": n, "found": found, "covered": covered, "predicted": predicted,
                       "correct": correct}
    return table


def run_timed(names, functions, docs, slice_size: int = 25):
    """Run each function over all docs, alternating slices; return outputs and seconds."""
    outputs = {name: [] for name in names}
    seconds = dict.fromkeys(names, 0.0)
    for start in range(0, len(docs), slice_size):
        chunk = docs[start:start + slice_size]
        for name, fn in zip(names, functions, strict=True):
            t = time.perf_counter()
            outputs[name] += [fn(text) for text, _ in chunk]
            seconds[name] += time.perf_counter() - t
    return outputs, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=500, help="documents (3 labeled sentences "
                        "each; 500 uses the whole dataset)")
    parser.add_argument("--doc-chars", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ablation", action="store_true",
                        help="also time gristmill without pre-screening")
    args = parser.parse_args()

    docs = build_docs(args.docs, args.doc_chars, args.seed)
    size = sum(len(t) for t, _ in docs) / len(docs)
    t = time.perf_counter()
    baseline = presidio_default()
    ours = PiiAnalyzer(TYPES)
    step = Pii({"action": "replace"})

    def run_step(text: str) -> list[Span]:
        step.process(Document("x", text))
        return []

    names = ["presidio default", "gristmill", "gristmill pii step (replace)"]
    functions = [baseline, ours.analyze, run_step]
    if args.ablation:
        no_screen = PiiAnalyzer(TYPES, prescreen=False)
        names.append("gristmill, no pre-screening")
        functions.append(no_screen.analyze)
    for fn in functions:  # warm up (lazy loading) outside the timing
        fn(docs[0][0])
    setup = time.perf_counter() - t
    outputs, seconds = run_timed(names, functions, docs)

    print(f"{len(docs)} documents, {size:,.0f} characters on average "
          f"({sum(len(g) for _, g in docs)} labeled spans of the types below); "
          f"setup {setup:.1f} s\n")
    tables = {name: score(docs, outputs[name]) for name in names[:2]}
    header = f"| type | n | {' | '.join(f'{n}: recall / covered / precision' for n in names[:2])} |"
    print(header)
    print("|" + "---|" * (2 + len(names[:2])))

    def cell(row):
        rec = row["found"] / row["n"] if row["n"] else float("nan")
        cov = row["covered"] / row["n"] if row["n"] else float("nan")
        prec = row["correct"] / row["predicted"] if row["predicted"] else float("nan")
        return f"{rec:.3f} / {cov:.3f} / {prec:.3f} ({row['predicted']})"

    for kind in TYPES:
        n = tables[names[0]][kind]["n"]
        print(f"| {kind} | {n} | " + " | ".join(cell(tables[x][kind]) for x in names[:2]) + " |")
    for label, kinds in (("structured (6 types)", STRUCTURED), ("all 7", TYPES)):
        total = {}
        for name in names[:2]:
            rows = [tables[name][k] for k in kinds]
            total[name] = {f: sum(r[f] for r in rows) for f in rows[0]}
        n = total[names[0]]["n"]
        print(f"| {label} | {n} | " + " | ".join(cell(total[x]) for x in names[:2]) + " |")

    print("\n| analyzer | docs/s | ratio to presidio default |")
    print("|---|---|---|")
    base = len(docs) / seconds[names[0]]
    for name in names:
        rate = len(docs) / seconds[name]
        print(f"| {name} | {rate:,.1f} | {rate / base:.1f}x |")


if __name__ == "__main__":
    main()
