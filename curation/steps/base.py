"""What a step is: annotate a document, then (unless `mode: annotate`) decide keep or drop.

A map step sees one document at a time inside a worker. A global step (dedup) needs the
whole corpus: it computes a key per document in the map stage before it, decides in a
reduce over all keys, and applies the decisions in the next map stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from curation.document import Document


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


class Decision(NamedTuple):
    """What a global step decided for one row of one unit."""

    rule: str | None
    duplicate_of: str | None = None
    copies: int = 1


class GlobalStep(Step):
    """A stage boundary: key in the map before it, reduce over all keys, decide after it."""

    def key(self, doc: Document) -> int:
        """A 64-bit key for the reduce, computed in the map stage before the boundary."""
        raise NotImplementedError

    def reduce(self, key_files: list[Path], id_files: list[list[Path]], out_dir: Path) -> None:
        """Decide over every unit's keys; write decisions for each unit into `out_dir`."""
        raise NotImplementedError

    def load_decisions(self, out_dir: Path, unit: int) -> dict[int, Decision]:
        """The decisions for one unit's rows (only rows that are not plain keeps)."""
        raise NotImplementedError

    def apply(self, doc: Document, decision: Decision | None) -> str | None:
        """Record the decision's columns on `doc`; return a rule to drop it."""
        raise NotImplementedError

    def process(self, doc: Document) -> str | None:  # pragma: no cover - never called
        raise TypeError(f"{self.name} is a global step; the executor calls key/reduce/apply")
