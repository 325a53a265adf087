"""C4 cleaning rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a
Unified Text-to-Text Transformer", section 2.2), with the options and defaults of datatrove
0.10's `C4QualityFilter`.

Line rules remove lines from the text (no terminal punctuation, too few words, a very long
word, "javascript", cookie/terms-of-use phrases); document rules drop the document ("lorem
ipsum" or a curly bracket on a line that survived the line rules, too few sentences left).
The cleaned text replaces the original only for kept documents in `mode: filter`: rejected
documents keep their text, and `mode: annotate` changes nothing and only records.

A document whose `lang` is written without spaces (Chinese, Japanese, Thai, ...) counts its
words per line with the language's segmenter. A document in another language than English
counts sentences at sentence-ending marks of any script (see `count_language_sentences`);
English keeps datatrove's sentence rules.
"""

from __future__ import annotations

import re
from typing import Literal

import pyarrow as pa
from pydantic import Field

from curation.core.document import Document
from curation.core.registry import register
from curation.steps.base import FilterParams, Step
from curation.text.segment import (
    DATATROVE_TOKENS,
    UNSPACED,
    count_language_sentences,
    has_words,
)
from curation.text.words import count_sentences, split_sentences

CITATION_RE = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
POLICY_PHRASES = ["terms of use", "privacy policy", "cookie policy", "uses cookies",
                  "use of cookies", "use cookies"]


class C4Params(FilterParams):
    split_on: Literal["lines", "sentences"] = Field(
        "lines", description="apply the line rules to lines (C4) or to sentences")
    remove_citations: bool = Field(
        True, description="delete Wikipedia citation marks: a number, 'edit' or 'citation "
                          "needed' in square brackets")
    require_terminal_punctuation: bool = Field(
        True, description="remove lines that do not end in . ? ! \" or ' (or that end in ...)")
    min_words_per_line: int | None = Field(
        3, ge=0, description="remove lines with fewer whitespace-separated words")
    max_word_length: int | None = Field(
        1000, ge=0, description="remove lines with a word longer than this many characters")
    remove_javascript_lines: bool = Field(
        True, description="remove lines that mention 'javascript'")
    remove_policy_lines: bool = Field(
        True, description="remove lines with a phrase from policy_phrases")
    policy_phrases: list[str] = Field(
        POLICY_PHRASES,
        description="lowercase phrases that mark cookie/terms-of-use lines")
    drop_lorem_ipsum: bool = Field(
        True, description="drop documents with 'lorem ipsum' on a remaining line")
    drop_curly_bracket: bool = Field(
        True, description="drop documents with '{' on a remaining line")
    min_sentences: int | None = Field(
        5, ge=0, description="drop documents with fewer sentences left after the line rules")


@register
class C4(Step):
    """C4 rules: remove unpunctuated, short, code and policy lines; drop lorem ipsum, {, short."""

    name = "c4"
    Params = C4Params
    columns = {
        "c4_lines_removed": pa.int64(),
        "c4_sentences": pa.int64(),
        "c4_lorem_ipsum": pa.bool_(),
        "c4_curly_bracket": pa.bool_(),
    }

    def __init__(self, params=None):
        super().__init__(params)
        phrases = tuple(self.params.policy_phrases)
        self._policy = ((lambda line: any(phrase in line for phrase in phrases))
                        if self.params.remove_policy_lines and phrases else None)

    def process(self, doc: Document) -> str | None:
        p = self.params
        lang = doc.meta.get("lang")
        unspaced = lang in UNSPACED
        english = lang in DATATROVE_TOKENS
        by_line = p.split_on == "lines"
        units = doc.text.splitlines() if by_line else split_sentences(doc.text)
        kept: list[str] = []
        removed = sentences = 0
        lorem_at = curly_at = None
        max_word, min_words = p.max_word_length, p.min_words_per_line
        citations, terminal = p.remove_citations, p.require_terminal_punctuation
        javascript, policy = p.remove_javascript_lines, self._policy
        for index, unit in enumerate(units):
            unit = unit.strip()
            if max_word is not None and len(unit) > max_word and (
                    max(map(len, unit.split())) > max_word):
                removed += 1
                continue
            whole = unit  # words are counted before citations are removed
            if citations and "[" in unit:
                unit = CITATION_RE.sub("", unit)
            if terminal and (not unit.endswith(END_PUNCTUATION) or unit.endswith("...")):
                removed += 1
                continue
            # at most min_words pieces: fewer means fewer words
            if min_words and len(whole.split(None, min_words - 1)) < min_words and not (
                    unspaced and has_words(whole, min_words)):
                removed += 1
                continue
            lower = unit.lower()
            if lorem_at is None and "lorem ipsum" in lower:
                lorem_at = index
            if javascript and "javascript" in lower:
                removed += 1
                continue
            if curly_at is None and "{" in unit:
                curly_at = index
            if policy is not None and policy(lower):
                removed += 1
                continue
            if not by_line:
                sentences += 1
            elif english:
                sentences += count_sentences(unit)
            else:
                sentences += count_language_sentences(unit, lang)
            kept.append(unit)
        doc.meta.update({
            "c4_lines_removed": removed,
            "c4_sentences": sentences,
            "c4_lorem_ipsum": lorem_at is not None,
            "c4_curly_bracket": curly_at is not None,
        })
        lorem = lorem_at if p.drop_lorem_ipsum else None
        curly = curly_at if p.drop_curly_bracket else None
        if lorem is not None and (curly is None or lorem <= curly):
            return "lorem_ipsum"
        if curly is not None:
            return "curly_bracket"
        if p.min_sentences is not None and sentences < p.min_sentences:
            return "too_few_sentences"
        if not self.annotate_only:
            text = ("\n" if by_line else " ").join(kept).strip()
            if text != doc.text:
                doc.set_text(text)
        return None
