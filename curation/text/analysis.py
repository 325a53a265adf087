"""Shared per-document text analysis: words, lines, paragraphs and n-gram statistics.

Every heuristic filter (Gopher quality and repetition, C4, FineWeb, and any other step that
wants them) reads its inputs from one `TextAnalysis` per text, built lazily and cached on
`doc._analysis` by `analysis(doc)`. `Document.set_text` drops the cache, so a step that edits
the text (C4's line removal) never leaves stale numbers behind. The words depend on the
document's `lang` (see `curation.text.segment`).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from itertools import compress, repeat
from operator import add, mul, ne, not_
from typing import Any

from curation.text.chars import SYMBOLS_STR
from curation.text.segment import language_words

# ---------------------------------------------------------------------------------------
# The per-text analysis

_PARAGRAPH_RE = re.compile(r"\n{2,}")
_LINE_RUN_RE = re.compile(r"\n+")


class TextAnalysis:
    """Lazily computed views of one text; each is computed at most once."""

    __slots__ = ("_line_runs", "_lines", "_ngrams", "_nonblank_lines",
                 "_paragraphs", "_word_stats", "_words", "lang", "text")

    def __init__(self, text: str, lang: str | None = None):
        self.text = text
        self.lang = lang
        self._words: list[str] | None = None
        self._word_stats: tuple[int, int, int, int] | None = None
        self._lines: list[str] | None = None
        self._nonblank_lines: list[str] | None = None
        self._line_runs: list[str] | None = None
        self._paragraphs: list[str] | None = None
        self._ngrams: NgramStats | None = None

    # words ------------------------------------------------------------------------------

    @property
    def words(self) -> list[str]:
        """Words of the text's language (for English, datatrove's tokens: punctuation included)."""
        if self._words is None:
            self._words = language_words(self.text, self.lang)
        return self._words

    @property
    def word_stats(self) -> tuple[int, int, int, int]:
        """(tokens, tokens that are not only symbols, their total length, tokens with a letter)."""
        if self._word_stats is None:
            words = self.words
            plain = list(map(str.isalpha, words))  # most tokens are only letters
            letters = plain.count(True)
            symbols = symbol_chars = 0
            for word in compress(words, map(not_, plain)):
                if not word.strip(SYMBOLS_STR):
                    symbols += 1
                    symbol_chars += len(word)
                elif any(map(str.isalpha, word)):
                    letters += 1
            self._word_stats = (len(words), len(words) - symbols,
                                sum(map(len, words)) - symbol_chars, letters)
        return self._word_stats

    # lines and paragraphs ---------------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        """`str.splitlines()`: every Unicode line break separates lines."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    @property
    def nonblank_lines(self) -> list[str]:
        """Lines split at "\n" only, without the ones that are empty or only whitespace."""
        if self._nonblank_lines is None:
            self._nonblank_lines = [line for line in self.text.split("\n") if line.strip()]
        return self._nonblank_lines

    @property
    def line_runs(self) -> list[str]:
        """The text split at runs of "\n" (Gopher's lines; empty ends are kept)."""
        if self._line_runs is None:
            self._line_runs = _LINE_RUN_RE.split(self.text)
        return self._line_runs

    @property
    def paragraphs(self) -> list[str]:
        """The stripped text split at two or more "\n" (Gopher's paragraphs)."""
        if self._paragraphs is None:
            self._paragraphs = _PARAGRAPH_RE.split(self.text.strip())
        return self._paragraphs

    # n-grams ----------------------------------------------------------------------------

    @property
    def ngrams(self) -> NgramStats:
        """Word n-gram repetition statistics (see NgramStats)."""
        if self._ngrams is None:
            self._ngrams = NgramStats(self.words)
        return self._ngrams

    def top_ngram_chars(self, n: int) -> int:
        return self.ngrams.top_chars(n)

    def duplicate_ngram_chars(self, n: int) -> int:
        return self.ngrams.duplicate_chars(n)


