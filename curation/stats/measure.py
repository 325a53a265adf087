"""Per-document lengths of a batch of texts, computed on the Arrow buffers with numpy.

No Python loop over documents. Bytes come from the offsets and characters from Arrow's
`utf8_length`. Words and lines come from one pass over the UTF-8 bytes in cache-sized
chunks: each chunk becomes two bit masks (word starts, newlines), packed 8 to a byte; a
running popcount of the packed masks then gives the count between any two byte positions,
so a document's words are `prefix(end) - prefix(start)`.

Definitions:
- bytes: UTF-8 bytes of the text;
- chars: Unicode code points, `len(text)`;
- words: maximal runs of characters other than whitespace, where whitespace is every byte
  0x00-0x20 (ASCII space, tab, newlines and the other control characters) and U+0085,
  U+00A0 (no-break space). This is `len(text.split())`, which the `length` step records
  as `n_words`, for all text except that containing control characters 0x00-0x08 or
  0x0E-0x1B (Python keeps them inside words) or the rare Unicode spaces U+1680,
  U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 (Python splits on them). Checking
  for those cost about 60% of a plain scan of the text, and they barely move a word count;
- lines: `text.count("\n")`, plus one when the text is not empty and does not end with
  a newline (so "a\nb" has 2 lines, "a\n" has 1, "" has 0).
A null text counts as an empty one (and `nulls` says how many there were).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CHUNK = 1 << 18  # bytes per step: a multiple of 8, small enough to stay in cache


@dataclass
class Lengths:
    """One entry per document."""

    bytes: np.ndarray
    chars: np.ndarray
    words: np.ndarray
    lines: np.ndarray
    nulls: int


def measure(texts: pa.Array | pa.ChunkedArray) -> Lengths:
    """Bytes, characters, words and lines of every text in an Arrow string array."""
    if isinstance(texts, pa.ChunkedArray):
        parts = [measure(chunk) for chunk in texts.chunks]
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return Lengths(empty, empty, empty, empty, 0)
        return Lengths(*(np.concatenate([getattr(p, f) for p in parts])
                         for f in ("bytes", "chars", "words", "lines")),
                       nulls=sum(p.nulls for p in parts))
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.large_string())
    nulls = texts.null_count
    offsets, data = _buffers(texts)
    starts = (offsets - offsets[0]).astype(np.int64)
    sizes = np.diff(starts)
    null = _nulls(texts) if nulls else None
    if null is not None and sizes[null].any():  # a null slot may still span bytes: skip them
        texts = pc.if_else(texts.is_null(), pa.array([""] * len(texts), texts.type), texts)
        offsets, data = _buffers(texts)
        starts = (offsets - offsets[0]).astype(np.int64)
        sizes = np.diff(starts)
    chars = np.nan_to_num(numbers(pc.utf8_length(texts))).astype(np.int64)
    word_bits, newline_bits = _scan(data, starts[:-1][sizes > 0])
    words = np.diff(_prefix_counts(word_bits, starts))
    lines = np.diff(_prefix_counts(newline_bits, starts))
    if len(data):
        nonempty = sizes > 0
        lines[nonempty] += data[starts[1:][nonempty] - 1] != 10
    return Lengths(sizes, chars, words, lines, nulls)


_NUMPY_TYPES = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32,
                pa.int64(): np.int64, pa.uint8(): np.uint8, pa.uint16(): np.uint16,
                pa.uint32(): np.uint32, pa.uint64(): np.uint64, pa.float16(): np.float16,
                pa.float32(): np.float32, pa.float64(): np.float64}


def numbers(array: pa.Array) -> np.ndarray:
    """A numeric or boolean Arrow array as numpy, nulls as NaN (the result is then float).

    Reads the buffers directly. pyarrow's `to_numpy`, like `pa.array`, `pa.scalar` and any
    compute call given a Python scalar, imports pandas on first use: a noticeable cost in
    every worker process, more than a second of scanning. The statistics avoid them."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_boolean(array.type):
        array = array.cast(pa.int8())
    kind = _NUMPY_TYPES.get(array.type)
    if kind is None:
        array, kind = array.cast(pa.float64()), np.float64
    start, end = array.offset, array.offset + len(array)
    values = np.frombuffer(array.buffers()[1], dtype=kind)[start:end] if len(array) else \
        np.zeros(0, dtype=kind)
    if not array.null_count:
        return values
    values = values.astype(np.float64)
    values[_nulls(array)] = np.nan
    return values


def _nulls(array: pa.Array) -> np.ndarray:
    """True where the array is null (from the validity bitmap)."""
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    return ~np.unpackbits(bits, bitorder="little")[array.offset:array.offset + len(array)
                                                     ].astype(bool)


def bools(mask: np.ndarray) -> pa.Array:
    """A numpy bool mask as an Arrow boolean array (without pa.array: see `numbers`)."""
    packed = np.packbits(mask, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(packed)])


