"""Where units and reduces run: the interface the orchestration drives, one implementation
per executor (run/local.py, run/ray.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from curation.io.readers import InputFile
from curation.run.unit import UnitResult
from curation.steps.base import GlobalStep

Task = tuple[int, InputFile, bool]  # stage index, unit, strict


class Backend(Protocol):
    """Where units and reduces run; a context manager around the whole run."""

    counter: Any  # documents processed, read by the progress display

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: Any) -> bool: ...

    def map(self, tasks: list[Task]) -> Iterator[UnitResult]:
        """Run units; results in any order."""
        ...

    def reduce(self, step: GlobalStep, unit_dirs: dict[int, Path], position: int,
               out_dir: Path) -> None: ...
