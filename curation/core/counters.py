"""Per-step counters: documents and bytes in and out, reasons, time. Mergeable across units."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StepCounts:
    """What one step did to one unit (or, merged, to the whole run)."""

    name: str
    docs_in: int = 0
    docs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    rejected: Counter = field(default_factory=Counter)
    flagged: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def docs_rejected(self) -> int:
        return sum(self.rejected.values())

    def merge(self, other: StepCounts) -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.rejected.update(other.rejected)
        self.flagged.update(other.flagged)
        self.seconds += other.seconds

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rejected"] = dict(sorted(self.rejected.items()))
        out["flagged"] = dict(sorted(self.flagged.items()))
        out["seconds"] = round(self.seconds, 3)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepCounts:
        return cls(**{**data, "rejected": Counter(data["rejected"]),
                      "flagged": Counter(data["flagged"])})


def merge_all(per_unit: list[list[StepCounts]], names: list[str]) -> list[StepCounts]:
    """Sum the counters of many units, step by step (a unit may cover only some steps)."""
    total = [StepCounts(name) for name in names]
    for counts in per_unit:
        for position, step_counts in enumerate(counts):
            if step_counts is not None:
                total[position].merge(step_counts)
    return total
