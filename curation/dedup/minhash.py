"""MinHash signatures, numerically identical to `datasketch.MinHash` (scheme "affine32").

datasketch hashes each shingle with `hashfunc` to 32 bits, pre-mixes it with the
MurmurHash3 finalizer, and applies `a_k * h + b_k mod 2^32` per permutation, keeping
the minimum. We do the same with whole-document numpy arrays instead of one Python call
per shingle. The shingle hash is ours (`shingle_hash32` is its scalar reference, which
`datasketch.MinHash(hashfunc=...)` accepts): words are hashed from the normalized UTF-8
bytes with prefix sums, and n consecutive word hashes are combined and mixed to 32 bits.
"""

from __future__ import annotations

import numpy as np

from curation.text.normalize import normalize

_SPACE = 32
_U32, _U64 = np.uint32, np.uint64
_BYTE_BASE = 0x100000001B3  # odd, so it has an inverse mod 2^64
_BYTE_BASE_INV = pow(_BYTE_BASE, -1, 1 << 64)
_WORD_MULT = [pow(0x9E3779B97F4A7C15, k + 1, 1 << 64) for k in range(64)]
BLOCK = 4096  # shingles per signature block: 112 x 4096 x 4 bytes = 1.8 MiB
RECALL_AT_THRESHOLD = 0.9  # bands_for_threshold: P(candidate) for a pair at the threshold
_CURVE_STEPS = 200


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
    (sum of byte_i * BASE^i mod 2^64), for a whole batch of documents at once.

    Word edges come from one boolean comparison of neighbours (starts and ends alternate),
    and the prefix sums are computed in place: each extra pass over the bytes costs about
    as much as hashing a shingle, so there are as few as numpy allows."""
    raw = np.frombuffer(data, dtype=np.uint8)
    n = len(raw)
    in_word = raw != _SPACE
    edge = np.empty(n + 1, dtype=bool)
    edge[0], edge[n] = (in_word[0], in_word[-1]) if n else (False, False)
    np.not_equal(in_word[1:], in_word[:-1], out=edge[1:n])
    bounds = np.flatnonzero(edge)
    starts, ends = bounds[0::2], bounds[1::2]
    up, down = _POWERS.get(n + 1)
    prefix = np.empty(n + 1, dtype=_U64)
    prefix[0] = 0
    with np.errstate(over="ignore"):
        np.multiply(up[:n], raw, out=prefix[1:])
        np.cumsum(prefix[1:], out=prefix[1:])
        hashes = prefix[ends]
        hashes -= prefix[starts]
        hashes *= down[starts]
    return starts, hashes


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
    first_word = np.searchsorted(starts, offsets[:-1])  # one lookup per document, not word
    n_words = np.diff(np.append(first_word, len(starts)))
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
    and for `datasketch.MinHash(hashfunc=shingle_hash32)`: plain integers, no numpy."""
    mask = (1 << 64) - 1
    combined = 0
    for j, word in enumerate(normalize(shingle).split()):
        h = 0
        for byte in reversed(word):  # Horner: sum of byte_i * BASE^i
            h = (h * _BYTE_BASE + byte) & mask
        combined = (combined + h * _WORD_MULT[j]) & mask
    return _fmix64_int(combined) >> 32


def _fmix64_int(h: int) -> int:
    """`_fmix64` on one Python integer."""
    mask = (1 << 64) - 1
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & mask
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & mask
    return h ^ (h >> 33)


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of datasketch's affine32 scheme for this seed, shaped for broadcasting."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=_U32) * _U32(2) + _U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=_U32)
    return a[:, None], b[:, None]


def signatures(hashes: np.ndarray, counts: np.ndarray, perms: tuple[np.ndarray, np.ndarray],
               block: int = BLOCK) -> np.ndarray:
    """One signature per document (rows), from its shingle hashes; min over shingles of
    a_k * fmix32(h) + b_k (mod 2^32), and all 0xFFFFFFFF for a document without shingles.

    Shingles are processed in blocks into one reused (num_perm x block) buffer: it stays in
    the CPU cache, and a fresh array per block would cost a page fault per 4 KiB (together
    about half the time). A document may span blocks; its partial minima are merged.
    """
    a, b = perms
    out = np.full((len(counts), len(a)), 0xFFFFFFFF, dtype=_U32)
    doc_of = np.repeat(np.arange(len(counts)), counts)
    mixed = _fmix32(hashes)
    width = min(block, len(mixed))
    scratch = np.empty((len(a), width), dtype=_U32)
    # b spread over the block's shape: numpy adds a (k, 1) column about half as fast
    b_block = np.ascontiguousarray(np.broadcast_to(b, (len(b), width)))
    for low in range(0, len(mixed), block):
        high = min(low + block, len(mixed))
        values = scratch[:, :high - low]  # rows reduce contiguously
        np.multiply(a, mixed[low:high], out=values)
        np.add(values, b_block[:, :high - low], out=values)
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


def bands_for_threshold(threshold: float, num_perm: int,
                        recall: float = RECALL_AT_THRESHOLD) -> tuple[int, int]:
    """(bands, rows) with bands x rows <= num_perm that find a pair of Jaccard `threshold`
    with probability >= `recall` and, among those, the fewest false positives (the area
    under the S-curve below the threshold); the best recall if none reaches it.

    datasketch and text-dedup balance the areas on both sides instead, which puts the
    S-curve's midpoint at the threshold: half the pairs at exactly 0.8 would be missed for
    threshold 0.8. Users read a threshold as "pairs this similar are found"; candidates
    below it are what `verify` removes. All (bands, rows) are scored in one numpy pass.
    """
    grid = np.array([(b, r) for r in range(1, num_perm + 1)
                     for b in range(1, num_perm // r + 1)])
    bands, rows = grid[:, 0], grid[:, 1]
    below = (np.arange(_CURVE_STEPS) + 0.5) / _CURVE_STEPS * threshold  # midpoint rule
    false_positives = (1 - (1 - below[:, None] ** rows) ** bands).mean(axis=0) * threshold
    at_threshold = 1 - (1 - threshold ** rows) ** bands
    ok = np.flatnonzero(at_threshold >= recall)
    if len(ok) == 0:
        best = int(np.argmax(at_threshold))
    else:
        best = int(ok[np.lexsort((bands[ok] * rows[ok], false_positives[ok]))[0]])
    return int(bands[best]), int(rows[best])