class NgramStats:
    """Repetition of word n-grams, for any n, without building n-gram strings.

    Each n-gram is named by the position where it first occurs: `ids[n][p]` is that position
    for the n-gram starting at p. The n-gram at p is the (n-1)-gram at p followed by word
    p+n-1, so its name comes from the pair (name of the (n-1)-gram, name of the word): small
    integer pairs, whatever n is. Only positions whose (n-1)-gram occurred before can start a
    repeated n-gram, so past the first few n the work shrinks to those positions.
    """

    def __init__(self, words: list[str]):
        self.words = words
        self.count = len(words)
        first: dict[str, int] = {}
        self._word_ids = list(map(first.setdefault, words, range(self.count)))
        self._full: dict[int, list[int]] = {1: self._word_ids}
        self._sparse: dict[int, dict[int, int]] = {}
        self._distinct: dict[int, int] = {}
        self._repeats: dict[int, list[int]] = {}
        self._top: dict[int, int] = {}
        self._dup: dict[int, int] = {}

    def _chars(self, pos: int, n: int) -> int:
        """Characters of the n-gram at `pos`, without separators."""
        return sum(map(len, self.words[pos:pos + n]))

    def ids(self, n: int) -> list[int]:
        """First-occurrence position of the n-gram at each position (a full list)."""
        found = self._full.get(n)
        if found is None:
            # the pair (name of the (n-1)-gram, name of the next word) as one integer
            keys = map(add, map(mul, self.ids(n - 1), repeat(self.count)),
                       self._word_ids[n - 1:])
            first: dict[int, int] = {}
            found = self._full[n] = list(map(first.setdefault, keys, range(self.count)))
            self._distinct[n] = len(first)
        return found

    def repeats(self, n: int) -> list[int]:
        """Positions whose n-gram occurred before, ascending."""
        found = self._repeats.get(n)
        if found is None:
            size = self.count - n + 1
            if size <= 1:
                found = []
            elif n == 2 or n in self._full or (
                    n <= 4 and len(self.repeats(n - 1)) * 3 > size):
                # the full table: cheaper than the sparse walk when many positions repeat
                ids = self.ids(n)
                found = ([] if self._distinct[n] == size else
                         list(compress(range(size), map(ne, ids, range(size)))))
            else:
                found = self._sparse_repeats(n)
            self._repeats[n] = found
        return found

    def _sparse_repeats(self, n: int) -> list[int]:
        """Repeats of n-grams from the repeats of (n-1)-grams, touching only those."""
        size = self.count - n + 1
        prev_repeats = [p for p in self.repeats(n - 1) if p < size]
        ids: dict[int, int] = {}
        self._sparse[n] = ids
        if not prev_repeats:
            return []
        prev = self._full[n - 1] if n - 1 in self._full else self._sparse[n - 1]
        words = self._word_ids
        # an earlier copy of a repeated n-gram starts where its (n-1)-gram starts: at that
        # (n-1)-gram's first occurrence or at another repeat of it; a position outside those
        # starts an n-gram seen for the first time
        positions = sorted({*prev_repeats, *(prev[p] for p in prev_repeats)})
        first: dict[int, int] = {}
        count = self.count
        repeats = []
        for p in positions:
            q = ids[p] = first.setdefault(prev[p] * count + words[p + n - 1], p)
            if q != p:
                repeats.append(p)
        return repeats

    def top_chars(self, n: int) -> int:
        """Characters covered by the most frequent n-gram: len(' '.join(gram)) * count.

        Ties go to the n-gram that occurs first; 0 when there are fewer than n words."""
        found = self._top.get(n)
        if found is None:
            if self.count < n:
                found = 0
            elif not self.repeats(n):
                found = self._chars(0, n) + n - 1
            else:
                # copies after the first, per n-gram (named by its first position)
                ids = self._full[n] if n in self._full else self._sparse[n]
                extra = Counter(map(ids.__getitem__, self.repeats(n)))
                most = max(extra.values())
                pos = min(name for name, count in extra.items() if count == most)
                found = (self._chars(pos, n) + n - 1) * (most + 1)
            self._top[n] = found
        return found

    def duplicate_chars(self, n: int) -> int:
        """Characters (without spaces) of n-grams that repeat an earlier one, as Gopher counts.

        Gopher's greedy scan: walk the positions left to right; when the n-gram at a position
        was already seen, count its characters and jump n words ahead (the n-grams jumped
        over are not remembered); otherwise remember it and move one word on. Only positions
        whose n-gram occurred before can count, so this visits just those and replays the
        jumps: the first copy of an n-gram is remembered unless a jump went over it."""
        found = self._dup.get(n)
        if found is not None:
            return found
        repeats = self.repeats(n)
        chars = 0
        if repeats:
            ids = self._full[n] if n in self._full else self._sparse[n]
            hits: list[int] = []
            remembered: set[int] = set()
            i, total = 0, len(repeats)
            while i < total:
                pos = repeats[i]
                name = ids[pos]
                if name in remembered or not _jumped_over(hits, name, n):
                    chars += self._chars(pos, n)
                    hits.append(pos)
                    i = bisect_left(repeats, pos + n, i + 1)
                    continue
                remembered.add(name)
                i += 1
        self._dup[n] = chars
        return chars


def _jumped_over(hits: list[int], pos: int, n: int) -> bool:
    """Whether a jump from an earlier hit (it skips the next n-1 positions) skipped `pos`."""
    i = bisect_left(hits, pos)
    return i > 0 and pos - hits[i - 1] < n


def analysis(doc: Any) -> TextAnalysis:
    """The shared analysis of `doc.text` in the document's `lang`, computed on first use and
    cached on the document."""
    found = doc._analysis
    lang = doc.meta.get("lang")
    if found is None or found.text is not doc.text or found.lang != lang:
        found = doc._analysis = TextAnalysis(doc.text, lang)
    return found


def duplicates(items: list[str]) -> tuple[int, int]:
    """(number of items equal to an earlier one, their total length)."""
    unique = set(items)
    return len(items) - len(unique), sum(map(len, items)) - sum(map(len, unique))
