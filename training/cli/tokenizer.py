"""`gristmill tokenizer train | encode | info`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path

from tokenizers import Tokenizer

from gristmill.atomic import atomic_path
from gristmill.checks import output_dir, output_file, whole
from gristmill.outputs import check_replace
from training.data.corpus import Split, find_splits, iter_texts, take_chars
from training.data.token_cache import build_cache, cache_file
from training.errors import TrainingError
from training.tokenizer.load import EOT, compression, fingerprint, load_tokenizer
from training.tokenizer.train import train_bpe, train_chars

EVAL_CHARS = 10_000_000


def tokenizer_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("tokenizer", help="train a tokenizer; pre-tokenize shards",
                                 description="Train, inspect and apply tokenizers.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    train = actions.add_parser(
        "train", help="train a tokenizer on shard directories",
        description="Train a byte-level BPE (or character) tokenizer on the train split of "
                    "shard directories, streaming them, and report its compression on the "
                    "validation split.")
    _data_arguments(train)
    train.add_argument("--out", required=True, help="tokenizer file to write (tokenizer.json)")
    train.add_argument("--vocab-size", type=whole(1), help="ids in all, special tokens "
                       "included (required for bpe)")
    train.add_argument("--kind", choices=["bpe", "char"], default="bpe",
                       help="byte-level BPE (default) or one id per character")
    train.add_argument("--special-token", action="append", default=[], metavar="TOKEN",
                       help=f"a special token besides {EOT} (repeatable)")
    train.add_argument("--max-doc-chars", type=whole(1), default=10_000,
                       help="train on at most this many characters of each document "
                            "(default 10000)")
    train.add_argument("--max-chars", type=whole(1),
                       help="stop reading after this many characters in all (default: all)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace an existing --out (only if it is a tokenizer file)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=run_train)

    encode = actions.add_parser(
        "encode", help="pre-tokenize shards into a memory-mapped token cache",
        description="Tokenize the train and validation splits once, for runs that read "
                    "them many times (data source option `cache`).")
    _data_arguments(encode)
    encode.add_argument("--tokenizer", required=True, help="tokenizer file")
    encode.add_argument("--out", required=True, help="cache directory")
    encode.add_argument("--dtype", choices=["auto", "uint16", "uint32"], default="auto",
                        help="token id type (auto: uint16 when the vocabulary fits)")
    encode.set_defaults(func=run_encode)

    info = actions.add_parser("info", help="describe a tokenizer",
                              description="Vocabulary, special tokens and fingerprint; with "
                                          "--text its tokens, with --data its compression.")
    info.add_argument("tokenizer", help="tokenizer file")
    info.add_argument("--text", help="show how this text is tokenized")
    info.add_argument("--data", action="append", metavar="DIR",
                      help="report bytes per token on this directory's validation split")
    info.set_defaults(func=run_info, holdout=0.01, verify="auto", text_column="text")


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", action="append", required=True, metavar="DIR",
                        help="shard directory: a curated output or any folder of Parquet "
                             "files with a text column (repeatable)")
    parser.add_argument("--holdout", type=float, default=0.01,
                        help="fraction held out as validation where there is no validation/ "
                             "folder (default 0.01)")
    parser.add_argument("--verify", choices=["auto", "full", "quick"], default="auto",
                        help="check files against _manifest.json: sha256 too (full), rows and "
                             "sizes only (quick), or sha256 up to 1 GiB (auto)")
    parser.add_argument("--text-column", default="text", help="column with the documents")


def run_train(args: argparse.Namespace) -> int:
    out = output_file(Path(args.out), "--out", "tokenizer.json")
    check_replace(out, "tokenizer", "--out", args.overwrite)
    if args.kind == "bpe" and args.vocab_size is None:
        raise TrainingError("--vocab-size is required for a bpe tokenizer")
    splits = [find_splits(d, args.holdout, args.verify, args.text_column) for d in args.data]
    read = _Counted(take_chars(chain.from_iterable(
        iter_texts(s.train, args.max_doc_chars) for s in splits), args.max_chars))
    start = time.monotonic()
    if args.kind == "bpe":
        # Its progress bar draws only on a terminal; elsewhere it prints blank lines.
        progress = not args.quiet and sys.stdout.isatty() and sys.stderr.isatty()
        tokenizer = train_bpe(read, args.vocab_size, args.special_token, progress)
    else:
        tokenizer = train_chars(read, args.special_token)
    seconds = time.monotonic() - start
    names = ", ".join(s.train.name for s in splits)
    print(f"read {read.docs:,} documents, {read.chars:,} characters (at most "
          f"{args.max_doc_chars:,} per document) from {names}")
    size = tokenizer.get_vocab_size()
    short = (f" ({args.vocab_size:,} asked; the text allows no more merges)"
             if args.kind == "bpe" and size < args.vocab_size else "")
    print(f"trained {'byte-level BPE' if args.kind == 'bpe' else 'character'} tokenizer: "
          f"{size:,} ids{short}, {EOT} = {tokenizer.token_to_id(EOT)}, {seconds:.1f}s")
    _report_compression(tokenizer, [s.validation for s in splits], args.data)
    with atomic_path(out) as tmp:
        tokenizer.save(str(tmp))
    print(f"wrote {out}")
    return 0


def run_encode(args: argparse.Namespace) -> int:
    output_dir(Path(args.out), "--out")
    tokenizer = load_tokenizer(args.tokenizer)
    for data in args.data:
        splits = find_splits(data, args.holdout, args.verify, args.text_column)
        done: set[Path] = set()
        for split in (s for s in splits if s is not None):
            if all(cache_file(Path(args.out), shard) in done for shard in split.shards):
                continue
            start = time.monotonic()
            headers = build_cache(split, tokenizer, args.out, args.dtype)
            done.update(cache_file(Path(args.out), shard) for shard in split.shards)
            tokens = sum(h["tokens"] for h in headers)
            print(f"{split.name}: {len(headers)} files, {sum(h['docs'] for h in headers):,} "
                  f"documents, {tokens:,} tokens ({headers[0]['dtype']}) in "
                  f"{time.monotonic() - start:.1f}s")
    print(f"cache: {args.out}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    tokenizer = load_tokenizer(args.tokenizer)
    print(f"{args.tokenizer}: {type(tokenizer.model).__name__}, "
          f"{tokenizer.get_vocab_size():,} ids, sha256 {fingerprint(tokenizer)['sha256']}")
    specials = sorted((i, t.content) for i, t in tokenizer.get_added_tokens_decoder().items())
    print("special tokens: " + ", ".join(f"{content} = {i}" for i, content in specials))
    if args.text is not None:
        encoding = tokenizer.encode(args.text, add_special_tokens=False)
        print(f"{len(encoding.ids)} tokens: " + " ".join(
            repr(args.text[a:b]) for a, b in encoding.offsets))
    if args.data:
        splits = [find_splits(d, args.holdout, args.verify, args.text_column).validation
                  for d in args.data]
        _report_compression(tokenizer, splits, args.data)
    return 0


def _report_compression(tokenizer: Tokenizer, splits: list[Split | None],
                        names: list[str]) -> None:
    for split, name in zip(splits, names, strict=True):
        if split is None:
            print(f"{name}: no validation split, compression not measured")
            continue
        c = compression(tokenizer, take_chars(iter_texts(split), EVAL_CHARS))
        where = "held-out documents" if split.heldout else "validation"
        print(f"{where} of {name}: {c.docs:,} documents, {c.bytes:,} bytes, {c.tokens:,} "
              f"tokens: {c.bytes_per_token:.2f} bytes/token")


class _Counted:
    """Passes batches of texts through, counting documents and characters."""

    def __init__(self, batches: Iterable[list[str]]):
        self.batches, self.docs, self.chars = batches, 0, 0

    def __iter__(self) -> Iterator[list[str]]:
        for batch in self.batches:
            self.docs += len(batch)
            self.chars += sum(map(len, batch))
            yield batch
