"""N-gram overlap between evaluation sets and training data (decontamination).

An evaluation document counts as contaminated when any run of `n` consecutive words
(lower-cased, punctuation dropped) also occurs in a training document: the rule
GPT-3, datatrove's decontamination and Dolma's Paloma filter use, with n = 13 by default.
A model that saw an evaluation text in training scores well on it for the wrong reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

WORD = re.compile(r"\w+")


def ngrams(text: str, n: int) -> set[int]:
    """Hashes of the document's word n-grams (a shorter document: of all its words)."""
    words = WORD.findall(text.lower())
    if len(words) < n:
        return {hash(tuple(words))} if words else set()
    return {hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1)}


@dataclass
class Overlap:
    docs: int  # evaluation documents
    contaminated: list[int]  # indices of those sharing an n-gram with the training data

    @property
    def fraction(self) -> float:
        return len(self.contaminated) / max(self.docs, 1)


def overlap(eval_docs: list[str], train_batches: Iterable[list[str]], n: int = 13) -> Overlap:
    """Which evaluation documents share a word n-gram with any training document."""
    owners: dict[int, list[int]] = {}
    for i, text in enumerate(eval_docs):
        for gram in ngrams(text, n):
            owners.setdefault(gram, []).append(i)
    hit: set[int] = set()
    for batch in train_batches:
        for text in batch:
            words = WORD.findall(text.lower())
            for start in range(max(len(words) - n + 1, 1)):
                found = owners.get(hash(tuple(words[start:start + n])))
                if found:
                    hit.update(found)
    return Overlap(len(eval_docs), sorted(hit))
