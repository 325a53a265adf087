"""One progress display for a run: files, documents, throughput and ETA per stage.

On a terminal it is a live bar; in logs (CI, nohup) a line every 10 seconds; `--quiet`
prints nothing. Workers add to a shared document counter that a thread samples.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

LOG_EVERY_S = 10.0


class RunProgress:
    """Context manager; call start_stage / unit_done / end_stage from the driver."""

    def __init__(self, doc_counter: Any, quiet: bool = False):
        self.counter, self.quiet = doc_counter, quiet
        self.console = Console(stderr=True)
        self.live = not quiet and self.console.is_terminal
        self.bar: Progress | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunProgress:
        if self.live:
            self.bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.fields[files]} files"), TextColumn("{task.fields[docs]:,} docs"),
                TextColumn("{task.fields[rate]:,.0f} docs/s"), TimeElapsedColumn(),
                TextColumn("ETA"), TimeRemainingColumn(), console=self.console)
            self.bar.start()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self.bar is not None:
            self.bar.stop()

    def start_stage(self, label: str, units: int, total_bytes: int) -> None:
        with self.counter.get_lock():
            self.counter.value = 0
        self.label, self.units, self.done = label, units, 0
        self.total_bytes, self.done_bytes = max(total_bytes, 1), 0
        self.started = self._last_log = time.monotonic()
        if self.bar is not None:
            self.task = self.bar.add_task(label, total=self.total_bytes, files=f"0/{units}",
                                          docs=0, rate=0.0)

    def add_docs(self, count: int) -> None:
        """For work the driver counts itself (finalize's merges)."""
        with self.counter.get_lock():
            self.counter.value += count

    def unit_done(self, size: int) -> None:
        self.done += 1
        self.done_bytes += size
        self._refresh(force=self.done == self.units)

    def end_stage(self) -> None:
        self._refresh(force=False)

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            if hasattr(self, "label"):
                self._refresh(force=False)

    def _refresh(self, force: bool) -> None:
        docs = self.counter.value
        elapsed = max(time.monotonic() - self.started, 1e-9)
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done_bytes, docs=docs,
                            files=f"{self.done}/{self.units}", rate=docs / elapsed)
        elif not self.quiet and (force or time.monotonic() - self._last_log > LOG_EVERY_S):
            self._last_log = time.monotonic()
            share = self.done_bytes / self.total_bytes
            eta = f", ETA {elapsed / share - elapsed:.0f}s" if 0 < share < 1 else ""
            self.console.print(f"{self.label}: {self.done}/{self.units} files, {docs:,} docs, "
                               f"{docs / elapsed:,.0f} docs/s{eta}", highlight=False)
