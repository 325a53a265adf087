"""A Bloom filter over 64-bit hashes, sized from the number of items it will hold.

Used by paragraph dedup to remember every paragraph of the corpus in a few bits each
(about 24 bits per item at a 1e-5 false-positive rate) instead of 8+ bytes in a set.
"""

from __future__ import annotations

import math

import numpy as np

_U64 = np.uint64


class BloomFilter:
    """Bit array of m bits and k probes derived from one 64-bit hash (double hashing)."""

    def __init__(self, expected_items: int, false_positive_rate: float):
        n = max(expected_items, 1)
        self.bits_count = max(64, math.ceil(-n * math.log(false_positive_rate) / math.log(2) ** 2))
        self.probes = max(1, round(self.bits_count / n * math.log(2)))
        self.bits = np.zeros((self.bits_count + 7) // 8, dtype=np.uint8)
        self.expected_items = n

    def expected_false_positive_rate(self, items: int | None = None) -> float:
        """(1 - e^(-kn/m))^k for n items inserted."""
        n = self.expected_items if items is None else items
        return (1 - math.exp(-self.probes * n / self.bits_count)) ** self.probes

    def _positions(self, hashes: np.ndarray) -> np.ndarray:
        h1 = hashes & _U64(0xFFFFFFFF)
        h2 = (hashes >> _U64(32)) | _U64(1)
        steps = np.arange(self.probes, dtype=_U64)
        with np.errstate(over="ignore"):
            return (h1[:, None] + steps[None, :] * h2[:, None]) % _U64(self.bits_count)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """True where every probe bit is set (maybe present), False where surely absent."""
        pos = self._positions(hashes)
        hit = (self.bits[pos >> _U64(3)] >> (pos & _U64(7)).astype(np.uint8)) & 1
        return hit.all(axis=1)

    def add(self, hashes: np.ndarray) -> None:
        pos = self._positions(hashes).ravel()
        np.bitwise_or.at(self.bits, pos >> _U64(3),
                         np.left_shift(1, (pos & _U64(7)).astype(np.uint8)).astype(np.uint8))
