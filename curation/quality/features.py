"""Hashed word n-grams: the features of the quality classifier (the fastText/DCLM recipe,
with a linear model on top).

A text is split into tokens: runs of word characters, and each other non-space character
on its own (so "|", "©" and "»" of menus and footers are features too). Word n-grams use
the lower-cased tokens. Optional shape n-grams (`shape_ngrams`) use each token's shape
instead: a function word (`FUNCTION_WORDS`) or a punctuation mark stays itself, any other
word becomes its class (`<w>` lower case, `<W>` capitalized, `<WW>` all capitals, `<d>`
digits, `<x>` mixed), so "of the <w> <w> ." describes sentence structure whatever the topic:
a model trained on one kind of prose then carries over to another.

Every token is hashed with BLAKE2b (`gristmill.hashing.hash64`, stable across runs, machines
and Python versions; each distinct token once per process), n-grams combine their tokens'
hashes with a 64-bit mixing function in numpy, and each n-gram lands in one of `buckets`
slots. A document's vector is 1 + log(count) per slot, scaled to unit length, so long and
short documents are comparable.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from itertools import repeat
from typing import Any

import numpy as np

from gristmill.hashing import hash64

TOKEN = re.compile(r"\w+|[^\w\s]")
_SALT = "gm-quality"
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_ORDER = [np.uint64(0x9E3779B97F4A7C15 * n % 2**64) for n in range(17)]
_CACHE_LIMIT = 1 << 21
# The most frequent English words (closed-class and very common ones), kept as themselves in
# shape n-grams. Part of a model's feature settings: changing it changes the features.
_FUNCTION_WORDS = (
    "a about above after again against all also although am an and another any are as at be "
    "because been before being below between both but by can could did do does doing down "
    "during each either even ever every few for from further had has have having he her here "
    "hers herself him himself his how however i if in into is it its itself just least less "
    "let like many may me might more most much must my myself neither no nor not now of off "
    "often on once one only or other our ours ourselves out over own per perhaps quite rather "
    "same shall she should since so some such than that the their theirs them themselves then "
    "there these they this those though through thus to too two under until up upon us very "
    "was we were what whatever when where whether which while who whom whose why will with "
    "within without would yet you your yours yourself yourselves said says say new first last "
    "time people way day man made make world year years good great little old well")
FUNCTION_WORDS = tuple(sorted(set(_FUNCTION_WORDS.split())))


def _ngrams(unigrams: np.ndarray, orders: int, salt: int) -> list[np.ndarray]:
    """Hashes of the n-grams of orders 1..`orders` of a sequence of token hashes."""
    with np.errstate(over="ignore"):
        parts, current = [_mix(unigrams ^ _ORDER[salt + 1])], unigrams
        for n in range(2, orders + 1):
            if len(unigrams) < n:
                break
            current = _mix(current[:-1] * _ORDER[salt + n] + unigrams[n - 1:])
            parts.append(current)
    return parts


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every input bit affects every output bit."""
    h = (h ^ (h >> np.uint64(30))) * _M1
    h = (h ^ (h >> np.uint64(27))) * _M2
    return h ^ (h >> np.uint64(31))


@dataclass(frozen=True)
class FeatureConfig:
    """How text becomes a vector; stored with a model so scoring matches training."""

    ngrams: int = 2
    buckets: int = 1 << 18
    max_chars: int = 100_000
    shape_ngrams: int = 0
    function_words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.ngrams <= 8:
            raise ValueError(f"ngrams must be 1..8, got {self.ngrams}")
        if not 16 <= self.buckets <= 1 << 26:
            raise ValueError(f"buckets must be 16..2**26, got {self.buckets}")
        if self.max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {self.max_chars}")
        if not 0 <= self.shape_ngrams <= 8:
            raise ValueError(f"shape_ngrams must be 0..8, got {self.shape_ngrams}")
        object.__setattr__(self, "function_words", tuple(self.function_words) or (
            FUNCTION_WORDS if self.shape_ngrams else ()))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "function_words": list(self.function_words)}


def shape(token: str, function_words: frozenset[str]) -> str:
    """A token's stand-in for shape n-grams (see the module docstring)."""
    lower = token.lower()
    if lower in function_words or (len(token) == 1 and not token.isalnum()):
        return lower
    if token.isdigit():
        return "<d>"
    if token.isalpha():
        if token.islower():
            return "<w>"
        if token.isupper():
            return "<WW>" if len(token) > 1 else "<W>"
        return "<W>" if token[0].isupper() and token[1:].islower() else "<x>"
    return "<x>"


class Featurizer:
    """Text -> (bucket indices, values) of a unit-length hashed n-gram vector."""

    def __init__(self, config: FeatureConfig):
        self.config = config
        self._function_words = frozenset(config.function_words)
        self._reset()

    def _reset(self) -> None:
        """Token -> small id; the ids index tables of word and shape hashes."""
        self._ids: dict[str, int] = {}
        self._word_table = np.zeros(1024, np.uint64)
        self._shape_table = np.zeros(1024, np.uint64)

    def _add(self, tokens: list[str]) -> None:
        """Give ids to the tokens that have none (all of a text's tokens after a reset)."""
        ids = self._ids
        new = [t for t in dict.fromkeys(tokens) if t not in ids]
        if len(ids) + len(new) > _CACHE_LIMIT:
            self._reset()
            ids, new = self._ids, list(dict.fromkeys(tokens))
        start, end = len(ids), len(ids) + len(new)
        if end > len(self._word_table):
            size = max(end, 2 * len(self._word_table))
            self._word_table = np.resize(self._word_table, size)
            self._shape_table = np.resize(self._shape_table, size)
        shapes = self.config.shape_ngrams > 0
        for i, token in enumerate(new, start):
            ids[token] = i
            self._word_table[i] = hash64(token.lower(), _SALT)
            if shapes:
                self._shape_table[i] = hash64(shape(token, self._function_words), _SALT + "s")

    def token_hashes(self, text: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Per token: the hash of the lower-cased word, and (with shape_ngrams) of its shape."""
        tokens = TOKEN.findall(text[:self.config.max_chars])
        index = np.fromiter(map(self._ids.get, tokens, repeat(-1)), np.int64, len(tokens))
        if len(index) and index.min() < 0:  # tokens not seen before in this process
            self._add(tokens)
            index = np.fromiter(map(self._ids.__getitem__, tokens), np.int64, len(tokens))
        words = self._word_table[index]
        return words, self._shape_table[index] if self.config.shape_ngrams else None

    def ngram_hashes(self, text: str) -> np.ndarray:
        """One 64-bit hash per word n-gram (orders 1..ngrams) and shape n-gram."""
        words, shapes = self.token_hashes(text)
        parts = _ngrams(words, self.config.ngrams, 0)
        if shapes is not None:
            parts += _ngrams(shapes, self.config.shape_ngrams, 8)
        return np.concatenate(parts)

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Sorted bucket indices (int64) and their values (float32), unit L2 norm."""
        hashes = self.ngram_hashes(text)
        if len(hashes) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        buckets = (hashes % np.uint64(self.config.buckets)).astype(np.int64)
        index, counts = np.unique(buckets, return_counts=True)
        values = 1.0 + np.log(counts)
        values /= np.sqrt(np.dot(values, values))
        return index, values.astype(np.float32)
