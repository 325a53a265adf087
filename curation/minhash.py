"""MinHash signatures, numerically identical to `datasketch.MinHash` (scheme "affine32").

datasketch hashes each shingle with `hashfunc` to 32 bits, pre-mixes it with the
MurmurHash3 finalizer, and applies `a_k * h + b_k mod 2^32` per permutation, keeping
the minimum. We do the same with whole-document numpy arrays instead of one Python call
per shingle. The shingle hash is ours (`shingle_hash32` is its scalar reference, which
`datasketch.MinHash(hashfunc=...)` accepts): words are hashed from the normalized UTF-8
bytes with prefix sums, and n consecutive word hashes are combined and mixed to 32 bits.
"""

from __future__ import annotations

import math

import numpy as np

from curation.hashing import normalize

_SPACE = 32
_U32, _U64 = np.uint32, np.uint64
_BYTE_BASE = 0x100000001B3  # odd, so it has an inverse mod 2^64
_BYTE_BASE_INV = pow(_BYTE_BASE, -1, 1 << 64)
_WORD_MULT = [pow(0x9E3779B97F4A7C15, k + 1, 1 << 64) for k in range(64)]
class _Powers:
    """BYTE_BASE^i and its inverse powers mod 2^64, grown on demand and shared."""

    def __init__(self) -> None:
        self.up = np.ones(1, dtype=_U64)
        self.down = np.ones(1, dtype=_U64)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.up) < n:
            size = max(n, 2 * len(self.up), 1 << 16)
            self.up = self._series(_BYTE_BASE, size)
            self.down = self._series(_BYTE_BASE_INV, size)
        return self.up[:n], self.down[:n]

    @staticmethod
    def _series(base: int, size: int) -> np.ndarray:
        """1, base, base^2, ... mod 2^64 (numpy's uint64 overflow is the modulo)."""
        with np.errstate(over="ignore"):
            return np.concatenate(([_U64(1)], np.cumprod(np.full(size - 1, base, dtype=_U64))))


_POWERS = _Powers()


