"""MinHash signatures (curation/dedup/minhash.py): identical to datasketch for the same shingles,
seed and hash function; band keys; the (bands, rows) chosen for a threshold.

Texts are real: paragraphs of English, French, Spanish, Tagalog and Chinese Project
Gutenberg books from /work/shared/data, plus the edge cases (empty, fewer words than the
n-gram, punctuation only, NFKC-sensitive characters).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import datasketch
import numpy as np
import pytest

from curation.dedup import minhash
from curation.text.normalize import normalize
from tests.support.curation import SHARED_DATA

SHARED = SHARED_DATA
BOOKS = {"clean_gutenberg_en": ["dracula.txt", "moby_dick.txt", "alice_in_wonderland.txt"],
         "multilingual_gutenberg": ["du_cote_de_chez_swann.txt", "don_quijote.txt",
                                    "noli_me_tangere.txt", "shen_yin_yu.txt"]}
EDGE_CASES = [
    "", "   \n\t ", "!!! ... ---", "one", "two words", "exactly four words here",
    "exactly five words right here",
    "Ünïcödé CAFÉ naïve — “quoted” «guillemets» \u2018single\u2019",

    "\ufb01ne ligature \uff26\uff35\uff2c\uff2c \uff57\uff49\uff44\uff54\uff48 ① ㎏ Ⅻ roman",
    "日本語のテキスト、句読点。 中文\uff0c标点。",
    "tabs\tand\r\nnewlines\x0bvertical\x0cfeed mixed     spaces", "emoji 🙂 🚀 in text 👍🏽 ok",
    "a " * 3000,  # one long document: spans many blocks
]


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> list[str]:
    """Paragraphs from copies of real books (40 per book, 30+ words), then the edge cases."""
    if not SHARED.is_dir():
        pytest.skip("needs /work/shared/data (Project Gutenberg books)")
    root = tmp_path_factory.mktemp("books")
    out = []
    for folder, names in BOOKS.items():
        for name in names:
            copy = shutil.copy(SHARED / folder / name, root / name)
            text = Path(copy).read_text(encoding="utf-8-sig")
            paragraphs = [p for p in re.split(r"\r?\n\s*\r?\n", text) if len(p.split()) >= 30
                          or (name == "shen_yin_yu.txt" and len(p) > 40)]
            out += paragraphs[20:60]
    return out + EDGE_CASES


def normalized_words(text: str) -> list[str]:
    """The words our shingles are made of: normalized UTF-8 split on single spaces."""
    return [w.decode("utf-8", "surrogatepass") for w in normalize(text).split(b" ") if w]


def reference_shingles(text: str, ngram: int) -> list[str]:
    words = normalized_words(text)
    k = min(ngram, len(words))
    return [" ".join(words[i:i + k]) for i in range(len(words) - k + 1)] if words else []


def datasketch_signature(text: str, ngram: int, num_perm: int, seed: int) -> np.ndarray:
    m = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=minhash.shingle_hash32)
    m.update_batch(reference_shingles(text, ngram))
    return m.hashvalues


def test_texts_cover_what_parity_needs(texts):
    assert len(texts) == 7 * 40 + len(EDGE_CASES)
    assert sum(not t.isascii() for t in texts) > 150
    assert sum(len(normalized_words(t)) < 5 for t in texts) == 7  # short and empty texts
    assert max(len(normalized_words(t)) for t in texts) == 3000


@pytest.mark.parametrize("ngram", [1, 3, 5, 9])
def test_shingle_hashes_equal_the_scalar_reference(texts, ngram):
    hashes, counts = minhash.shingle_hashes(texts, ngram)
    expected = [minhash.shingle_hash32(s) for t in texts for s in reference_shingles(t, ngram)]
    assert counts.tolist() == [len(reference_shingles(t, ngram)) for t in texts]
    assert hashes.dtype == np.uint32
    assert hashes.tolist() == expected


@pytest.mark.parametrize(("ngram", "num_perm", "seed", "block"), [
    (5, 112, 1, minhash.BLOCK), (5, 112, 1, 97), (3, 64, 7, 1000), (1, 128, 42, 5),
    (9, 32, 0, 333), (2, 256, 123456, 65536)])
def test_signatures_equal_datasketch(texts, ngram, num_perm, seed, block):
    """Every text, every permutation, whatever the block size (documents span blocks)."""
    hashes, counts = minhash.shingle_hashes(texts, ngram)
    ours = minhash.signatures(hashes, counts, minhash.permutations(num_perm, seed), block=block)
    theirs = np.array([datasketch_signature(t, ngram, num_perm, seed) for t in texts])
    assert ours.shape == (len(texts), num_perm) and ours.dtype == np.uint32
    assert np.array_equal(ours, theirs)
    assert (ours[counts == 0] == 0xFFFFFFFF).all()  # datasketch's empty MinHash
    assert (counts == 0).sum() == 3


def test_batches_do_not_change_a_signature(texts):
    """A document's signature is the same alone, in any batch, at any position."""
    perms = minhash.permutations(112, 1)
    whole = minhash.signatures(*minhash.shingle_hashes(texts, 5), perms)
    rng = np.random.default_rng(5)
    order = rng.permutation(len(texts))
    for batch in np.array_split(order, 17):
        part = minhash.signatures(*minhash.shingle_hashes([texts[i] for i in batch], 5), perms,
                                  block=int(rng.integers(50, 5000)))
        assert np.array_equal(part, whole[batch])


