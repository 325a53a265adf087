"""A compressed input, decompressed a few chunks ahead by a thread.

zlib, bz2, lzma and zstandard let go of the GIL while they decompress, so a thread that
decompresses the next chunks while the worker parses the current one overlaps the two in
one process: decompression is about two thirds of reading a gzipped JSONL file. The thread
must do its work in large GIL-free calls: `GzipFile` works in small steps of Python that a
busy parser starves, so gzip goes through `GzipChunks` instead.
"""

from __future__ import annotations

import io
import queue
import threading
import zlib
from typing import IO, Any

CHUNK = 1 << 20  # decompressed bytes per step: the first one is waited for
DEPTH = 8
RAW_CHUNK = 1 << 22
GZIP = 31  # zlib's wbits for the gzip format


class GzipChunks:
    """The members of a gzip file, decompressed by zlib a CHUNK of output at a time.

    As `GzipFile`: members follow each other, zero padding after one is skipped, a file cut
    inside a member raises EOFError after what came before it, and bad data zlib.error.
    """

    def __init__(self, raw: IO[bytes]):
        self.raw, self.member, self.pending, self.inside = raw, zlib.decompressobj(GZIP), b"", False

    def read(self, _size: int = -1) -> bytes:
        while True:
            if not self.inside:
                self.pending = self.pending.lstrip(b"\x00")  # padding between members
            if not self.pending:
                self.pending = self.raw.read(RAW_CHUNK)
                if not self.pending:
                    if self.inside:
                        raise EOFError("compressed file ended before the end-of-stream "
                                       "marker was reached")
                    return b""
                continue
            self.inside = True
            out = self.member.decompress(self.pending, CHUNK)
            if self.member.eof:
                self.pending, self.inside = self.member.unused_data, False
                self.member = zlib.decompressobj(GZIP)
            else:
                self.pending = self.member.unconsumed_tail
            if out:
                return out


class Prefetched(io.RawIOBase):
    """A readable stream of `source`'s bytes; `source.read` runs in a background thread.

    An error from `source` (a truncated or corrupt stream) is raised by the read that
    reaches the point where it happened, so every byte before it is still delivered.
    `close()` stops the thread before the caller closes `source`.
    """

    def __init__(self, source: IO[bytes]):
        super().__init__()
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(DEPTH)
        self._stop = threading.Event()
        self._rest = memoryview(b"")
        self._done = False
        self._thread = threading.Thread(target=self._fill, args=(source,), daemon=True,
                                        name="gristmill-prefetch")
        self._thread.start()

    def _fill(self, source: IO[bytes]) -> None:
        while not self._stop.is_set():
            try:
                item: bytes | BaseException = source.read(CHUNK)
            except Exception as err:  # handed to the reader, raised where it happened
                item = err
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if not isinstance(item, bytes) or not item:
                return

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            if self._done:
                return 0
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._done = True
                raise item
            self._done = not item
            self._rest = memoryview(item)
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                self._thread.join(0.05)
        super().close()
