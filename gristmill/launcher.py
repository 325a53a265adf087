"""The `gristmill` command: subcommands come from the `gristmill.commands` entry points.

Curation and training each register their own commands, so neither imports the other;
this launcher only lives in `curation` because one package has to host it. An exception
whose class sets `user_facing = True` is a user mistake, and a full or read-only disk is the
machine's state: either is one line, no traceback.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from importlib.metadata import entry_points, version

# Write errors that are the machine's state, not a bug: reported in one line.
DISK_ERRORS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
               errno.EACCES: "permission denied", errno.EDQUOT: "the disk quota is exceeded"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gristmill", description="Curate text into Parquet shards; train a GPT on them.")
    parser.add_argument("--version", action="version", version=version("gristmill"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in sorted(entry_points(group="gristmill.commands"), key=lambda e: e.name):
        command.load()(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; user mistakes become one readable error, never a traceback."""
    # Before torch loads: idle OpenMP threads sleep instead of spinning, which keeps
    # training from slowing down 3-10x when other processes share the cores.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "overrides") or any("=" not in item for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides.extend(extra)
    try:
        return args.func(args) or 0
    except OSError as err:
        if err.errno not in DISK_ERRORS:
            raise
        target = f" {err.filename}" if err.filename else ""
        print(f"error: cannot write{target}: {DISK_ERRORS[err.errno]}; finished work is kept: "
              "free space or fix permissions, then run the same command again (gristmill "
              "train: with --resume)", file=sys.stderr)
        return 2
    except Exception as err:
        if not getattr(err, "user_facing", False):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