def word_hashes(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Each space-separated word's byte offset and 64-bit polynomial hash
    (sum of byte_i * BASE^i mod 2^64), for a whole batch of documents at once."""
    raw = np.frombuffer(data, dtype=np.uint8)
    padded = np.zeros(len(raw) + 2, dtype=np.int8)
    padded[1:-1] = raw != _SPACE
    edges = np.diff(padded)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    up, down = _POWERS.get(len(raw) + 1)
    with np.errstate(over="ignore"):
        prefix = np.zeros(len(raw) + 1, dtype=_U64)
        np.cumsum(raw * up[:len(raw)], out=prefix[1:])
        return starts, (prefix[ends] - prefix[starts]) * down[starts]


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> _U64(33))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before the permutations."""
    h = h ^ (h >> _U32(16))
    h = h * _U32(0x85EBCA6B)
    h = h ^ (h >> _U32(13))
    h = h * _U32(0xC2B2AE35)
    return h ^ (h >> _U32(16))


def shingle_hashes(texts: list[str], ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every word n-gram of each text, concatenated, and each text's count.

    A text with fewer than `ngram` words is one shingle of all its words; an empty one has
    none. The batch is hashed in one pass so numpy's per-call cost is paid once.
    """
    parts = [normalize(t) for t in texts]
    offsets = np.cumsum([0] + [len(p) + 1 for p in parts])
    starts, words = word_hashes(b" ".join(parts))
    doc_of_word = np.searchsorted(offsets, starts, side="right") - 1
    n_words = np.bincount(doc_of_word, minlength=len(texts))
    first_word = np.concatenate(([0], np.cumsum(n_words)[:-1]))
    k = np.minimum(n_words, ngram)
    counts = np.where(n_words > 0, n_words - k + 1, 0)
    with np.errstate(over="ignore"):
        combined = _combine(words, ngram)
        short = np.flatnonzero((n_words > 0) & (n_words < ngram))
        shingle_start = np.repeat(first_word, counts) + _ranks(counts)
        hashes = combined[np.minimum(shingle_start, max(len(combined) - 1, 0))] \
            if len(combined) else np.zeros(len(shingle_start), dtype=_U64)
        for doc in short:  # whole-text shingle of a short document
            position = np.searchsorted(shingle_start, first_word[doc])
            hashes[position] = _combine(words[first_word[doc]:first_word[doc] + n_words[doc]],
                                        int(n_words[doc]))[0]
        return (_fmix64(hashes) >> _U64(32)).astype(_U32), counts


def _combine(words: np.ndarray, ngram: int) -> np.ndarray:
    """sum_j words[i + j] * MULT_j for every full window of `ngram` words."""
    count = len(words) - ngram + 1
    if count <= 0:
        return np.empty(0, dtype=_U64)
    combined = words[:count] * _U64(_WORD_MULT[0])
    for j in range(1, ngram):
        combined += words[j:j + count] * _U64(_WORD_MULT[j])
    return combined


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def shingle_hash32(shingle: str) -> int:
    """Scalar reference of one shingle's hash (words joined by single spaces), for tests
    and for `datasketch.MinHash(hashfunc=shingle_hash32)`."""
    mask = (1 << 64) - 1
    combined = 0
    for j, word in enumerate(normalize(shingle).split()):
        h = sum(byte * pow(_BYTE_BASE, i, 1 << 64) for i, byte in enumerate(word)) & mask
        combined = (combined + h * _WORD_MULT[j]) & mask
    return int(_fmix64(np.array([combined], dtype=_U64))[0] >> _U64(32))


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of datasketch's affine32 scheme for this seed, shaped for broadcasting."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=_U32) * _U32(2) + _U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=_U32)
    return a[:, None], b[:, None]


def signatures(hashes: np.ndarray, counts: np.ndarray, perms: tuple[np.ndarray, np.ndarray],
               block: int = 16384) -> np.ndarray:
    """One signature per document (rows), from its shingle hashes; min over shingles of
    a_k * fmix32(h) + b_k (mod 2^32), and all 0xFFFFFFFF for a document without shingles.

    Shingles are processed in blocks so memory stays at num_perm x block values however
    long a document is.
    """
    a, b = perms
    out = np.full((len(counts), len(a)), 0xFFFFFFFF, dtype=_U32)
    doc_of = np.repeat(np.arange(len(counts)), counts)
    mixed = _fmix32(hashes)
    for low in range(0, len(mixed), block):
        high = min(low + block, len(mixed))
        values = np.multiply(a, mixed[low:high])  # (num_perm, block): rows reduce contiguously
        values += b
        docs = doc_of[low:high]
        cuts = np.flatnonzero(np.diff(docs, prepend=-1))
        mins = np.minimum.reduceat(values, cuts, axis=1).T
        np.minimum(out[docs[cuts]], mins, out=mins)
        out[docs[cuts]] = mins
    return out


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (band, document): shape (bands, n). Equal band rows -> equal key."""
    n = len(signatures)
    grouped = signatures[:, :bands * rows].reshape(n, bands, rows).astype(_U64)
    with np.errstate(over="ignore"):
        keys = np.zeros((n, bands), dtype=_U64)
        for r in range(rows):
            keys = _fmix64(keys ^ (grouped[:, :, r] * _U64(_WORD_MULT[r])))
    return np.ascontiguousarray(keys.T)


def collision_probability(similarity: float, bands: int, rows: int) -> float:
    """P(two documents with this Jaccard share at least one band) = 1 - (1 - s^r)^b."""
    return 1 - (1 - similarity ** rows) ** bands


def bands_for_threshold(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives + false negatives around `threshold`
    (the datasketch/text-dedup method: integrate the S-curve on each side)."""
    best, best_error = (1, num_perm), math.inf
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = _integrate(lambda s, b=bands, r=rows: collision_probability(s, b, r),
                            0.0, threshold)
            fn = _integrate(lambda s, b=bands, r=rows: 1 - collision_probability(s, b, r),
                            threshold, 1.0)
            if fp + fn < best_error:
                best, best_error = (bands, rows), fp + fn
    return best


def _integrate(f, low: float, high: float, steps: int = 200) -> float:
    width = (high - low) / steps
    return sum(f(low + (i + 0.5) * width) for i in range(steps)) * width
