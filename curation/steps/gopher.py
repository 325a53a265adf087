"""Gopher quality and repetition filters (Rae et al. 2021, "Scaling Language Models: Methods,
Analysis & Insights from Training Gopher", appendix A, table A1), with the defaults of
datatrove 0.10's `GopherQualityFilter` and `GopherRepetitionFilter`.

Both steps record every metric before deciding, so `mode: annotate` keeps complete columns,
and they read words, lines and paragraphs from the shared per-document analysis. Documents
in another language than English take that language's words, stop words and thresholds
(docs/languages.md); English ones are decided exactly as datatrove decides them.
"""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field

from curation.core.document import Document
from curation.core.registry import register
from curation.steps.base import FilterParams, Step
from curation.text.analysis import analysis, duplicates
from curation.text.languages import LanguageParams, PerLanguage, stop_words
from curation.text.segment import DATATROVE_TOKENS

STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


class GopherQualityParams(FilterParams, PerLanguage):
    language_tables: bool = PerLanguage.tables_field(
        "min_mean_word_length, max_mean_word_length, min_alpha_words_ratio and stop words")
    min_words: int | None = Field(
        50, ge=0, description="drop below this many words (words made only of punctuation "
                              "and symbols are not counted)")
    max_words: int | None = Field(100_000, ge=0, description="drop above this many words")
    min_mean_word_length: float | None = Field(
        3, ge=0, description="drop when the mean word length (characters) is below this")
    max_mean_word_length: float | None = Field(
        10, ge=0, description="drop when the mean word length (characters) is above this")
    max_hash_ratio: float | None = Field(
        0.1, ge=0, description="drop when '#' characters per token is above this")
    max_ellipsis_ratio: float | None = Field(
        0.1, ge=0, description="drop when ellipses ('...' or '…') per token is above this")
    max_bullet_lines_ratio: float | None = Field(
        0.9, ge=0, description="drop when the share of lines starting with '•' or '-' is "
                               "above this")
    max_ellipsis_lines_ratio: float | None = Field(
        0.3, ge=0, description="drop when the share of lines ending with '...' or '…' is "
                               "above this")
    min_alpha_words_ratio: float | None = Field(
        0.8, ge=0, description="drop when the share of tokens with at least one letter is "
                               "below this")
    min_stop_words: int | None = Field(
        2, ge=0, description="drop when fewer distinct stop words than this occur")
    stop_words: list[str] | None = Field(
        None, description="the stop words; null: Gopher's the, be, to, of, and, that, have, "
                          "with for English (matched case-sensitively against whole tokens) and "
                          "the language's list for other languages (matched in lowercase; a "
                          "language without a list skips the rule)")


@register
class GopherQuality(Step):
    """Gopher quality rules: word count, mean word length, symbols, bullets, letters, stop words."""

    name = "gopher_quality"
    Params = GopherQualityParams
    columns = {
        "gopher_word_count": pa.int64(),
        "gopher_mean_word_length": pa.float64(),
        "gopher_hash_ratio": pa.float64(),
        "gopher_ellipsis_ratio": pa.float64(),
        "gopher_bullet_lines_ratio": pa.float64(),
        "gopher_ellipsis_lines_ratio": pa.float64(),
        "gopher_alpha_words_ratio": pa.float64(),
        "gopher_stop_words": pa.int64(),
    }

    def __init__(self, params=None):
        super().__init__(params)
        self._params = LanguageParams(self.params)
        self._stop_words: dict[str | None, frozenset[str] | None] = {}

    def _stop_words_of(self, lang: str | None, p: GopherQualityParams) -> frozenset[str] | None:
        found = self._stop_words.get(lang, False)
        if found is False:
            if lang in DATATROVE_TOKENS:
                found = frozenset(STOP_WORDS if p.stop_words is None else p.stop_words)
            elif p.stop_words is not None:
                found = frozenset(word.lower() for word in p.stop_words)
            else:
                found = stop_words(lang) if p.language_tables else None
            self._stop_words[lang] = found
        return found

    def process(self, doc: Document) -> str | None:
        lang = doc.meta.get("lang")
        p = self._params(lang)
        a = analysis(doc)
        text = doc.text
        tokens, words, word_chars, alpha_tokens = a.word_stats
        lines = a.lines
        mean_length = _ratio(word_chars, words)
        hashes = _ratio(text.count("#"), tokens)
        ellipses = _ratio(text.count("...") + text.count("…"), tokens)
        bullets = _ratio(sum(1 for line in lines if line.lstrip().startswith(("•", "-"))),
                         len(lines))
        ellipsis_lines = _ratio(
            sum(1 for line in lines if line.rstrip().endswith(("...", "…"))), len(lines))
        alpha = _ratio(alpha_tokens, tokens)
        listed = self._stop_words_of(lang, p)
        if listed is None:
            stop_words = None
        elif lang in DATATROVE_TOKENS:
            stop_words = len(listed.intersection(a.words))
        else:
            stop_words = len(listed.intersection(map(str.lower, a.words)))
        doc.meta.update({
            "gopher_word_count": words,
            "gopher_mean_word_length": mean_length,
            "gopher_hash_ratio": hashes,
            "gopher_ellipsis_ratio": ellipses,
            "gopher_bullet_lines_ratio": bullets,
            "gopher_ellipsis_lines_ratio": ellipsis_lines,
            "gopher_alpha_words_ratio": alpha,
            "gopher_stop_words": stop_words,
        })
        if p.min_words is not None and words < p.min_words:
            return "too_few_words"
        if p.max_words is not None and words > p.max_words:
            return "too_many_words"
        if mean_length is not None and (
                (p.min_mean_word_length is not None and mean_length < p.min_mean_word_length)
                or (p.max_mean_word_length is not None
                    and mean_length > p.max_mean_word_length)):
            return "mean_word_length"
        if _above(hashes, p.max_hash_ratio):
            return "hash_ratio"
        if _above(ellipses, p.max_ellipsis_ratio):
            return "ellipsis_ratio"
        if _above(bullets, p.max_bullet_lines_ratio):
            return "bullet_lines"
        if _above(ellipsis_lines, p.max_ellipsis_lines_ratio):
            return "ellipsis_lines"
        if alpha is not None and p.min_alpha_words_ratio is not None and (
                alpha < p.min_alpha_words_ratio):
            return "alpha_words"
        if p.min_stop_words is not None and stop_words is not None and (
                stop_words < p.min_stop_words):
            return "stop_words"
        return None


