"""The prefetching decompressor: same bytes, errors where they happened, no thread left."""

from __future__ import annotations

import gzip
import io
import random
import threading

import pytest

from curation.io.prefetch import CHUNK, Prefetched


def payload(size: int) -> bytes:
    rng = random.Random(0)
    return bytes(rng.choice(b"abc \n") for _ in range(size))


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "gristmill-prefetch"]


def test_every_byte_arrives_in_order_across_chunks():
    data = payload(3 * CHUNK + 12_345)
    source = gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data)))
    with io.BufferedReader(Prefetched(source), 1 << 16) as reader:
        lines = list(reader)
    assert b"".join(lines) == data
    assert lines[0] == data[: data.index(b"\n") + 1]
    assert not prefetch_threads()


def test_a_truncated_stream_delivers_what_came_before_then_raises():
    data = b"".join(b"line %d\n" % i for i in range(400_000))
    compressed = gzip.compress(data)
    source = gzip.GzipFile(fileobj=io.BytesIO(compressed[: len(compressed) // 2]))
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
