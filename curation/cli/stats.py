"""`gristmill stats`: statistics of a shard directory (JSON, HTML, terminal summary), or of
two side by side with `--compare A B`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from curation.core.errors import GristmillError
from gristmill.atomic import write_bytes_atomic
from gristmill.checks import input_file, output_file, whole
from gristmill.outputs import check_replace


def stats_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "stats", help="corpus statistics of a Parquet directory (HTML, JSON, terminal)",
        description="Statistics of any directory of Parquet files with a text column: "
                    "lengths, languages, sources, domains, score columns, PII, duplicates. "
                    "With --compare A B, two corpora side by side on the same bins.")
    parser.add_argument("path", nargs="?", help="shard directory (or one Parquet file)")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"),
                        help="compare two directories (or stats.json files)")
    parser.add_argument("--html", help="write the HTML report here")
    parser.add_argument("--json", help="write the statistics as JSON here")
    parser.add_argument("--workers", type=whole(1), help="worker processes (default: cores)")
    parser.add_argument("--tokenizer", help="tokenizer.json (HF tokenizers) for exact tokens")
    parser.add_argument("--text-column", default="text", help="text column (default: text)")
    parser.add_argument("--quiet", action="store_true", help="no terminal summary")
    parser.set_defaults(func=run_stats)


def run_stats(args: argparse.Namespace) -> int:
    from curation.stats import collect, compare, html, text_summary

    _check_arguments(args)
    console = Console()
    if args.compare:
        if args.path:
            raise GristmillError("give either a PATH or --compare A B, not both")
        result = compare.compare(*args.compare, workers=args.workers,
                                 tokenizer=args.tokenizer, text_column=args.text_column,
                                 labels=_labels(*args.compare))
        page = html.render_compare(result) if args.html else None
        if not args.quiet:
            text_summary.print_compare(result, console)
    else:
        if not args.path:
            raise GristmillError("give a shard directory (or --compare A B)")
        result = collect.collect(args.path, workers=args.workers, tokenizer=args.tokenizer,
                                 text_column=args.text_column)
        page = html.render_stats(result) if args.html else None
        if not args.quiet:
            text_summary.print_stats(result, console)
    if args.json:
        _write(Path(args.json), json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        console.print(f"json: {args.json}")
    if page is not None:
        _write(Path(args.html), page)
        console.print(f"report: {args.html}")
    return 0


def _check_arguments(args: argparse.Namespace) -> None:
    """Before any work: outputs that cannot be written, a tokenizer that does not load."""
    for flag, path, kind, example in (("--json", args.json, "stats", "stats.json"),
                                      ("--html", args.html, "html", "report.html")):
        if path:
            check_replace(output_file(Path(path), flag, example), kind, flag)
    if args.tokenizer:
        from tokenizers import Tokenizer

        try:
            Tokenizer.from_file(str(input_file(Path(args.tokenizer), "--tokenizer")))
        except Exception as err:  # tokenizers raises plain Exception for a bad file
            if getattr(err, "user_facing", False):
                raise
            raise GristmillError(f"--tokenizer {args.tokenizer}: not a tokenizer.json that "
                                 f"HF tokenizers can load ({str(err).splitlines()[0]}); give "
                                 "the file `gristmill tokenizer train` wrote") from None


def _labels(a: str, b: str) -> tuple[str, str]:
    """Short names for the two sides: the last path parts that differ, else A and B."""
    parts_a, parts_b = Path(a).resolve().parts, Path(b).resolve().parts
    for n in range(1, 4):
        name_a, name_b = "/".join(parts_a[-n:]), "/".join(parts_b[-n:])
        if name_a != name_b:
            return name_a, name_b
    return "A", "B"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, text.encode())
