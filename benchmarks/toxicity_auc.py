"""Toxicity: how well each document score ranks toxic documents (ROC-AUC), and speed.

    .venv/bin/python benchmarks/toxicity_auc.py [--data ../shared/data] [--seed 0]

Scores compared, all from alt-profanity-check's model (curation.steps.toxicity):
  whole         the classifier on the whole text (what `profanity_check.predict_prob(text)` gives)
  line_max      the highest score of any line
  sentence_max  the highest score of any sentence (split after . ! ? and at line ends)
  mean          (whole + line_max) / 2
  max           max(whole, line_max)
  shipped       the step's `toxicity` column with its defaults: `max` for texts of 50 words
                or more, `whole` for shorter ones (whole_below_words: 50)

Labeled sets (../shared/data/toxicity_*, see CATALOG.md), each item as it comes, then
multi-line documents built from them so that one toxic line sits among clean ones:
  davidson      tweets; toxic = hate speech or offensive (majority label), clean = neither
  davidson_hate hate speech vs neither only
  jigsaw        Jigsaw comments (IBM sample, 101); toxic = any of the 6 labels
  madlibs       templated sentences, BAD vs NOT_BAD
  *_doc{k}      documents of k items: positives hold exactly one toxic item among k-1 clean
                ones, negatives k clean ones (items drawn at random, seeded)
  gutenberg+tweet  a ~30-line Gutenberg passage (hard-wrapped lines) with one tweet inserted
                at a random line: toxic tweet = positive, clean tweet = negative
The false-positive table scores the clean sample corpus (data/sample, Gutenberg books) with
the step's defaults. Speed: the step on data/sample documents, one core, against calling
profanity_check.predict_prob once per document on its lines and once on its text.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curation.core.document import Document  # noqa: E402
from curation.quality.metrics import roc_auc  # noqa: E402
from curation.steps.toxicity import Toxicity, profanity_model  # noqa: E402

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
METHODS = ("whole", "line_max", "sentence_max", "mean", "max", "shipped")


def load_sets(data: Path) -> dict[str, tuple[list[str], list[bool]]]:
    sets = {}
    with open(data / "toxicity_davidson/labeled_data.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    sets["davidson"] = ([r["tweet"] for r in rows], [r["class"] != "2" for r in rows])
    hate = [r for r in rows if r["class"] in ("0", "2")]
    sets["davidson_hate"] = ([r["tweet"] for r in hate], [r["class"] == "0" for r in hate])
    with open(data / "toxicity_jigsaw_ibm_sample/test_examples.csv", newline="",
              encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    labels = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
    sets["jigsaw"] = ([r["comment_text"] for r in rows],
                      [any(r[k] == "1" for k in labels) for r in rows])
    with open(data / "toxicity_bias_madlibs/bias_madlibs_77k.csv", newline="",
              encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    sets["madlibs"] = ([r["Text"] for r in rows], [r["Label"] == "BAD" for r in rows])
    return sets


def one_among_clean(texts: list[str], labels: list[bool], k: int, n: int,
                    rng: random.Random) -> tuple[list[str], list[bool]]:
    """n/2 documents with one toxic item among k-1 clean ones, n/2 with k clean items."""
    toxic = [t.replace("\n", " ") for t, y in zip(texts, labels, strict=True) if y]
    clean = [t.replace("\n", " ") for t, y in zip(texts, labels, strict=True) if not y]
    docs, ys = [], []
    for i in range(n):
        lines = rng.choices(clean, k=k)
        if i % 2 == 0:
            lines[rng.randrange(k)] = rng.choice(toxic)
        docs.append("\n".join(lines))
        ys.append(i % 2 == 0)
    return docs, ys


def gutenberg_passages(data: Path, n: int, rng: random.Random, lines: int = 30) -> list[str]:
    books = sorted((data / "clean_gutenberg_en").glob("*.txt"))
    passages = []
    for book in books:
        text = book.read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n")
        body = text[len(text) // 10: -len(text) // 10]  # skip license header and footer
        passages += ["\n".join(body[i:i + lines]) for i in range(0, len(body) - lines, lines)]
    return rng.sample(passages, n)


def tweet_in_passage(data: Path, texts: list[str], labels: list[bool], n: int,
                     rng: random.Random) -> tuple[list[str], list[bool]]:
    toxic = [t.replace("\n", " ") for t, y in zip(texts, labels, strict=True) if y]
    clean = [t.replace("\n", " ") for t, y in zip(texts, labels, strict=True) if not y]
    docs, ys = [], []
    for i, passage in enumerate(gutenberg_passages(data, n, rng)):
        lines = passage.split("\n")
        tweet = rng.choice(toxic if i % 2 == 0 else clean)
        lines.insert(rng.randrange(len(lines) + 1), tweet)
        docs.append("\n".join(lines))
        ys.append(i % 2 == 0)
    return docs, ys


def scores(docs: list[str]) -> dict[str, np.ndarray]:
    """Every method's score per document, with batched classifier calls."""
    model = profanity_model()
    whole = model.predict(docs)
    out = {"whole": whole}
    for name, split in (("line_max", lambda d: d.split("\n")),
                        ("sentence_max", SENTENCE_END.split)):
        pieces, owner = [], []
        for i, doc in enumerate(docs):
            parts = [p for p in split(doc) if p.strip()] or [doc]
            pieces += parts
            owner += [i] * len(parts)
        probs = model.predict(pieces)
        best = np.zeros(len(docs))
        np.maximum.at(best, np.array(owner), probs)
        out[name] = best
    out["mean"] = (whole + out["line_max"]) / 2
    out["max"] = np.maximum(whole, out["line_max"])
    step = Toxicity()
    out["shipped"] = np.array([step.score(doc)[0] for doc in docs])
    return out


