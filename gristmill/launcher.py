"""The `gristmill` command: subcommands come from the `gristmill.commands` entry points.

Curation and training each register their own commands, so neither imports the other.
An exception whose class sets `user_facing = True` is a user mistake, and a full or
read-only disk is the machine's state: either is one line, no traceback. Ctrl-C at any
moment is one line and exit 130; forked workers exit silently and leave the report to the
main process. A subcommand says how it resumes with `set_defaults(resume_with=...)`: "rerun"
(the same command again) or a flag to add (`--resume`); the interrupt line then gives the
exact command.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

# Write errors that are the machine's state, not a bug: reported in one line.
DISK_ERRORS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
               errno.EACCES: "permission denied", errno.EDQUOT: "the disk quota is exceeded"}
INTERRUPTED = 130
REDELIVER_S = 0.01  # a Ctrl-C lost in a finalizer is sent again this much later


class Parser(argparse.ArgumentParser):
    """A usage mistake is one line (not the whole usage block) that points at --help;
    subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with only the one `argv` names: a command then
    imports its own modules and no other's (`gristmill steps` never loads torch)."""
    from importlib.metadata import entry_points, version

    parser = Parser(
        prog="gristmill", description="Curate text into Parquet shards; train a GPT on them.")
    parser.add_argument("--version", action="version", version=version("gristmill"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    registered = sorted(entry_points(group="gristmill.commands"), key=lambda e: e.name)
    named = next((a for a in argv or [] if not a.startswith("-")), None)
    chosen = [e for e in registered if e.name == named] or registered
    for command in chosen:
        command.load()(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; user mistakes become one readable error, never a traceback."""
    restore = _quiet_workers()  # first: a Ctrl-C during the imports below is one line too
    argv = sys.argv[1:] if argv is None else list(argv)
    # OpenMP's idle threads spin (libgomp's default), fastest on cores you have to yourself;
    # on shared cores, OMP_WAIT_POLICY=PASSIVE avoids a 3-10x slowdown (docs/training.md#cpus).
    args = None
    try:
        if argv == ["--version"]:  # without loading the commands (and torch): instant
            from importlib.metadata import version

            print(version("gristmill"))
            return 0
        args = _parse(build_parser(argv), argv)
        return _run(args)
    except KeyboardInterrupt:
        # CPython marks a KeyboardInterrupt that leaves any exec() of a string (scipy and
        # numpy run some at import) as unhandled, even once caught here, and `python -m`
        # then ends with SIGINT instead of our exit status; each exec() of a string clears it.
        exec("")
        print(_interrupted(args, argv), file=sys.stderr)
        return INTERRUPTED
    finally:
        restore()


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "overrides") or any("=" not in item for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides.extend(extra)
    return args


def _run(args: argparse.Namespace) -> int:
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


def _interrupted(args: argparse.Namespace | None, argv: list[str]) -> str:
    """The interrupt line, with the command that resumes where the subcommand can."""
    how = getattr(args, "resume_with", None)
    if how == "rerun":
        return "interrupted: run the same command again to resume"
    if how:
        prog = sys.argv[0] if Path(sys.argv[0]).name == "gristmill" else "gristmill"
        command = [prog, *argv, *([] if how in argv else [how])]
        return f"interrupted: resume with: {shlex.join(command)}"
    return "interrupted"


def _quiet_workers() -> Callable[[], None]:
    """Ctrl-C reaches every process of the terminal's group. In the main process it is a
    KeyboardInterrupt as usual; a forked worker (a process pool's, a data loader's) exits
    at once without a traceback, and the main process cleans up and reports. Returns what
    puts the previous handlers back (nothing to do where handlers cannot be set: not the
    main thread, or SIGINT ignored)."""
    main_pid = os.getpid()

    def on_interrupt(signum: int, frame: Any) -> None:
        if os.getpid() != main_pid:
            os._exit(INTERRUPTED)
        raise KeyboardInterrupt

    previous_hook = sys.unraisablehook

    def on_unraisable(unraisable: Any) -> None:
        """Python prints and drops an exception raised in a finalizer (`__del__`, a weakref
        or gc callback), so a Ctrl-C landing there would be lost and the run go on: send it
        again once the finalizer has returned."""
        if os.getpid() == main_pid and issubclass(unraisable.exc_type, KeyboardInterrupt):
            threading.Timer(REDELIVER_S, os.kill, (main_pid, signal.SIGINT)).start()
        else:
            previous_hook(unraisable)

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # e.g. started with `&` or nohup
        return lambda: None
    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:
        return lambda: None
    sys.unraisablehook = on_unraisable

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook

    return restore


if __name__ == "__main__":
    sys.exit(main())
