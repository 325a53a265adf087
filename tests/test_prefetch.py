"""The prefetching decompressor: same bytes, errors where they happened, no thread left."""

from __future__ import annotations

import gzip
import io
import random
import threading
import zlib

import pytest

from curation.io.prefetch import CHUNK, GzipChunks, Prefetched


def payload(size: int) -> bytes:
    """Random lines of a few letters, about 64 bytes each."""
    alphabet = bytes(b"abc "[i % 4] if i % 64 else 10 for i in range(256))
    return random.Random(0).randbytes(size).translate(alphabet)


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "gristmill-prefetch"]


def test_every_byte_arrives_in_order_across_chunks():
    data = payload(3 * CHUNK + 12_345)
    source = gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data, 1)))
    with io.BufferedReader(Prefetched(source), 1 << 16) as reader:
        lines = list(reader)
    assert b"".join(lines) == data
    assert lines[0] == data[: data.index(b"\n") + 1]
    assert not prefetch_threads()


def test_gzip_chunks_read_members_and_padding_as_gzip_does():
    parts = [payload(CHUNK // 3), b"", payload(2 * CHUNK + 7)]
    data = b"".join(gzip.compress(p, 1) for p in parts) + b"\x00" * 1000
    with io.BufferedReader(Prefetched(GzipChunks(io.BytesIO(data)))) as reader:
        assert reader.read() == gzip.decompress(data) == b"".join(parts)
    with pytest.raises(zlib.error):
        GzipChunks(io.BytesIO(b"\x00garbage" + bytes(300))).read()


def test_a_truncated_stream_delivers_what_came_before_then_raises():
    data = b"".join(b"line %d\n" % i for i in range(400_000))
    compressed = gzip.compress(data)
    source = GzipChunks(io.BytesIO(compressed[: len(compressed) // 2]))
    got = []
    with pytest.raises(EOFError), io.BufferedReader(Prefetched(source)) as reader:
        for line in reader:
            got.append(line)
    assert len(got) > 100_000
    assert b"".join(got) == data[: len(b"".join(got))]
    assert not prefetch_threads()


def test_closing_early_stops_the_thread():
    source = io.BytesIO(payload(10 * CHUNK))
    reader = io.BufferedReader(Prefetched(source))
    assert reader.readline()
    reader.close()
    assert not prefetch_threads()
    assert source.tell() < 10 * CHUNK  # stopped reading ahead, not drained to the end
