"""Checks of what a user typed, made before any work starts: argument ranges (as argparse
types, so a bad value is a usage error at parse time), device names (before torch sees
them), and output paths (a file where a directory belongs, or the reverse).

Each failure is one line that names the flag or key, what was given and what works.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable
from pathlib import Path

from gristmill.errors import UserError

DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number >= `low` (and <= `high`, when given)."""
    wanted = f">= {low}" if high is None else f"in {low}..{high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected a whole number {wanted}, got {text!r}")
        return value

    return parse


def number(low: float, high: float = math.inf, low_open: bool = False,
           high_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high]; `low_open`/`high_open` leave out
    that end."""
    shown = (f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
             if high != math.inf else None)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        inside = ((low < value if low_open else low <= value)
                  and (value < high if high_open else value <= high))
        if not inside or math.isnan(value):
            wanted = f"a number in {shown}" if shown else \
                f"a number {'>' if low_open else '>='} {low:g}"
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


def device_name(text: str) -> str:
    """An argparse type (and a config check): auto, cpu, mps, cuda or cuda:N."""
    if not DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use auto, cpu, cuda, "
                                         "cuda:N or mps")
    return text


def output_dir(path: Path, what: str) -> Path:
    """`path` can be (or become) a directory this process may write into."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path}: is a file, not a directory; give a directory path "
                        "(new or existing)")
    _writable(path, what)
    return path


def output_file(path: Path, what: str, example: str) -> Path:
    """`path` can be written as a file: not a directory, in a writable parent."""
    if path.is_dir():
        raise UserError(f"{what} {path}: is a directory; give a file path, e.g. "
                        f"{path / example}")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise UserError(f"{what} {path}: {parent} is a file, not a directory")
    _writable(parent, what)
    return path


def input_file(path: Path, what: str) -> Path:
    if not path.exists():
        raise UserError(f"{what} {path}: no such file")
    if path.is_dir():
        raise UserError(f"{what} {path}: is a directory; give a file")
    return path


def _writable(path: Path, what: str) -> None:
    """The nearest existing ancestor must be a writable directory."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{what} {path}: {existing} is not writable; choose another place "
                        "or fix its permissions")
    if not existing.is_dir():
        raise UserError(f"{what} {path}: {existing} is a file, not a directory")