def evaluations(data: Path, seed: int) -> dict[str, tuple[list[str], list[bool]]]:
    rng = random.Random(seed)
    sets = load_sets(data)
    evaluations = dict(sets)
    for name, k, n in (("davidson", 8, 4000), ("jigsaw", 4, 1000), ("madlibs", 8, 4000),
                       ("madlibs", 16, 4000)):
        evaluations[f"{name}_doc{k}"] = one_among_clean(*sets[name], k, n, rng)
    evaluations["gutenberg+tweet"] = tweet_in_passage(data, *sets["davidson"], 2000, rng)
    return evaluations


def sample_docs() -> list[str]:
    """The non-empty documents of the bundled sample corpus (Gutenberg books, Shakespeare)."""
    docs = []
    for path in sorted((ROOT / "data/sample").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and record.get("text", "").strip():
                    docs.append(record["text"])
    return docs


def wikitext_articles(data: Path) -> list[str]:
    """WikiText-2 validation articles (split at level-1 headings; still tokenized)."""
    articles: list[list[str]] = []
    for line in (data / "clean_wikitext2/valid.txt").read_text(encoding="utf-8").splitlines():
        if re.fullmatch(r" = [^=].* = ", line):
            articles.append([])
        if articles and line.strip():
            articles[-1].append(line.strip())
    return ["\n".join(a) for a in articles]


def web_docs(data: Path) -> list[str]:
    docs = []
    for path in sorted((data / "web_dolma_cc2019").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            docs += [json.loads(line)["text"] for line in f]
    return docs


def speed(docs: list[str]) -> tuple[float, float, float]:
    import profanity_check

    step = Toxicity()
    start = time.process_time()
    for i, text in enumerate(docs):
        step.process(Document(str(i), text))
    ours = time.process_time() - start
    subset = docs[:200]
    start = time.process_time()
    for text in subset:
        profanity_check.predict_prob([line for line in text.split("\n") if line.strip()])
        profanity_check.predict_prob([text])
    naive = (time.process_time() - start) * len(docs) / len(subset)
    mb = sum(len(t.encode()) for t in docs) / 1e6
    return len(docs) / ours, mb / ours, len(docs) / naive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    profanity_model()  # load once, outside the timings
    defaults = Toxicity().params

    print("ROC-AUC by document score (best in bold)\n")
    print(f"| set | docs | toxic share | {' | '.join(METHODS)} |")
    print(f"|---|---:|---:|{'---:|' * len(METHODS)}")
    flagged = []
    for name, (docs, labels) in evaluations(args.data, args.seed).items():
        s = scores(docs)
        aucs = {m: roc_auc(labels, s[m]) for m in METHODS}
        best = max(round(v, 4) for v in aucs.values())
        cells = [f"**{v:.4f}**" if round(v, 4) == best else f"{v:.4f}" for v in aucs.values()]
        print(f"| {name} | {len(docs):,} | {np.mean(labels):.2f} | {' | '.join(cells)} |")
        if name in ("davidson_doc8", "gutenberg+tweet"):
            y = np.array(labels)
            flagged += [(f"{name}, toxic", s["shipped"][y]), (f"{name}, clean", s["shipped"][~y])]

    step = Toxicity({"mode": "annotate"})
    for name, docs in (("data/sample (Gutenberg, Shakespeare)", sample_docs()),
                       ("WikiText-2 valid articles", wikitext_articles(args.data)),
                       ("web_dolma_cc2019 (raw CC, many languages)", web_docs(args.data))):
        flagged.append((name, np.array([step.score(d)[0] for d in docs])))
    print(f"\nShare of documents with toxicity >= t (default max_score {defaults.max_score})\n")
    cuts = (0.5, 0.8, 0.9, 0.95, 0.99)
    print(f"| documents | n | {' | '.join(f'>= {t}' for t in cuts)} |")
    print(f"|---|---:|{'---:|' * len(cuts)}")
    for name, values in flagged:
        print(f"| {name} | {len(values):,} | "
              f"{' | '.join(f'{np.mean(values >= t):.3f}' for t in cuts)} |")

    docs = sample_docs()
    docs_s, mb_s, naive = speed(docs)
    print(f"\nSpeed on data/sample ({len(docs):,} documents, one process, per CPU-second): "
          f"step {docs_s:,.0f} docs/s ({mb_s:.2f} MB/s); profanity_check.predict_prob per "
          f"document (its lines, then its text) {naive:,.0f} docs/s; ratio {docs_s / naive:.1f}x")


if __name__ == "__main__":
    main()
