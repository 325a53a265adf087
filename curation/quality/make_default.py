"""Train the bundled default quality model (curation/quality/default.json + default.npz).

    .venv/bin/python -m curation.quality.make_default [--data ../shared/data] [--out DIR]

Positives: public-domain text only (so the weights may ship with the project): 14 of the 18
Project Gutenberg books in `clean_gutenberg_en` (license header and footer cut off) and the
first 80% of tinyshakespeare, cut at blank lines into documents of 30-800 words. The books
in HELDOUT_BOOKS and the last 20% of Shakespeare are never trained on; the benchmark
(benchmarks/quality_classifier.py) measures on them and on real web text.
Negatives: as many synthetic low-quality documents (`curation.quality.synthetic`), whose
word salad draws on the training books' vocabulary. Deterministic: same data, same files.
"""

from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from pathlib import Path

from curation.quality.features import TOKEN, FeatureConfig
from curation.quality.model import train
from curation.quality.synthetic import JunkGenerator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
HELDOUT_BOOKS = ("dracula", "great_gatsby", "sherlock_holmes", "time_machine")
FEATURES = FeatureConfig(ngrams=2, buckets=1 << 15, max_chars=100_000, shape_ngrams=4)
L2 = 1e-3
SEED = 20240601
_BLANK = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")


def book_body(path: Path) -> str:
    """A Gutenberg book's text between its START and END markers, LF line endings."""
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    start = re.search(r"^\*\*\* ?START OF.*$", text, re.MULTILINE)
    end = re.search(r"^\*\*\* ?END OF.*$", text, re.MULTILINE)
    return text[start.end() if start else 0: end.start() if end else len(text)].strip()


def chunk(text: str, rng: random.Random, low: int = 30, high: int = 800) -> list[str]:
    """Consecutive blank-line blocks joined into documents of about low..high words."""
    docs, current, words = [], [], 0
    target = rng.randint(low, high)
    for block in _BLANK.split(text):
        if not block.strip():
            continue
        current.append(block.strip())
        words += len(block.split())
        if words >= target:
            docs.append("\n\n".join(current))
            current, words, target = [], 0, rng.randint(low, high)
    if current and words >= low:
        docs.append("\n\n".join(current))
    return docs


def public_domain_documents(data: Path, heldout: bool, seed: int = SEED) -> list[str]:
    """Training (heldout=False) or held-out (True) documents from the books and Shakespeare."""
    rng = random.Random(seed + heldout)
    docs = []
    for path in sorted((data / "clean_gutenberg_en").glob("*.txt")):
        if (path.stem in HELDOUT_BOOKS) == heldout:
            docs += chunk(book_body(path), rng)
    lines = (data / "clean_tinyshakespeare/input.txt").read_text(encoding="utf-8").split("\n")
    cut = int(len(lines) * 0.8)
    docs += chunk("\n".join(lines[cut:] if heldout else lines[:cut]), rng)
    return docs


def junk_generator(positives: list[str], seed: int) -> JunkGenerator:
    """Synthetic negatives whose word salad uses the positives' vocabulary and sentences."""
    counts = Counter(t for doc in positives for t in TOKEN.findall(doc) if t.isalpha())
    vocabulary = [(w, float(c)) for w, c in counts.most_common(30_000)]
    rng = random.Random(seed)
    sentences = [s.replace("\n", " ") for doc in rng.sample(positives, min(500, len(positives)))
                 for s in _SENTENCE.split(doc) if 5 <= len(s.split()) <= 40]
    return JunkGenerator(vocabulary, sentences, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=HERE / "default.json")
    args = parser.parse_args()
    positives = public_domain_documents(args.data, heldout=False)
    negatives = junk_generator(positives, SEED).documents(len(positives))
    model, report = train([(f"p{i}", t) for i, t in enumerate(positives)],
                          [(f"n{i}", t) for i, t in enumerate(negatives)],
                          FEATURES, l2=L2, heldout=0.1, seed=0)
    model.info["name"] = "gristmill default quality model"
    model.info["data"] = (
        "positives: 14 Project Gutenberg books (all of clean_gutenberg_en except "
        f"{', '.join(HELDOUT_BOOKS)}) and the first 80% of tinyshakespeare, public domain; "
        "negatives: synthetic junk from curation/quality/synthetic.py; "
        "made by python -m curation.quality.make_default")
    json_path, npz_path = model.save(args.out)
    print(f"positives {report.positives:,}, negatives {report.negatives:,}, "
          f"{report.seconds:.1f} s")
    print(f"train   {report.train}")
    print(f"heldout {report.heldout}")
    print(f"wrote {json_path} and {npz_path} ({npz_path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
