"""Stable 64-bit hashes: the same value on every machine, process and Python version.

Python's `hash()` is salted per process, so it can never decide which documents a sample
or a split keeps; these helpers use BLAKE2b instead.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_UNIT = float(2**64)


def hash64(text: str, salt: str = "") -> int:
    """Unsigned 64-bit BLAKE2b hash of `salt` + text."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8,
                             person=salt.encode()[:16])
    return int.from_bytes(digest.digest(), "little")


def unit_interval(text: str, salt: str = "") -> float:
    """Map text to a uniform number in [0, 1), reproducibly (for sampling and splits)."""
    return hash64(text, salt) / _UNIT


def normalize_for_dedup(text: str) -> str:
    """Case-fold, NFKC, and collapse punctuation/whitespace so trivial variants collide."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", text).strip()
