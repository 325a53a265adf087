"""Small mergeable summaries with bounded memory: frequent values and example documents.

- `TopValues`: counts of values (sources, domains, languages), exact until more than
  `capacity` distinct values are seen, then a Misra-Gries summary: every value that makes up
  more than 1/capacity of the total is kept, and each count is low by at most `error`.
- `Sample`: a uniform random sample of k rows (bottom-k by a random key per row; the keys
  come from a seed per row group, so the sample does not depend on the number of workers).
- `Nearest`: the k rows whose value is closest to a target, on each side of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class TopValues:
    capacity: int = 10_000
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    nulls: int = 0
    error: int = 0  # upper bound on how much any count is too low (0: exact)

    def add(self, values: list[Any], counts: list[int]) -> None:
        for value, n in zip(values, counts, strict=True):
            if value is None:
                self.nulls += int(n)
                continue
            self.counts[value] = self.counts.get(value, 0) + int(n)
            self.total += int(n)
        self._shrink()

    def merge(self, other: TopValues) -> None:
        for value, n in other.counts.items():
            self.counts[value] = self.counts.get(value, 0) + n
        self.total += other.total
        self.nulls += other.nulls
        self.error += other.error
        self._shrink()

    def _shrink(self) -> None:
        """Misra-Gries: subtract the (capacity+1)-th largest count from all, drop the rest."""
        if len(self.counts) <= self.capacity:
            return
        cut = sorted(self.counts.values(), reverse=True)[self.capacity]
        self.counts = {v: n - cut for v, n in self.counts.items() if n > cut}
        self.error += cut

    def top(self, k: int) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[:k]

    def to_dict(self, k: int = 20) -> dict[str, Any]:
        top = self.top(k)
        return {"total": self.total, "nulls": self.nulls,
                "distinct": len(self.counts) if not self.error else None,
                "exact": self.error == 0, "count_error_max": self.error,
                "top": [{"value": v, "count": n} for v, n in top],
                "other": self.total - sum(n for _, n in top)}


@dataclass
class Sample:
    """Bottom-k sample: the k rows with the smallest random keys."""

    k: int
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rows: list[dict[str, Any]] = field(default_factory=list)

    def offer(self, keys: np.ndarray, make_row) -> None:
        """Consider rows with these keys; `make_row(i)` builds row i only if it is kept."""
        if not len(keys):
            return
        if len(self.keys) >= self.k:
            candidates = np.flatnonzero(keys < self.keys.max())
        else:
            candidates = np.arange(len(keys))
        if len(candidates) > self.k:
            candidates = candidates[np.argpartition(keys[candidates], self.k - 1)[:self.k]]
        if len(candidates):
            self._combine(keys[candidates], [make_row(int(i)) for i in candidates])

    def merge(self, other: Sample) -> None:
        self._combine(other.keys, other.rows)

    def _combine(self, keys: np.ndarray, rows: list[dict[str, Any]]) -> None:
        all_keys = np.concatenate([self.keys, keys])
        all_rows = self.rows + rows
        order = np.argsort(all_keys, kind="stable")[:self.k]
        self.keys = all_keys[order]
        self.rows = [all_rows[i] for i in order]


@dataclass
class Nearest:
    """The k rows just below `target` and the k rows at or just above it."""

    target: float
    k: int = 3
    below: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    above: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def offer(self, values: np.ndarray, make_row) -> None:
        values = np.asarray(values, dtype=np.float64)
        for side, mask in (("below", values < self.target), ("above", values >= self.target)):
            index = np.flatnonzero(mask)
            if not len(index):
                continue
            distance = np.abs(values[index] - self.target)
            if len(index) > self.k:
                index = index[np.argpartition(distance, self.k - 1)[:self.k]]
            self._keep(side, [(float(values[i]), make_row(int(i))) for i in index])

    def merge(self, other: Nearest) -> None:
        self._keep("below", other.below)
        self._keep("above", other.above)

    def _keep(self, side: str, items: list[tuple[float, dict[str, Any]]]) -> None:
        merged = getattr(self, side) + items
        merged.sort(key=lambda item: (abs(item[0] - self.target), str(item[1].get("id"))))
        setattr(self, side, merged[:self.k])
