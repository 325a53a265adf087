"""`executor: ray`: the local executor's units and reduces as Ray tasks (docs/ray.md).

Only where the work runs changes. The driver keeps the stage loop, the resume markers
(directory renames in OUTPUT/_work) and finalize of curation/run/orchestrate.py; each unit runs
`run_unit` in a Ray task and each reduce runs as Ray tasks (MinHash clustering as many,
curation/dedup/ray_reduce.py). So the output is the local executor's, file for file. Every
node must see the output directory at the same path; inputs may be any fsspec URL.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ray

from curation.core.config import PipelineConfig
from curation.core.errors import GristmillError
from curation.core.pipeline import Pipeline
from curation.run.backend import Task
from curation.run.unit import UnitResult, run_unit
from curation.run.workdir import WorkDir
from curation.steps.base import GlobalStep

Spec = tuple[PipelineConfig, str, list[str]]  # what rebuilds the pipeline in a worker
_PIPELINE: dict[str, Pipeline] = {}  # per worker process: the last run's pipeline


def _pipeline(spec: Spec) -> Pipeline:
    """Steps are built once per worker process and run, not per task (models load once)."""
    config, text, overrides = spec
    key = config.model_dump_json() + text
    if key not in _PIPELINE:
        _PIPELINE.clear()
        _PIPELINE[key] = Pipeline(config, text, overrides)
    return _PIPELINE[key]


@ray.remote(num_cpus=1)
def _unit_task(spec: Spec, output: str, task: Task) -> UnitResult:
    stage_index, unit, strict = task
    pipeline = _pipeline(spec)
    return run_unit(pipeline, pipeline.stages[stage_index], unit, WorkDir(Path(output)), strict)


@ray.remote(num_cpus=1)
def _reduce_task(step: GlobalStep, unit_dirs: dict[int, Path], position: int,
                 out_dir: Path) -> None:
    step.reduce(unit_dirs, position, out_dir)


@contextmanager
def _user_errors() -> Iterator[None]:
    """A user mistake raised in a task (e.g. a config error) stays one line, not a trace."""
    try:
        yield
    except ray.exceptions.RayTaskError as err:
        if isinstance(err.cause, GristmillError):
            raise err.cause from None
        raise


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds when nothing listens at HOST:PORT (or ray://HOST:PORT): Ray itself
    retries an unreachable cluster for about two minutes before it gives up."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", "local" or a form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise GristmillError(f"cannot reach the Ray cluster at {address} ({reason}): start "
                             "it with `ray start --head` on that machine, or check --address "
                             "and RAY_ADDRESS") from None


class RayBackend:
    """Joins (or starts) a Ray cluster for one run; left as found when the run ends."""

    def __init__(self, pipeline: Pipeline, workers: int | None, address: str | None):
        self.spec: Spec = (pipeline.config, pipeline.yaml_text, pipeline.overrides)
        self.output = str(Path(pipeline.config.output.path).resolve())
        self.workers, self.address = workers, address or os.environ.get("RAY_ADDRESS")
        self.counter = mp.get_context("fork").Value("q", 0)
        self.pending: list[ray.ObjectRef] = []
        self.started = False

    def __enter__(self) -> RayBackend:
        if self.address:
            check_reachable(self.address)
        if not ray.is_initialized():
            options: dict[str, Any] = {"logging_level": logging.WARNING,
                                       "log_to_driver": False}
            if self.address:
                try:
                    ray.init(address=self.address, **options)
                except ConnectionError as err:
                    raise GristmillError(f"cannot join the Ray cluster at {self.address}: "
                                         f"{err}") from None
            else:  # a single-node Ray of our own, gone when the run ends
                ray.init(address="local", num_cpus=self.workers, include_dashboard=False,
                         **options)
            self.started = True
        return self

    def __exit__(self, *exc: Any) -> bool:
        for ref in self.pending:  # a failed or interrupted run leaves no task writing
            ray.cancel(ref, force=True)
        if self.started:
            ray.shutdown()
        return False

    def map(self, tasks: list[Task]) -> Iterator[UnitResult]:
        spec = ray.put(self.spec)
        self.pending = [_unit_task.remote(spec, self.output, task) for task in tasks]
        while self.pending:
            (ref,), self.pending = ray.wait(self.pending, num_returns=1)
            with _user_errors():
                result: UnitResult = ray.get(ref)
            with self.counter.get_lock():  # documents read by the unit's first step
                self.counter.value += next(
                    (c.docs_in for c in result.counts if c is not None), 0)
            yield result

    def reduce(self, step: GlobalStep, unit_dirs: dict[int, Path], position: int,
               out_dir: Path) -> None:
        unit_dirs = {unit: path.resolve() for unit, path in unit_dirs.items()}
        with _user_errors():
            distributed = step.ray_reduce()
            if distributed is not None:
                distributed(step, unit_dirs, position, out_dir.resolve())
            else:
                ray.get(_reduce_task.remote(step, unit_dirs, position, out_dir.resolve()))
