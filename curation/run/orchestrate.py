"""Executors: stages over input files, resumable at any kill.

Per stage, every unit not yet finished runs in a worker; a global step's reduce runs
between stages; finalize publishes files and the manifest. Re-running the same command
after a crash skips finished units and reduces and ends with the same output. The local
backend is a process pool with reduces in the driver; `executor: ray` swaps in Ray tasks
(curation/run/ray.py) and keeps everything else, so both write the same output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.core.counters import StepCounts, merge_all
from curation.core.errors import GristmillError
from curation.core.pipeline import Pipeline, Stage
from curation.io.readers import InputFile, discover
from curation.run.backend import Backend
from curation.run.finalize import REDUCE_TIMING, finalize
from curation.run.local import LocalBackend
from curation.run.progress import RunProgress
from curation.run.unit import UnitResult
from curation.run.workdir import WorkDir, commit_dir
from curation.steps.base import GlobalStep
from gristmill.atomic import write_json_atomic
from gristmill.checks import output_dir
from gristmill.outputs import clear_curated, describe
from gristmill.shards import MANIFEST


@dataclass
class RunOptions:
    """Command-line switches that change how (not what) a run executes."""

    workers: int | None = None
    strict: bool = False
    overwrite: bool = False
    skip_bad_files: bool = False
    quiet: bool = False


@dataclass
class RunResult:
    manifest: dict[str, Any]
    counts: list[StepCounts]
    failed: list[str] = field(default_factory=list)


class RunFailed(GristmillError):
    """Some input files could not be read; the rest is done and resumable."""


def run_pipeline(pipeline: Pipeline, options: RunOptions) -> RunResult:
    """Run every stage, the reduces between them, and finalize."""
    work = WorkDir(Path(pipeline.config.output.path))
    files = discover(pipeline.config.input)
    prepare_output(work, pipeline, files, options.overwrite)
    workers = options.workers or pipeline.config.executor.workers
    results: list[list[UnitResult]] = []
    failed: dict[int, str] = {}
    with _backend(pipeline, workers, len(files)) as backend, \
            RunProgress(backend.counter, options.quiet) as progress:
        for stage in pipeline.stages:
            units = [f for f in files if f.index not in failed]
            stage_results = _run_stage(backend, pipeline, stage, units, options, progress)
            failed.update({r.unit: r.error for r in stage_results if r.error})
            if failed and not options.skip_bad_files:
                raise RunFailed(_failure_message(failed, files))
            results.append([r for r in stage_results if not r.error])
            if stage.exit is not None:
                units = [f for f in files if f.index not in failed]
                run_reduce(pipeline, stage, units, work, backend)
    counts = merge_all([r.counts for stage in results for r in stage], pipeline.names)
    inputs = {"files": len(files), "bytes": sum(f.size for f in files),
              "skipped_files": [{"path": files[u].url, "error": e} for u, e in failed.items()],
              "empty_files": _empty_files(results[0] if results else [], files)}
    with RunProgress(backend.counter, options.quiet) as progress:
        manifest = finalize(pipeline, work, results, counts, inputs,
                            _worker_count(workers, len(files)), progress)
    return RunResult(manifest, counts, list(failed.values()))


def _empty_files(first_stage: list[UnitResult], files: list[InputFile]) -> list[str]:
    """Input files that held no record at all (not even a malformed line): worth a note,
    since a glob that matched the wrong files looks just like this."""
    return sorted(files[r.unit].url for r in first_stage
                  if r.counts and r.counts[0] is not None and r.counts[0].docs_in == 0)


def prepare_output(work: WorkDir, pipeline: Pipeline, files: list[InputFile],
                   overwrite: bool) -> None:
    """Start fresh, or resume the same run; never mix two different runs in one directory."""
    out = output_dir(work.output, "output directory")
    fingerprint = run_fingerprint(pipeline, files)
    if (out / MANIFEST).exists() and work.root.exists():  # killed after the manifest landed
        shutil.rmtree(work.root)
    ours = (out / MANIFEST).exists() or work.root.exists()
    if out.exists() and any(out.iterdir()):
        if not ours:
            raise GristmillError(f"{out}: output directory is not empty and was not made by "
                                 "gristmill; choose another --output")
        if overwrite:
            kept = clear_curated(out)
            if kept:
                print(f"--overwrite: replacing the run in {out}, keeping what gristmill "
                      f"curate did not write: {describe(kept, out)}", file=sys.stderr)
        elif (out / MANIFEST).exists():
            raise GristmillError(f"{out}: holds a finished run; pass --overwrite to replace "
                                 "it or choose another --output")
        elif work.run_file.exists() and \
                json.loads(work.run_file.read_text()).get("fingerprint") != fingerprint:
            raise GristmillError(f"{out}: holds an unfinished run of a different pipeline or "
                                 "input; pass --overwrite to discard it or choose another "
                                 "--output")
    work.root.mkdir(parents=True, exist_ok=True)
    work.clean_stale()
    if not work.run_file.exists():
        write_json_atomic(work.run_file, {"fingerprint": fingerprint})


def run_fingerprint(pipeline: Pipeline, files: list[InputFile]) -> str:
    """What makes two runs the same run: the resolved config (less workers and the Ray
    address, which change where it runs, not what) and the inputs."""
    config = pipeline.config.model_dump(mode="json")
    config["executor"].pop("workers", None)
    config["executor"].pop("address", None)
    state = {"config": config, "files": [(f.url, f.size) for f in files]}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def _worker_count(requested: int | None, units: int) -> int:
    return max(1, min(requested or os.cpu_count() or 1, units))


def _backend(pipeline: Pipeline, workers: int | None, units: int) -> Backend:
    executor = pipeline.config.executor
    if executor.type == "local":
        return LocalBackend(_worker_count(workers, units), pipeline)
    try:
        from curation.run.ray import RayBackend
    except ImportError as err:
        if (err.name or "").split(".")[0] != "ray":
            raise
        raise GristmillError("executor 'ray' needs Ray, which is not installed: "
                             "pip install 'gristmill[ray]' (or use executor.type=local)") from None
    return RayBackend(pipeline, workers, executor.address)


def _failure_message(failed: dict[int, str], files: list[InputFile]) -> str:
    lines = [f"{len(failed)} of {len(files)} input files could not be read:"]
    lines += [f"  {error}" for _, error in sorted(failed.items())]
    lines.append("The other files are done; fix or remove the files above and run the same "
                 "command again to resume, or add --skip-bad-files to finish without them.")
    return "\n".join(lines)


def _run_stage(backend: Backend, pipeline: Pipeline, stage: Stage, units: list[InputFile],
               options: RunOptions, progress: RunProgress) -> list[UnitResult]:
    label = f"stage {stage.index + 1}/{len(pipeline.stages)}"
    progress.start_stage(label, len(units), sum(u.size for u in units))
    tasks = [(stage.index, unit, options.strict) for unit in units]
    size = {u.index: u.size for u in units}
    results = []
    for result in backend.map(tasks):
        if result.error and options.strict:
            raise RunFailed(f"{result.error}\nFinished files are kept; fix the input and run "
                            "the same command again to resume.")
        progress.unit_done(size[result.unit])
        results.append(result)
    progress.end_stage()
    return sorted(results, key=lambda r: r.unit)


def run_reduce(pipeline: Pipeline, stage: Stage, units: list[InputFile], work: WorkDir,
               backend: Backend) -> None:
    """The global step between stage k and k+1, published as one directory (resumable)."""
    final = work.reduce_dir(stage.exit)
    if final.exists():
        return
    step = pipeline.step(stage.exit)
    assert isinstance(step, GlobalStep)
    tmp = work.fresh_tmp(final)
    start = time.monotonic()
    unit_dirs = {u.index: work.unit_dir(stage.index, u.index) for u in units}
    backend.reduce(step, unit_dirs, stage.exit, tmp)
    write_json_atomic(tmp / REDUCE_TIMING, {"seconds": round(time.monotonic() - start, 3)})
    commit_dir(tmp, final)
