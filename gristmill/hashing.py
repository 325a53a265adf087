"""Stable hashes: the same value on every machine, process and Python version.

Python's `hash()` is salted per process, so it can never decide which documents a sample,
a split or a shuffle keeps; these helpers use BLAKE2b instead. File digests (sha256) are
what manifests and checkpoints record.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_UNIT = float(2**64)


def hash64(text: str | bytes, salt: str = "") -> int:
    """Unsigned 64-bit BLAKE2b hash of text (UTF-8) or bytes, keyed by `salt`."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(data, digest_size=8, person=salt.encode()[:16])
    return int.from_bytes(digest.digest(), "little")


def unit_interval(text: str, salt: str = "") -> float:
    """Map text to a uniform number in [0, 1), reproducibly (for sampling and splits)."""
    return hash64(text, salt) / _UNIT


def file_sha256(path: Path | str) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
