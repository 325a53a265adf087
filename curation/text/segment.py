"""Words for any language: the tokenizer in `words.py` for text written with spaces, ICU's
dictionary-based word segmentation for scripts written without them.

English (and a document with no `lang`) keeps exactly the datatrove-compatible tokens of
`words.py`, punctuation tokens included, so English decisions match datatrove's. Every
other language drops tokens made only of punctuation and symbols: they are not words, and
counting them made clean Russian or Polish fail Gopher's letter-share rule.

Tibetan has no spaces between words either and no ICU dictionary: its syllables count as
words. Chinese, Japanese, Thai, Lao, Khmer and Burmese have no spaces between words. ICU (through
PyICU, MIT/Unicode licence, one wheel for all six scripts) segments them with its word
dictionaries, the engine browsers and Lucene use. Mixed text is fine: ICU applies the Unicode
word rules (UAX #29) to Latin, digits and the rest of a line.
"""

from __future__ import annotations

import re
from itertools import chain

from curation.text.chars import SENTENCE_END, SYMBOLS_STR, char_class
from curation.text.words import FillingCache, split_words

# lid.176 codes of languages written without spaces between words
UNSPACED = frozenset(["zh", "ja", "th", "lo", "km", "my", "wuu", "yue"])
# the codes whose words are the datatrove-compatible tokens (no `lang` counts as English)
DATATROVE_TOKENS = frozenset([None, "", "en"])

# Tibetan separates syllables with a tsheg and has no word dictionary in ICU: its words are
# its syllables (split at tsheg, shad and spaces), the usual character-based rule
SYLLABLE_SPLIT = frozenset(["bo"])
_TIBETAN_BREAK = re.compile(r"[\u0f0b-\u0f14\s]+")

_BREAKER = None
_WORD_STATUS = 100  # UBRK_WORD_NONE_LIMIT


def _breaker():
    """One ICU word break iterator per process (creating one loads the dictionaries)."""
    global _BREAKER
    if _BREAKER is None:
        import icu

        _BREAKER = icu.BreakIterator.createWordInstance(icu.Locale.getRoot())
    return _BREAKER


def _segment_line(line: str) -> list[str]:
    """ICU's word segments of one line that are words: ICU tags each segment with the rule
    that ended it, and tags 100 and up are numbers, letters, kana and ideographs (below 100:
    spaces, punctuation and symbols)."""
    breaker = _breaker()
    breaker.setText(line)
    status = breaker.getRuleStatus
    out = []
    start = breaker.first()
    for end in breaker:
        if status() >= _WORD_STATUS:
            out.append(line[start:end])
        start = end
    return out


# C4 rewrites a document from its own lines, so the filters after it see the same lines
# again (and junk repeats lines); at most 2M characters of lines
LINES = FillingCache(_segment_line, 2_000_000, by_length=True)


def segment(text: str) -> list[str]:
    """The words of `text` by ICU's segmentation (a line break always ends a word)."""
    return list(chain.from_iterable(map(LINES.__getitem__, text.split("\n"))))


def has_words(text: str, count: int) -> bool:
    """Whether ICU finds at least `count` words in `text` (stops as soon as it has)."""
    breaker = _breaker()
    breaker.setText(text)
    status = breaker.getRuleStatus
    breaker.first()
    for _ in breaker:
        if status() >= _WORD_STATUS:
            count -= 1
            if count <= 0:
                return True
    return count <= 0


def language_words(text: str, lang: str | None) -> list[str]:
    """The words of `text` in language `lang` (an ISO 639 code as the language step writes)."""
    if lang in DATATROVE_TOKENS:
        return split_words(text)
    if lang in UNSPACED:
        return segment(text)
    if lang in SYLLABLE_SPLIT:
        return [w for w in _TIBETAN_BREAK.split(text) if w.strip(SYMBOLS_STR)]
    return [token for token in split_words(text) if token.strip(SYMBOLS_STR)]


# a run of sentence ends, with the closing quotes and brackets after it
_END_RUN = re.compile(char_class(SENTENCE_END) + "+[\"'”’」』）)]*")  # noqa: RUF001
# written with spaces between sentences and no sentence-ending mark
_SPACE_SENTENCES = frozenset(["th", "lo"])


def count_language_sentences(text: str, lang: str) -> int:
    """Sentences (at least 1) of a line in a language other than English: a sentence ends
    at a run of sentence-ending marks (Unicode Sentence_Terminal: . ! ? 。 । ။ ...) with more
    text after it, after a space too unless the language is written without spaces; in Thai
    and Lao, which end sentences with a space rather than a mark, at each run of spaces."""
    text = text.strip()
    if lang in _SPACE_SENTENCES:
        return max(1, len(text.split()))
    end = len(text)
    if lang in UNSPACED:
        return 1 + sum(1 for m in _END_RUN.finditer(text) if m.end() < end)
    return 1 + sum(1 for m in _END_RUN.finditer(text)
                   if m.end() < end and text[m.end()].isspace())
