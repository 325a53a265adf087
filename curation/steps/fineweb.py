"""FineWeb quality rules (Penedo et al. 2024, "The FineWeb Datasets: Decanting the Web for
the Finest Text Data at Scale", section 3.3), with the defaults of datatrove 0.10's
`FineWebQualityFilter`.

Lines are the text split at "\\n", without blank ones. The rules look at how many lines end
in terminal punctuation, how many are short, how much of the text sits in repeated lines,
and how many line breaks there are per word (lists and menus).
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from pydantic import Field

from curation.core.document import Document
from curation.core.registry import register
from curation.steps.base import FilterParams, Step
from curation.text.analysis import analysis, duplicates
from curation.text.chars import TERMINAL_PUNCTUATION
from curation.text.languages import LanguageParams, PerLanguage


class FineWebParams(FilterParams, PerLanguage):
    same_for_every_language: ClassVar[frozenset[str]] = frozenset(["terminal_punctuation"])

    language_tables: bool = PerLanguage.tables_field(
        "min_line_punct_ratio and max_newline_word_ratio")
    min_line_punct_ratio: float | None = Field(
        0.12, ge=0, description="drop when the share of lines ending in terminal punctuation "
                                "is below this")
    line_punct_exempt_zero: bool = Field(
        False, description="exempt documents where no line ends in terminal punctuation from "
                           "the rule above")
    terminal_punctuation: list[str] | None = Field(
        None, description="characters that end a sentence; null: the 159 Unicode sentence "
                          "terminals (. ! ? 。 ...)")
    max_short_line_ratio: float | None = Field(
        0.67, ge=0, description="drop when the share of short lines is above this")
    short_line_max_chars: int = Field(
        30, ge=0, description="a line of at most this many characters is short")
    max_dup_line_char_ratio: float | None = Field(
        0.01, ge=0, description="drop when characters in repeated lines, over all characters "
                                "except newlines, are above this")
    max_newline_word_ratio: float | None = Field(
        0.3, ge=0, description="drop when line breaks per word are above this (lists)")


@register
class FineWeb(Step):
    """FineWeb rules: terminal punctuation, short lines, repeated lines, line breaks per word."""

    name = "fineweb"
    Params = FineWebParams
    columns = {
        "fineweb_line_punct_ratio": pa.float64(),
        "fineweb_short_line_ratio": pa.float64(),
        "fineweb_dup_line_char_ratio": pa.float64(),
        "fineweb_newline_word_ratio": pa.float64(),
    }

    def __init__(self, params=None):
        super().__init__(params)
        ends = self.params.terminal_punctuation
        ends = TERMINAL_PUNCTUATION if ends is None else ends
        self._end_chars = frozenset(ends) if all(len(e) == 1 for e in ends) else None
        self._ends = tuple(ends)
        self._params = LanguageParams(self.params)

    def process(self, doc: Document) -> str | None:
        p = self._params(doc.meta.get("lang"))
        a = analysis(doc)
        lines = a.nonblank_lines
        if not lines:
            doc.meta.update(dict.fromkeys(self.columns))
            return "empty"
        text = doc.text
        count = len(lines)
        if self._end_chars is not None:
            ends = self._end_chars
            punct = sum(1 for line in lines if line[-1] in ends) / count
        else:
            punct = sum(1 for line in lines if line.endswith(self._ends)) / count
        short_max = p.short_line_max_chars
        short = sum(1 for line in lines if len(line) <= short_max) / count
        dup_chars = duplicates(lines)[1] / (len(text) - text.count("\n"))
        words = a.word_stats[0]
        newlines = text.count("\n") / words if words else float(text.count("\n"))
        doc.meta.update({
            "fineweb_line_punct_ratio": punct,
            "fineweb_short_line_ratio": short,
            "fineweb_dup_line_char_ratio": dup_chars,
            "fineweb_newline_word_ratio": newlines,
        })
        if p.min_line_punct_ratio is not None and punct < p.min_line_punct_ratio and not (
                punct == 0 and p.line_punct_exempt_zero):
            return "line_punct_ratio"
        if p.max_short_line_ratio is not None and short > p.max_short_line_ratio:
            return "short_line_ratio"
        if p.max_dup_line_char_ratio is not None and dup_chars > p.max_dup_line_char_ratio:
            return "dup_line_char_ratio"
        if p.max_newline_word_ratio is not None and newlines > p.max_newline_word_ratio:
            return "list_ratio"
        return None
