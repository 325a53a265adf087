"""Extract: a web page's HTML (from the warc/html readers) becomes its main-content text.

The engine runs in a child process per worker (curation.extract.sandbox), so a page over
`timeout_s` is stopped for real and memory stays flat. Rejected pages keep their HTML.
Engines and their measured quality and speed: docs/web.md, benchmarks/README.md.
"""

from __future__ import annotations

from typing import Any, Literal

import pyarrow as pa
from pydantic import Field, model_validator

from curation.core.document import Document
from curation.core.registry import register
from curation.extract.engines import TRIM_TAIL, make_engine
from curation.extract.sandbox import ExtractionFailed, Sandbox
from curation.steps.base import Step, StepParams

MiB = 1 << 20


class ExtractParams(StepParams):
    engine: Literal["resiliparse", "trafilatura"] = Field(
        "resiliparse", description="resiliparse: about 10x faster, higher recall; "
                                   "trafilatura: higher precision (docs/web.md)")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="keyword arguments for the engine, over gristmill's defaults (resiliparse "
                    "extract_plain_text plus trim_tail_words, trafilatura bare_extraction)")
    timeout_s: float | None = Field(
        2.0, gt=0, description="per-page limit; the page is rejected as extract:timeout and "
                               "the engine process restarted. null: run in-process, no limit")
    max_html_bytes: int = Field(
        10 * MiB, gt=0, description="reject larger pages as extract:too_large without parsing")
    recycle_pages: int = Field(
        10_000, gt=0, description="start a fresh engine process after this many pages")

    @model_validator(mode="after")
    def _trim_tail(self) -> ExtractParams:
        words = self.options.get(TRIM_TAIL)
        if words is None:
            return self
        if self.engine != "resiliparse":
            raise ValueError(f"options.{TRIM_TAIL} belongs to engine resiliparse only")
        if isinstance(words, bool) or not isinstance(words, int) or words < 0:
            raise ValueError(f"options.{TRIM_TAIL} must be a whole number of words >= 0 "
                             f"(0: off), not {words!r}")
        return self


@register
class Extract(Step):
    """Turn HTML into main-content text: one block per paragraph, blank lines between."""

    name = "extract"
    Params = ExtractParams
    columns = {"html_bytes": pa.int64()}

    def __init__(self, params: Any = None):
        super().__init__(params)
        p = self.params
        self._sandbox = None if p.timeout_s is None else \
            Sandbox(p.engine, p.options, p.timeout_s, p.recycle_pages)
        self._engine = None

    def process(self, doc: Document) -> str | None:
        size = doc.meta["html_bytes"] = doc.nbytes
        if size > self.params.max_html_bytes:
            return "too_large"
        try:
            text = self._extract(doc.text)
        except ExtractionFailed as failed:
            return failed.rule
        if not text.strip():
            return "empty"
        doc.set_text(text)
        return None

    def _extract(self, html: str) -> str:
        if self._sandbox is not None:
            return self._sandbox.extract(html)
        if self._engine is None:
            self._engine = make_engine(self.params.engine, self.params.options)
        try:
            return self._engine(html)
        except Exception as err:  # an engine bug on one page rejects that page only
            raise ExtractionFailed("error", str(err)) from None

    def __getstate__(self) -> dict[str, Any]:  # engines are built again where they run
        return {**self.__dict__, "_engine": None}
