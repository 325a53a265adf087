"""Mergeable histograms with bins fixed in advance, so partial results from many workers
(or two corpora) add up bin by bin. Memory: one counter per bin, never the values.

A bin is [edges[i], edges[i+1]); values below the first edge count in the first bin and
values at or above the last edge in the last bin (`min` and `max` stay exact). Quantiles are
read off the bins by linear interpolation, so they are exact to within one bin. Exact zeros
are counted apart: most score columns (duplicate fractions, ratios, counts) are 0 for most
documents, and spreading those over the bin [0, 0.02) would give a median of 0.01 where
every value is 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Lengths: 0, then 16 bins per factor of 10 (rounded to whole numbers) up to 10^10.
PER_DECADE = 16
LENGTH_EDGES = np.unique(np.concatenate(
    [[0], np.round(10 ** (np.arange(0, 10 * PER_DECADE + 1) / PER_DECADE))])).astype(np.float64)


@dataclass
class Histogram:
    edges: np.ndarray
    unit: str = ""
    scale: str = "linear"  # linear | log | integer (one bin per whole number)
    # log and integer bins hold whole numbers only (lengths, counts): quantiles are too
    counts: np.ndarray = field(default=None)  # type: ignore[assignment]
    count: int = 0
    nulls: int = 0
    zeros: int = 0  # values exactly 0: a point mass inside the bin that holds 0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def __post_init__(self) -> None:
        self.edges = np.asarray(self.edges, dtype=np.float64)
        if self.counts is None:
            self.counts = np.zeros(len(self.edges) - 1, dtype=np.int64)

    def add(self, values: np.ndarray, nulls: int = 0) -> None:
        """Count non-null values (NaN counts as null)."""
        values = np.asarray(values, dtype=np.float64)
        finite = values[~np.isnan(values)]
        self.nulls += nulls + (len(values) - len(finite))
        if not len(finite):
            return
        index = np.searchsorted(self.edges, finite, side="right") - 1
        np.clip(index, 0, len(self.counts) - 1, out=index)
        self.counts += np.bincount(index, minlength=len(self.counts))
        self.count += len(finite)
        self.zeros += int(np.count_nonzero(finite == 0))
        self.total += float(finite.sum())
        self.minimum = min(self.minimum, float(finite.min()))
        self.maximum = max(self.maximum, float(finite.max()))

    def merge(self, other: Histogram) -> None:
        if not np.array_equal(self.edges, other.edges):
            raise ValueError("histograms with different bins cannot be merged")
        self.counts += other.counts
        self.count += other.count
        self.nulls += other.nulls
        self.zeros += other.zeros
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile, interpolated inside its bin and kept within [min, max]; the bin
        that holds 0 is read as its zeros at 0 and its other values spread evenly."""
        if not self.count:
            return None
        target = q * self.count
        cumulative = np.cumsum(self.counts)
        i = int(np.searchsorted(cumulative, target, side="left"))
        i = min(i, len(self.counts) - 1)
        rank = target - (cumulative[i - 1] if i else 0)
        value = self._inside(i, rank)
        if self.scale in ("integer", "log"):  # these bins only ever hold whole numbers
            value = np.floor(value)
        return float(np.clip(value, self.minimum, self.maximum))

    def _inside(self, i: int, rank: float) -> float:
        """The value of rank `rank` (0..counts[i]) among bin i's values."""
        low, high, count = self.edges[i], self.edges[i + 1], self.counts[i]
        zeros = self.zeros if low <= 0 < high or (i == 0 and low > 0) else 0
        spread = count - zeros
        if not zeros:
            return low + (rank / count if count else 0.0) * (high - low)
        zero = min(max(0.0, low), high)
        below = spread * (zero - low) / (high - low)  # spread values under 0
        if rank <= below and spread:
            return low + rank / spread * (high - low)
        if rank <= below + zeros:
            return 0.0
        return zero + (rank - below - zeros) / max(spread, 1) * (high - low)

    def to_dict(self, trim: bool = True) -> dict[str, Any]:
        """JSON form. `trim` drops empty bins at both ends (edges stay aligned)."""
        first, last = 0, len(self.counts)
        if trim and self.count:
            nonzero = np.flatnonzero(self.counts)
            first, last = int(nonzero[0]), int(nonzero[-1]) + 1
        quantiles = {f"p{round(q * 100)}": _round(self.quantile(q))
                     for q in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)}
        return {"unit": self.unit, "scale": self.scale, "count": self.count,
                "nulls": self.nulls, "zeros": self.zeros, "sum": _round(self.total),
                "min": _round(self.minimum) if self.count else None,
                "max": _round(self.maximum) if self.count else None,
                "mean": _round(self.mean), "quantiles": quantiles,
                "edges": [_round(e) for e in self.edges[first:last + 1]],
                "counts": [int(c) for c in self.counts[first:last]]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        hist = cls(np.asarray(data["edges"], dtype=np.float64), data.get("unit", ""),
                   data.get("scale", "linear"), np.asarray(data["counts"], dtype=np.int64),
                   data["count"], data.get("nulls", 0), data.get("zeros", 0),
                   data.get("sum") or 0.0)
        if data["count"]:
            hist.minimum, hist.maximum = data["min"], data["max"]
        return hist


def _round(value: float | None) -> float | int | None:
    if value is None or not np.isfinite(value):
        return None
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 6)


def length_histogram(unit: str) -> Histogram:
    return Histogram(LENGTH_EDGES, unit, "log")


def score_edges(low: float, high: float, integer: bool, bins: int = 50) -> tuple[np.ndarray, str]:
    """Bins for a score column whose values lie in [low, high]: one per whole number for
    small integer ranges, log-spaced for wide non-negative integer counts, 0..1 in 50 steps
    for fractions and probabilities, else `bins` equal steps over the range."""
    if integer and high - low <= 60:
        return np.arange(np.floor(low), np.floor(high) + 2, dtype=np.float64), "integer"
    if integer and low >= 0:
        top = np.searchsorted(LENGTH_EDGES, high, side="right") + 1
        return LENGTH_EDGES[:max(int(top), 3)].copy(), "log"
    if low >= 0 and high <= 1:
        return np.linspace(0.0, 1.0, bins + 1), "linear"
    if high <= low:
        high = low + 1
    step = _nice_step((high - low) / bins)
    start = np.floor(low / step) * step
    count = int(np.ceil((high - start) / step)) + 1
    return start + step * np.arange(count + 1), "linear"


def _nice_step(raw: float) -> float:
    power = 10 ** np.floor(np.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)