def _buffers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (one more than rows) and the UTF-8 bytes they point into."""
    _, offset_buf, data_buf = texts.buffers()
    kind = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    offsets = np.frombuffer(offset_buf, dtype=kind)[texts.offset:texts.offset + len(texts) + 1]
    if data_buf is None or len(texts) == 0:
        return offsets, np.zeros(0, dtype=np.uint8)
    data = np.frombuffer(data_buf, dtype=np.uint8)[int(offsets[0]):int(offsets[-1])]
    return offsets, data


def _scan(data: np.ndarray, doc_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Packed bit masks over the bytes, padded to whole 64-bit words plus one: word starts
    (a non-space byte that follows a space byte or starts a text) and newlines.

    Chunk by chunk, so that the masks stay in cache. Bytes <= 32 are spaces; the bytes of
    U+0085 and U+00A0 are found on the way and the word starts around them fixed after."""
    n = len(data)
    packed = ((n + 7) // 8 + 8) // 8 * 8
    word_bits = np.zeros(packed, dtype=np.uint8)
    newline_bits = np.zeros(packed, dtype=np.uint8)
    size = min(CHUNK, max(n, 8))
    space = np.ones(size + 1, dtype=bool)  # space[0]: the byte before the chunk
    flag = np.empty(size, dtype=bool)
    leads = []
    for low in range(0, n, size):
        chunk = data[low:low + size]
        m = len(chunk)
        here, flag_m = space[1:m + 1], flag[:m]
        np.less_equal(chunk, 32, out=here)
        np.greater(space[:m], here, out=flag_m)  # a space before, not one here
        first = doc_starts[np.searchsorted(doc_starts, low):np.searchsorted(doc_starts, low + m)]
        flag_m[first - low] = ~here[first - low]
        word_bits[low // 8:(low + m + 7) // 8] = np.packbits(flag_m)
        np.equal(chunk, 10, out=flag_m)
        newline_bits[low // 8:(low + m + 7) // 8] = np.packbits(flag_m)
        space[0] = here[-1]
        # U+0085 and U+00A0 (C2 85, C2 A0) are spaces too: rare, fixed after the loop.
        np.equal(chunk, 0xC2, out=flag_m)
        if np.count_nonzero(flag_m):
            leads.append(np.flatnonzero(flag_m) + low)
    exceptions = _no_break_spaces(data, leads)
    if len(exceptions):
        _fix_word_starts(data, doc_starts, exceptions, word_bits)
    return word_bits, newline_bits


def _no_break_spaces(data: np.ndarray, leads: list[np.ndarray]) -> np.ndarray:
    """Sorted positions of both bytes of every U+0085 and U+00A0, given the C2 bytes."""
    at = np.concatenate(leads) if leads else np.zeros(0, dtype=np.int64)
    at = at[at + 1 < len(data)]
    nxt = data[at + 1]
    at = at[(nxt == 0x85) | (nxt == 0xA0)]
    return np.sort(np.concatenate([at, at + 1]))


def _fix_word_starts(data: np.ndarray, doc_starts: np.ndarray, exceptions: np.ndarray,
                     word_bits: np.ndarray) -> None:
    """Recompute the word-start bit at every exception and the byte after it."""
    n = len(data)
    positions = np.unique(np.concatenate([exceptions, exceptions + 1]))
    positions = positions[positions < n]

    def is_space(at: np.ndarray) -> np.ndarray:
        naive = data[at] <= 32
        index = np.minimum(np.searchsorted(exceptions, at), len(exceptions) - 1)
        return naive ^ (exceptions[index] == at)

    before = np.ones(len(positions), dtype=bool)
    inside = positions > 0
    before[inside] = is_space(positions[inside] - 1)
    at_doc_start = np.isin(positions, doc_starts)
    start = ~is_space(positions) & (before | at_doc_start)
    byte, bit = positions >> 3, (0x80 >> (positions & 7)).astype(np.uint8)
    np.bitwise_and.at(word_bits, byte, ~bit)
    np.bitwise_or.at(word_bits, byte[start], bit[start])


def _prefix_counts(bits: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """For each byte position p: how many mask bits are set before p.

    Read as big-endian 64-bit words, the packed bits are in position order from the
    most significant bit down; a running popcount per word gives the count before each
    word, and the bits of p's own word above p's bit give the rest."""
    words = bits.view(np.uint64)  # _scan pads to whole words; popcount ignores byte order
    before = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(_popcount(words).astype(np.int64), out=before[1:])
    word, offset = positions >> 6, (positions & 63).astype(np.uint64)
    head = bits.view(">u8")[word].astype(np.uint64)
    head >>= np.uint64(64) - offset  # shifting by 64 is undefined: masked below
    head[offset == 0] = 0
    return before[word] + _popcount(head)


def _popcount(words: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(words)
    as_bytes = words.view(np.uint8).reshape(-1, 8)
    return _POPCOUNT[as_bytes].sum(axis=1, dtype=np.int64)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