def _above(value: float | None, limit: float | None) -> bool:
    return value is not None and limit is not None and value > limit


TOP_NGRAMS = (2, 3, 4)
DUPLICATE_NGRAMS = (5, 6, 7, 8, 9, 10)
_TOP_DEFAULTS = {2: 0.2, 3: 0.18, 4: 0.16}
_DUP_DEFAULTS = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


def _top_field(n: int):
    return Field(_TOP_DEFAULTS[n], ge=0, description=(
        f"drop when the most frequent word {n}-gram covers more than this fraction of the "
        "characters"))


def _dup_field(n: int):
    return Field(_DUP_DEFAULTS[n], ge=0, description=(
        f"drop when repeated word {n}-grams cover more than this fraction of the characters"))


class GopherRepetitionParams(FilterParams, PerLanguage):
    language_tables: bool = PerLanguage.tables_field(
        "max_top_{2,3,4}gram_frac and max_dup_{5..10}gram_frac")
    max_dup_para_frac: float | None = Field(
        0.3, ge=0, description="drop when the share of paragraphs (split at blank lines) that "
                               "repeat an earlier one is above this")
    max_dup_para_char_frac: float | None = Field(
        0.2, ge=0, description="drop when repeated paragraphs hold more than this fraction of "
                               "the characters")
    max_dup_line_frac: float | None = Field(
        0.3, ge=0, description="drop when the share of lines that repeat an earlier one is "
                               "above this")
    max_dup_line_char_frac: float | None = Field(
        0.2, ge=0, description="drop when repeated lines hold more than this fraction of the "
                               "characters")
    max_top_2gram_frac: float | None = _top_field(2)
    max_top_3gram_frac: float | None = _top_field(3)
    max_top_4gram_frac: float | None = _top_field(4)
    max_dup_5gram_frac: float | None = _dup_field(5)
    max_dup_6gram_frac: float | None = _dup_field(6)
    max_dup_7gram_frac: float | None = _dup_field(7)
    max_dup_8gram_frac: float | None = _dup_field(8)
    max_dup_9gram_frac: float | None = _dup_field(9)
    max_dup_10gram_frac: float | None = _dup_field(10)


_REPETITION_METRICS = (
    ["dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac"]
    + [f"top_{n}gram_frac" for n in TOP_NGRAMS]
    + [f"dup_{n}gram_frac" for n in DUPLICATE_NGRAMS])


@register
class GopherRepetition(Step):
    """Gopher repetition rules: repeated paragraphs, lines and word n-grams."""

    name = "gopher_repetition"
    Params = GopherRepetitionParams
    columns = {f"gopher_{metric}": pa.float64() for metric in _REPETITION_METRICS}

    def __init__(self, params=None):
        super().__init__(params)
        self._params = LanguageParams(self.params)

    def process(self, doc: Document) -> str | None:
        text = doc.text
        if not text:
            doc.meta.update(dict.fromkeys(self.columns))
            return "empty"
        a = analysis(doc)
        size = len(text)
        paragraphs = a.paragraphs
        dup_paras, dup_para_chars = duplicates(paragraphs)
        lines = a.line_runs
        dup_lines, dup_line_chars = duplicates(lines)
        values = {
            "dup_para_frac": dup_paras / len(paragraphs),
            "dup_para_char_frac": dup_para_chars / size,
            "dup_line_frac": dup_lines / len(lines),
            "dup_line_char_frac": dup_line_chars / size,
        }
        for n in TOP_NGRAMS:
            values[f"top_{n}gram_frac"] = a.top_ngram_chars(n) / size
        # a repeated n-gram contains a repeated 5-gram: once none repeats, the rest are 0
        repeats = True
        for n in DUPLICATE_NGRAMS:
            chars = a.duplicate_ngram_chars(n) if repeats else 0
            repeats = chars > 0
            values[f"dup_{n}gram_frac"] = chars / size
        doc.meta.update({f"gopher_{metric}": value for metric, value in values.items()})
        params = self._params(doc.meta.get("lang"))
        for metric in _REPETITION_METRICS:
            limit = getattr(params, f"max_{metric}")
            if limit is not None and values[metric] > limit:
                return metric
        return None
