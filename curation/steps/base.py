"""What a step is: annotate a document, then (unless `mode: annotate`) decide keep or drop.

A map step sees one document at a time inside a worker. A global step (dedup) needs the
whole corpus: it computes a key per document in the map stage before it, decides in a
reduce over all keys, and applies the decisions in the next map stage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple, Protocol

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from curation.core.document import Document
from curation.dedup import decisions


class StepParams(BaseModel):
    """Parameters of a step; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class FilterParams(StepParams):
    """Parameters every filter has."""

    mode: Literal["filter", "annotate"] = Field(
        "filter", description="annotate: record scores and flags but drop nothing")


class Step:
    """A map step. Subclasses set `name`, `Params`, `columns` and implement `process`."""

    name: ClassVar[str]
    Params: ClassVar[type[StepParams]] = StepParams
    columns: ClassVar[dict[str, pa.DataType]] = {}
    # True for a step that works on chat rows (their rendered text, or each message);
    # the others need plain text and are refused when the input is chat rows.
    handles_chat: ClassVar[bool] = False

    def __init__(self, params: dict[str, Any] | StepParams | None = None):
        if not isinstance(params, StepParams):
            params = self.Params.model_validate(params or {})
        self.params = params

    @property
    def annotate_only(self) -> bool:
        """True when the step records but never drops (`mode: annotate`)."""
        return getattr(self.params, "mode", "filter") == "annotate"

    def process(self, doc: Document) -> str | None:
        """Record this step's columns on `doc`; return a rejection rule name, or None to keep."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Load what `process` loads lazily (libraries, models, compiled patterns). The local
        executor calls it once in the driver before its workers fork, so they share it."""


class Decision(NamedTuple):
    """What a dedup step decided for one row: drop rule (None keeps), kept copy, group size."""

    rule: str | None
    duplicate_of: str | None = None
    copies: int = 1


class Collector(Protocol):
    """Gathers what a global step needs from each kept document of one unit (map side)."""

    def add(self, doc: Document) -> None: ...

    def save(self, directory: Path) -> None: ...


class GlobalStep(Step):
    """A stage boundary: collect in the map before it, reduce over all units, apply after it.

    The collector's files land in each unit's directory next to its kept rows (same order),
    `reduce` reads them from every unit and writes per-unit decisions to `out_dir` with
    `write_decisions`, and `apply` receives the decision for each row in the next stage
    (None for most rows). A subclass names its decision columns in `decision_schema` (the
    first is `row`) and turns one row's values into a decision in `decision`.
    """

    decision_schema: ClassVar[pa.Schema]

    def collector(self, position: int) -> Collector:
        raise NotImplementedError

    def reduce(self, unit_dirs: dict[int, Path], position: int, out_dir: Path) -> None:
        """`unit_dirs` maps unit index -> directory, in unit order (skipped files absent)."""
        raise NotImplementedError

    def write_decisions(self, out_dir: Path, unit: int, columns: dict[str, Any]) -> None:
        """One unit's decisions, only for the rows that have one."""
        decisions.write(out_dir, unit, pa.table(columns, schema=self.decision_schema))

    def load_decisions(self, out_dir: Path, unit: int) -> dict[int, Any]:
        """row -> decision for one unit (rows without a decision are absent)."""
        table = decisions.read(out_dir, unit)
        if table is None:
            return {}
        rows = table.pop("row")
        return {row: self.decision(*values)
                for row, *values in zip(rows, *table.values(), strict=True)}

    def decision(self, *values: Any) -> Any:
        """One row's decision from its columns after `row`."""
        raise NotImplementedError

    def ray_reduce(self) -> Callable[[Any, dict[int, Path], int, Path], None] | None:
        """A reduce cut into many Ray tasks (same arguments as `reduce`, the step first),
        for a step whose reduce is too large for one task; None runs `reduce` as one."""
        return None

    def apply(self, doc: Document, decision: Any) -> str | None:
        """Record the decision's columns on `doc`; return a rule to drop it."""
        raise NotImplementedError

    def process(self, doc: Document) -> str | None:  # pragma: no cover - never called
        raise TypeError(f"{self.name} is a global step; the executor calls collect/reduce/apply")


def kept_files(unit_dir: Path) -> list[Path]:
    """A unit's kept rows from the stage before a boundary, in row order."""
    return sorted(unit_dir.glob("kept-*.parquet"))
