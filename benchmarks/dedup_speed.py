#!/usr/bin/env python3
"""MinHash signature throughput: gristmill against plain datasketch and plain numpy.

Every variant turns the same raw texts into 112-value signatures over the same shingles
(5-word n-grams of `curation.text.normalize.normalize`d words; datasketch's affine32 scheme):

  gristmill            curation.dedup.minhash.shingle_hashes + signatures, in batches of
                       minhash_dedup.BATCH_DOCS documents (what the step's map side runs)
  datasketch (sha1)    per document: shingles as bytes, MinHash(112).update_batch(shingles)
  datasketch (xxh32)   the same with hashfunc=xxhash.xxh32_intdigest
  numpy (xxh32)        per document: xxh32 of each shingle into an array, then fmix32 and
                       a*h+b on a (num_perm, shingles) array, min per row

Documents are consecutive 900-word windows of the 18 Project Gutenberg books in
/work/shared/data/clean_gutenberg_en (from word 2,000 on, past the license header).
Throughput is documents per CPU second of this single-threaded process (time.process_time),
so it is per core and less sensitive to other jobs on the machine than wall time; the
variants run interleaved, `--repeat` times each, and the median is reported with its ratio
to gristmill. Before timing, gristmill's signatures are checked against
datasketch.MinHash(hashfunc=curation.dedup.minhash.shingle_hash32) on the first documents.

    .venv/bin/python benchmarks/dedup_speed.py [--docs 1500] [--repeat 5] [--profile]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import datasketch
import numpy as np
import xxhash

from curation.dedup import minhash
from curation.steps.minhash_dedup import BATCH_DOCS
from curation.text.normalize import normalize

BOOKS = Path("/work/shared/data/clean_gutenberg_en")
NUM_PERM, SEED, NGRAM = 112, 1, 5


def load_documents(count: int, words: int = 900) -> list[str]:
    """`count` consecutive `words`-word windows, round-robin over the books."""
    books = [p.read_text(encoding="utf-8-sig").split() for p in sorted(BOOKS.glob("*.txt"))]
    docs, start = [], 2000
    while len(docs) < count:
        added = False
        for book in books:
            if start + words <= len(book) and len(docs) < count:
                docs.append(" ".join(book[start:start + words]))
                added = True
        if not added:
            raise SystemExit(f"the books hold fewer than {count} windows of {words} words")
        start += words
    return docs


def shingles(text: str) -> list[bytes]:
    """The shingles every baseline hashes: the same n-grams gristmill hashes."""
    words = normalize(text).split(b" ")
    words = [w for w in words if w]
    k = min(NGRAM, len(words))
    return [b" ".join(words[i:i + k]) for i in range(len(words) - k + 1)] if words else []


def ours(docs: list[str]) -> np.ndarray:
    perms = minhash.permutations(NUM_PERM, SEED)
    out = []
    for low in range(0, len(docs), BATCH_DOCS):
        hashes, counts = minhash.shingle_hashes(docs[low:low + BATCH_DOCS], NGRAM)
        out.append(minhash.signatures(hashes, counts, perms))
    return np.concatenate(out)


def datasketch_sha1(docs: list[str]) -> np.ndarray:
    out = []
    for doc in docs:
        m = datasketch.MinHash(num_perm=NUM_PERM, seed=SEED)
        m.update_batch(shingles(doc))
        out.append(m.hashvalues)
    return np.array(out)


def datasketch_xxh32(docs: list[str]) -> np.ndarray:
    out = []
    for doc in docs:
        m = datasketch.MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest)
        m.update_batch(shingles(doc))
        out.append(m.hashvalues)
    return np.array(out)


def numpy_xxh32(docs: list[str]) -> np.ndarray:
    a, b = minhash.permutations(NUM_PERM, SEED)
    out = np.empty((len(docs), NUM_PERM), dtype=np.uint32)
    for i, doc in enumerate(docs):
        grams = shingles(doc)
        hashes = np.fromiter((xxhash.xxh32_intdigest(s) for s in grams), np.uint32, len(grams))
        out[i] = (a * minhash._fmix32(hashes) + b).min(axis=1) if len(grams) else 0xFFFFFFFF
    return out


VARIANTS: dict[str, Callable[[list[str]], np.ndarray]] = {
    "gristmill": ours, "datasketch (sha1)": datasketch_sha1,
    "datasketch (xxh32)": datasketch_xxh32, "numpy (xxh32)": numpy_xxh32}


def check_parity(docs: list[str]) -> int:
    """gristmill == datasketch with our shingle hash, on every permutation of these docs."""
    theirs = []
    for doc in docs:
        m = datasketch.MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=minhash.shingle_hash32)
        m.update_batch([s.decode() for s in shingles(doc)])
        theirs.append(m.hashvalues)
    assert np.array_equal(ours(docs), np.array(theirs)), "signatures differ from datasketch"
    assert np.array_equal(datasketch_xxh32(docs), numpy_xxh32(docs)), "baselines disagree"
    return len(docs)


def cpu_seconds(function: Callable[[list[str]], np.ndarray], docs: list[str]) -> float:
    start = time.process_time()
    function(docs)
    return time.process_time() - start


def profile(docs: list[str]) -> None:
    """Where gristmill's time goes, per document (CPU microseconds)."""
    parts = {"normalize (hashing.normalize)": 0.0, "word hashes + shingles": 0.0,
             "signatures (permutations + min)": 0.0}
    perms = minhash.permutations(NUM_PERM, SEED)
    for low in range(0, len(docs), BATCH_DOCS):
        batch = docs[low:low + BATCH_DOCS]
        t0 = time.process_time()
        for text in batch:
            normalize(text)
        t1 = time.process_time()
        hashes, counts = minhash.shingle_hashes(batch, NGRAM)
        t2 = time.process_time()
        minhash.signatures(hashes, counts, perms)
        t3 = time.process_time()
        parts["normalize (hashing.normalize)"] += t1 - t0
        parts["word hashes + shingles"] += t2 - t1 - (t1 - t0)  # shingle_hashes normalizes
        parts["signatures (permutations + min)"] += t3 - t2
    print("\n| gristmill stage | CPU us/doc |\n|---|---:|")
    for name, seconds in parts.items():
        print(f"| {name} | {seconds / len(docs) * 1e6:.0f} |")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="also break gristmill down")
    args = parser.parse_args()
    docs = load_documents(args.docs)
    words = statistics.mean(len(d.split()) for d in docs)
    print(f"{len(docs)} documents of {words:.0f} words ({sum(map(len, docs)) / 1e6:.1f} MB), "
          f"num_perm {NUM_PERM}, {NGRAM}-word shingles; {cpu_model()}, "
          f"{os.cpu_count()} cores, numpy {np.__version__}, datasketch {datasketch.__version__}")
    print(f"parity: gristmill == datasketch(hashfunc=shingle_hash32) on "
          f"{check_parity(docs[:20])} documents x {NUM_PERM} permutations")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.repeat):
        for name, function in VARIANTS.items():
            seconds[name].append(cpu_seconds(function, docs))
    print(f"load average after: {os.getloadavg()[0]:.2f}\n")
    rate = {name: len(docs) / statistics.median(s) for name, s in seconds.items()}
    print("| variant | docs/s per core (median) | best | gristmill is |\n|---|---:|---:|---:|")
    for name, value in rate.items():
        best = len(docs) / min(seconds[name])
        ratio = "-" if name == "gristmill" else f"{rate['gristmill'] / value:.1f}x faster"
        print(f"| {name} | {value:,.0f} | {best:,.0f} | {ratio} |")
    if args.profile:
        profile(docs)


if __name__ == "__main__":
    main()