def test_permutations_are_datasketchs():
    a, b = minhash.permutations(112, 1)
    m = datasketch.MinHash(num_perm=112, seed=1)
    assert np.array_equal(a.ravel(), m.permutations[0]) and np.array_equal(b.ravel(),
                                                                            m.permutations[1])


def test_estimated_jaccard_tracks_the_true_jaccard(texts):
    """Mean absolute error of the 112-permutation estimate over 300 pairs with true
    Jaccard spread over 0..1 (a text against a shifted, truncated copy of itself)."""
    rng = np.random.default_rng(11)
    long_texts = [t for t in texts if len(normalized_words(t)) >= 40]
    pairs = []
    for text in long_texts:
        words = normalized_words(text)
        cut = int(rng.integers(0, len(words) // 2))
        pairs.append((" ".join(words), " ".join(words[cut:])))
    flat = [t for pair in pairs for t in pair]
    sigs = minhash.signatures(*minhash.shingle_hashes(flat, 5), minhash.permutations(112, 1))
    estimated = (sigs[0::2] == sigs[1::2]).mean(axis=1)
    true = np.array([len(set(reference_shingles(a, 5)) & set(reference_shingles(b, 5)))
                     / len(set(reference_shingles(a, 5)) | set(reference_shingles(b, 5)))
                     for a, b in pairs])
    assert len(pairs) == 213
    assert true.min() < 0.6 and true.max() == 1.0
    assert abs(estimated - true).mean() < 0.035
    assert abs(estimated - true).max() < 0.2  # 3.2 sigma at J = 0.5 with 112 values


def test_band_keys_are_equal_exactly_when_band_rows_are():
    """Values drawn from {0, 1, 2} so that many bands agree and many differ by one row."""
    rng = np.random.default_rng(3)
    sigs = rng.integers(0, 3, size=(400, 24), dtype=np.uint32)
    sigs[200:300] = sigs[0:100]  # whole copies
    keys = minhash.band_keys(sigs, bands=6, rows=4)
    assert keys.shape == (6, 400) and keys.dtype == np.uint64
    rows = sigs.reshape(400, 6, 4).transpose(1, 0, 2)  # (band, doc, row)
    for band in range(6):
        same_key = keys[band][:, None] == keys[band][None, :]
        same_rows = (rows[band][:, None, :] == rows[band][None, :, :]).all(axis=2)
        assert np.array_equal(same_key, same_rows)
        assert same_rows.sum() > 400 + 2 * 100  # both outcomes are well represented
    for band in range(6):  # 3^4 = 81 possible rows per band: most drawn, no key collisions
        assert len(np.unique(keys[band])) == len(np.unique(rows[band], axis=0)) >= 75


def test_band_keys_see_row_order_and_ignore_unused_permutations():
    sig = np.arange(1, 11, dtype=np.uint32)[None, :]
    swapped = sig[:, [1, 0, 2, 3, 4, 5, 6, 7, 8, 9]]
    tail_changed = sig.copy()
    tail_changed[0, 9] = 99  # beyond bands x rows = 9
    key = minhash.band_keys(sig, 3, 3)
    assert minhash.band_keys(swapped, 3, 3)[0, 0] != key[0, 0]
    assert np.array_equal(minhash.band_keys(swapped, 3, 3)[1:], key[1:])
    assert np.array_equal(minhash.band_keys(tail_changed, 3, 3), key)


def test_collision_probability_of_the_default_14_by_8():
    p = {s: minhash.collision_probability(s, 14, 8) for s in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9)}
    assert p == pytest.approx({0.3: 0.00092, 0.5: 0.0533, 0.6: 0.2111, 0.7: 0.5645,
                               0.8: 0.9235, 0.9: 0.99960}, abs=5e-5)


@pytest.mark.parametrize(("threshold", "num_perm", "expected", "curve"), [
    (0.8, 112, (13, 8), {0.5: 0.0496, 0.7: 0.5379, 0.8: 0.9081, 0.9: 0.9993}),
    (0.7, 112, (13, 5), {0.5: 0.3382, 0.6: 0.6509, 0.7: 0.9086, 0.8: 0.9943}),
    (0.9, 112, (8, 13), {0.7: 0.0749, 0.8: 0.3639, 0.9: 0.9043}),
    (0.8, 256, (21, 10), {0.5: 0.0203, 0.7: 0.4521, 0.8: 0.9079}),
    (0.5, 64, (18, 3), {0.3: 0.3890, 0.5: 0.9096}),
])
def test_bands_for_threshold_finds_pairs_at_the_threshold(threshold, num_perm, expected, curve):
    """At least 90% of pairs at the threshold become candidates, with the fewest pairs
    below it; e.g. 0.8 with 112 permutations: P(0.8) = 0.91, P(0.5) = 0.05."""
    bands, rows = minhash.bands_for_threshold(threshold, num_perm)
    assert (bands, rows) == expected
    assert bands * rows <= num_perm
    got = {s: minhash.collision_probability(s, bands, rows) for s in curve}
    assert got == pytest.approx(curve, abs=5e-5)
    assert got[threshold] >= 0.9


def test_bands_for_threshold_falls_back_to_the_best_recall():
    """Two permutations cannot find 90% of pairs at 0.5 (2 x 1 finds 75%): the choice
    with the best recall at the threshold wins."""
    assert minhash.bands_for_threshold(0.5, 2) == (2, 1)
    assert minhash.bands_for_threshold(0.95, 4) == (1, 2)  # 90.25% with 2 of 4 permutations
