"""Language identification: record the language and its probability, keep the languages asked
for.

Long documents are not classified whole: a bounded sample (`max_chars` characters taken
from `sample_windows` evenly spaced places, see `curation/langid/sampling.py`) costs the
same on every document and, on books, is as accurate as the whole text. The backends and
their measured accuracy are described in docs/steps-cleanup-language.md
(benchmarks/langid_accuracy.py).
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from curation.core.document import Document
from curation.core.registry import register
from curation.langid import UNDETERMINED, bounded_sample, identifier, supported_languages
from curation.steps.base import FilterParams, Step


class LanguageParams(FilterParams):
    backend: Literal["fasttext", "langdetect"] = Field(
        "fasttext", description="fasttext: lid.176 lite model (176 languages, offline); "
                                "langdetect: n-gram profiles (55 languages)")
    keep: list[str] | None = Field(
        None, description="language codes to keep, for example en and de; null or an empty "
                          "list keeps all; 'und' keeps text with no letters")
    min_score: float = Field(
        0.0, ge=0.0, le=1.0, description="drop documents whose top language has a lower "
                                         "probability")
    max_chars: int | None = Field(
        1000, ge=1, description="classify at most this many characters, taken from "
                                "sample_windows places of a longer text (null: all of it)")
    sample_windows: int = Field(
        3, ge=1, description="how many evenly spaced slices make up the sample of a long text")

    @field_validator("keep")
    @classmethod
    def _lowercase(cls, keep: list[str] | None) -> list[str] | None:
        return [code.strip().lower() for code in keep] if keep else None

    @model_validator(mode="after")
    def _known_codes(self) -> LanguageParams:
        known = supported_languages(self.backend) | {UNDETERMINED[0]}
        unknown = [code for code in self.keep or [] if code not in known]
        if unknown:
            hint = " (Norwegian Bokmål is 'no')" if "nb" in unknown else ""
            codes = (", ".join(sorted(known)) if len(known) <= 60 else
                     f"{len(known) - 1} codes, listed in docs/steps-cleanup-language.md")
            raise ValueError(f"keep: backend {self.backend!r} never returns "
                             f"{', '.join(map(repr, unknown))}{hint}; it returns {codes}")
        return self


@register
class Language(Step):
    """Record the language and its probability; drop languages not in keep, or unsure ones."""

    name = "language"
    Params = LanguageParams
    columns = {"lang": pa.string(), "lang_score": pa.float32()}

    def __init__(self, params=None):
        super().__init__(params)
        self._keep = frozenset(self.params.keep or ())
        self._model = None  # loaded on first use, in the worker that uses it

    def process(self, doc: Document) -> str | None:
        p = self.params
        if self._model is None:
            self._model = identifier(p.backend)
        lang, score = self._model.predict(bounded_sample(doc.text, p.max_chars,
                                                         p.sample_windows))
        doc.meta["lang"] = lang
        doc.meta["lang_score"] = score
        # An unsure guess is reported as unsure, not as a language that was not asked for.
        if score < p.min_score:
            return "low_score"
        if self._keep and lang not in self._keep:
            return "not_in_keep"
        return None
