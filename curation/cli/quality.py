"""`gristmill quality train` and `gristmill quality eval`: make and measure quality models.

Registered under the `gristmill.commands` entry point group as `quality`. Inputs are anything
the pipeline readers accept (files, directories, globs; JSONL, Parquet, text, save_to_disk).
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections.abc import Iterator

import numpy as np

from curation.core.config import InputConfig
from curation.core.document import Document
from curation.core.errors import GristmillError
from curation.io.readers import discover, read_file
from curation.quality.features import FeatureConfig
from gristmill.checks import number, whole


def quality_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "quality", help="train or evaluate a quality classifier",
        description="Train a hashed n-gram quality classifier (the `quality` step's model), "
                    "or measure one on labeled documents.")
    actions = parser.add_subparsers(dest="quality_action", required=True, metavar="ACTION")

    train = actions.add_parser(
        "train", help="train a model on positive (good) and negative (bad) documents",
        description="Train logistic regression on hashed word n-grams; writes MODEL.json and "
                    "its weights MODEL.npz next to it; prints held-out accuracy and ROC-AUC.")
    _labeled_inputs(train)
    train.add_argument("--out", required=True, metavar="MODEL.json", help="model file to write")
    train.add_argument("--ngrams", type=whole(1, 8), default=2,
                       help="word n-gram orders 1..N (default 2)")
    train.add_argument("--shape-ngrams", type=whole(0, 8), default=0,
                       help="also word-shape n-grams 1..N (function words kept, other words "
                            "as <w>/<W>/<d>...; helps across topics; default 0: off)")
    train.add_argument("--buckets", type=_buckets, default=1 << 18,
                       help="hash buckets, e.g. 262144 or 2**18 (default 2**18)")
    train.add_argument("--max-chars", type=whole(1, 10**9), default=100_000,
                       help="featurize the first this many characters of each document "
                            "(default 100000; stored in the model)")
    train.add_argument("--l2", type=number(0, low_open=True), default=1e-5,
                       help="L2 penalty (default 1e-5; larger generalizes more, fits less)")
    train.add_argument("--heldout", type=number(0, 1, high_open=True), default=0.1,
                       help="share of documents held out by id hash for the report "
                            "(default 0.1)")
    train.add_argument("--seed", type=int, default=0, help="changes which documents are held out")
    train.add_argument("--max-iter", type=whole(1, 100_000), default=200,
                       help="Newton iterations at most (default 200; a few dozen suffice)")
    train.set_defaults(func=run_train)

    evaluate = actions.add_parser(
        "eval", help="score labeled documents with a model; print accuracy and ROC-AUC",
        description="Score positive and negative documents with a model (default: the "
                    "bundled one) and print accuracy at --threshold and ROC-AUC.")
    _labeled_inputs(evaluate)
    evaluate.add_argument("--model", help="model JSON (default: the bundled default model)")
    evaluate.add_argument("--threshold", type=number(0, 1, high_open=True), default=0.5,
                          help="score >= this counts as positive (default 0.5)")
    evaluate.set_defaults(func=run_eval)


def _labeled_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--positive", nargs="+", action="extend", required=True, metavar="PATH",
                        help="good documents: files, directories or globs (repeatable)")
    parser.add_argument("--negative", nargs="+", action="extend", required=True, metavar="PATH",
                        help="bad documents: files, directories or globs (repeatable)")
    parser.add_argument("--format", choices=["auto", "jsonl", "parquet", "text", "hf_disk"],
                        default="auto", help="input format (default: by extension)")
    parser.add_argument("--text-field", default="text", help="field holding the text")
    parser.add_argument("--text-mode", choices=["file", "paragraph"], default="file",
                        help="plain text: one document per file or per blank-line block")
    parser.add_argument("--max-docs", type=whole(1, 10**12), default=None,
                        help="read at most this many documents per class (in input order)")


def documents(paths: list[str], args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """(id, text) of every readable, non-blank document under `paths`."""
    cfg = InputConfig(paths=paths, format=args.format, text_field=args.text_field,
                      text_mode=args.text_mode)
    found = (record for f in discover(cfg) for record in read_file(f, cfg))
    docs = ((r.id, r.text) for r in found if isinstance(r, Document) and r.text.strip())
    return itertools.islice(docs, args.max_docs)


def run_train(args: argparse.Namespace) -> int:
    from curation.quality.model import train

    if not args.out.endswith(".json"):
        raise GristmillError(f"--out {args.out}: a model's file name must end in .json")
    features = FeatureConfig(ngrams=args.ngrams, buckets=args.buckets, max_chars=args.max_chars,
                             shape_ngrams=args.shape_ngrams)
    documents(args.positive, args)  # check every path before reading any
    documents(args.negative, args)
    model, report = train(documents(args.positive, args), documents(args.negative, args),
                          features, l2=args.l2, heldout=args.heldout, seed=args.seed,
                          max_iter=args.max_iter)
    model.info["inputs"] = {"positive": args.positive, "negative": args.negative}
    json_path, npz_path = model.save(args.out)
    print(f"read {report.positives:,} positive and {report.negatives:,} negative documents; "
          f"trained in {report.seconds:.1f} s")
    for name, part in (("train", report.train), ("held-out", report.heldout)):
        if part:
            print(f"{name:>8}: {part['documents']:,} documents, accuracy {part['accuracy']:.4f}, "
                  f"ROC-AUC {part['roc_auc']:.4f}")
    if not report.heldout:
        print("held-out: none (--heldout 0)")
    elif report.heldout["documents"] < 50:
        print("note: fewer than 50 held-out documents; these numbers are rough", file=sys.stderr)
    print(f"wrote {json_path} and {npz_path}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from curation.quality.metrics import accuracy, roc_auc
    from curation.steps.quality import DEFAULT_MODEL, load_model

    model = load_model(args.model or str(DEFAULT_MODEL))
    pos = model.score_many(t for _, t in documents(args.positive, args))
    neg = model.score_many(t for _, t in documents(args.negative, args))
    if not len(pos) or not len(neg):
        raise GristmillError("eval needs at least one positive and one negative document")
    labels = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    scores = np.r_[pos, neg]
    print(f"model {args.model or DEFAULT_MODEL}")
    print(f"positives {len(pos):,} (mean score {pos.mean():.3f}), negatives {len(neg):,} "
          f"(mean score {neg.mean():.3f})")
    print(f"accuracy at {args.threshold}: {accuracy(labels, scores, args.threshold):.4f}; "
          f"ROC-AUC {roc_auc(labels, scores):.4f}")
    return 0


def _buckets(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*(?:(?:\*\*|\^)\s*(\d+)\s*)?", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a number like 262144 or 2**18, got {text!r}")
    value = int(match[1]) ** int(match[2]) if match[2] else int(match[1])
    if not 16 <= value <= 1 << 26:
        raise argparse.ArgumentTypeError(f"buckets must be between 16 and 2**26, got {value}")
    return value


