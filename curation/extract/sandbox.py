"""A child process that runs an extraction engine, killed when a page takes too long.

No HTML library has a safe in-process timeout: Resiliparse's work happens in native code,
which a signal cannot interrupt, and a SIGALRM exception can escape from an unrelated
`__del__` (datatrove #75). So each worker feeds pages to one child over a pipe and waits at
most `timeout` seconds for the answer; past that the child is killed and the next page
starts a fresh one. The child is also replaced every `recycle_pages` pages, which keeps its
memory flat whatever the engine caches.

Messages are length-prefixed UTF-8: page in; a status byte and the text (or error) out.
"""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import sys
import time
from typing import IO, Any

_LENGTH = struct.Struct(">I")
OK, FAILED, READY = b"0", b"1", b"R"
STARTUP_TIMEOUT = 120.0


class ExtractionFailed(Exception):
    """The page could not be extracted; `rule` names why (timeout, crashed, error)."""

    def __init__(self, rule: str, detail: str = ""):
        super().__init__(f"{rule}: {detail}" if detail else rule)
        self.rule = rule


class Sandbox:
    """Extract pages in a child process with a per-page time limit."""

    def __init__(self, engine: str, options: dict[str, Any], timeout: float,
                 recycle_pages: int):
        self.engine, self.options = engine, options
        self.timeout, self.recycle_pages = timeout, recycle_pages
        self._child: subprocess.Popen | None = None
        self._pages = 0

    def __getstate__(self) -> dict[str, Any]:  # a process cannot travel to another one
        return {**self.__dict__, "_child": None, "_pages": 0}

    def extract(self, html: str) -> str:
        """The page's text; raises ExtractionFailed on timeout, crash or engine error."""
        if self._child is None or self._pages >= self.recycle_pages:
            self.close()
            self._start()
        self._pages += 1
        child = self._child
        data = html.encode("utf-8", "surrogatepass")
        try:
            child.stdin.write(_LENGTH.pack(len(data)) + data)
            child.stdin.flush()
            deadline = time.monotonic() + self.timeout
            status = _read_exactly(child.stdout, 1, deadline)
            size = _LENGTH.unpack(_read_exactly(child.stdout, _LENGTH.size, deadline))[0]
            text = _read_exactly(child.stdout, size, deadline).decode("utf-8", "replace")
        except TimeoutError:
            self.close()
            raise ExtractionFailed("timeout", f"over {self.timeout:g} s") from None
        except (OSError, EOFError, struct.error):
            self.close()
            raise ExtractionFailed("crashed", "the extraction process died") from None
        if status != OK:
            raise ExtractionFailed("error", text)
        return text

    def _start(self) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-m", "curation.extract.sandbox", self.engine,
             json.dumps(self.options)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self._pages = 0
        try:  # imports take a second or more: not part of any page's time
            ready = _read_exactly(self._child.stdout, 1, time.monotonic() + STARTUP_TIMEOUT)
        except (TimeoutError, EOFError):
            ready = b""
        if ready != READY:
            self.close()
            raise ExtractionFailed("crashed", f"the {self.engine} process did not start")

    def close(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child.wait()
            for pipe in (self._child.stdin, self._child.stdout):
                pipe.close()
            self._child = None

    def __del__(self) -> None:
        self.close()


def _read_exactly(stream: IO[bytes], size: int, deadline: float) -> bytes:
    """`size` bytes from a pipe, or TimeoutError at the deadline, EOFError if it closes."""
    chunks, left = [], size
    fd = stream.fileno()
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


RESET_EVERY = 1000


def _serve(engine_name: str, options: dict[str, Any]) -> None:
    """The child's loop: read a page, write its text, until the parent closes the pipe."""
    from curation.extract.engines import make_engine, reset_caches

    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a stray print from a library must not corrupt the protocol
    try:  # the first process the kernel kills when memory runs out
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass
    engine = make_engine(engine_name, options)
    engine("<html><body><p>warm up</p></body></html>")
    out.write(READY)
    source = sys.stdin.buffer
    pages = 0
    while header := source.read(_LENGTH.size):
        html = source.read(_LENGTH.unpack(header)[0]).decode("utf-8", "surrogatepass")
        try:
            status, text = OK, engine(html)
        except Exception as err:  # the page fails; the child carries on
            status, text = FAILED, f"{type(err).__name__}: {err}"[:500]
        data = text.encode("utf-8", "surrogatepass")
        out.write(status + _LENGTH.pack(len(data)) + data)
        pages += 1
        if pages % RESET_EVERY == 0:
            reset_caches(engine_name)


if __name__ == "__main__":
    _serve(sys.argv[1], json.loads(sys.argv[2]))
