"""The unit of data every step sees: one document, and the record of a rejected one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Document:
    """A document: stable id, text, where it came from, and the columns steps recorded.

    `meta` holds kept input metadata and every score a step computed; each key becomes a
    typed Parquet column. The UTF-8 size and the text analysis are cached because every
    step needs them and recomputing them per step would be wasted work.
    """

    id: str
    text: str
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    _nbytes: int = -1
    _analysis: Any = None  # shared per-text analysis (words, lines, ...), see analysis.py

    @property
    def nbytes(self) -> int:
        """UTF-8 size of the text, computed once."""
        if self._nbytes < 0:
            self._nbytes = len(self.text.encode("utf-8", "surrogatepass"))
        return self._nbytes

    def set_text(self, text: str) -> None:
        """Replace the text (steps that edit it must use this so sizes stay right)."""
        self.text = text
        self._nbytes = -1
        self._analysis = None


@dataclass(slots=True)
class Rejected:
    """A document (or an unreadable record) that leaves the pipeline, and why.

    `reason` is `step:rule`; `raw` keeps the original bytes of a record that could not be
    parsed, so nothing is lost; `duplicate_of` names the kept copy for dedup steps.
    """

    doc: Document
    reason: str
    duplicate_of: str | None = None
    raw: bytes | None = None
