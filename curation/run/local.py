"""`executor: local`: units in a fork pool (or the calling process for one worker), reduces
in the driver."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curation.core.pipeline import Pipeline
from curation.run.backend import Task
from curation.run.unit import UnitResult, run_unit
from curation.run.workdir import WorkDir
from curation.steps.base import GlobalStep

# Worker side: the pipeline and work dir are handed over once per process, not per task.
_STATE: dict[str, Any] = {}


def _load_pandas() -> None:
    """pyarrow imports pandas the first time it converts Python objects (a noticeable cost).
    Done once here, before the fork, the workers inherit it instead of each paying; the
    driver usually needs it later anyway (finalize's merges read columns into numpy)."""
    import pandas  # noqa: F401


def _init_worker(pipeline: Pipeline, counter: Any) -> None:
    _STATE.update(pipeline=pipeline, counter=counter)


def _worker_run(task: Task) -> UnitResult:
    stage_index, unit, strict = task
    pipeline: Pipeline = _STATE["pipeline"]
    counter = _STATE["counter"]

    def report(n: int) -> None:
        with counter.get_lock():
            counter.value += n

    work = WorkDir(Path(pipeline.config.output.path))
    return run_unit(pipeline, pipeline.stages[stage_index], unit, work, strict, report)


class LocalBackend:
    """A fork pool for several workers (the calling process itself for one); reduces run
    in the driver."""

    def __init__(self, workers: int, pipeline: Pipeline):
        self.workers, self.pipeline = workers, pipeline
        self.counter = mp.get_context("fork").Value("q", 0)
        self.pool: Any = None

    def __enter__(self) -> LocalBackend:
        _init_worker(self.pipeline, self.counter)
        if self.workers > 1:
            _load_pandas()
            for step in self.pipeline.steps[1:]:
                step.prepare()
            self.pool = mp.get_context("fork").Pool(
                self.workers, initializer=_init_worker, initargs=(self.pipeline, self.counter))
        return self

    def __exit__(self, *exc: Any) -> bool:
        if self.pool is not None:
            if exc[0]:
                self.pool.terminate()
            else:
                self.pool.close()
            self.pool.join()
        return False

    def map(self, tasks: list[Task]) -> Iterator[UnitResult]:
        return self.pool.imap_unordered(_worker_run, tasks) if self.pool else \
            map(_worker_run, tasks)

    def reduce(self, step: GlobalStep, unit_dirs: dict[int, Path], position: int,
               out_dir: Path) -> None:
        step.reduce(unit_dirs, position, out_dir)
