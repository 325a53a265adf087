"""`gristmill curate` and `gristmill steps`."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from curation.cli.summary import print_summary, whole_run_warning
from curation.core.config import PipelineConfig, load_pipeline
from curation.core.pipeline import Pipeline
from curation.io.readers import input_has_ids
from curation.run.orchestrate import RunOptions, run_pipeline
from curation.run.workdir import WorkDir
from curation.stats.run_report import REPORT, write_run_report
from gristmill.checks import whole
from gristmill.shards import MANIFEST


def curate_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("curate", help="run a curation pipeline (YAML)",
                                 description="Run a pipeline; rerun the same command to resume.")
    parser.add_argument("pipeline", help="pipeline YAML file")
    parser.add_argument("overrides", nargs="*", metavar="key.path=value",
                        help="override config values, e.g. steps.length.min_words=50")
    parser.add_argument("--input", action="append", help="input path/glob (repeatable)")
    parser.add_argument("--output", help="output directory")
    parser.add_argument("--workers", type=whole(1), help="worker processes (default: cores)")
    parser.add_argument("--executor", choices=["local", "ray"],
                        help="where the work runs (default: executor.type, else local)")
    parser.add_argument("--address", help="executor ray: the Ray cluster, e.g. auto or "
                                          "ray://head:10001 (default: start one here)")
    parser.add_argument("--strict", action="store_true", help="stop at the first bad record")
    parser.add_argument("--skip-bad-files", action="store_true",
                        help="finish without input files that cannot be read")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier run (removes only what gristmill wrote)")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(func=run_curate, resume_with="rerun")


def run_curate(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.input:
        overrides.append(f"input.paths={args.input!r}")
    if args.output:
        overrides.append(f"output.path={args.output!r}")
    if args.executor:
        overrides.append(f"executor.type={args.executor}")
    if args.address:
        overrides.append(f"executor.address={args.address!r}")
    config, text = load_pipeline(args.pipeline, overrides)
    if config.input.id_field is None and input_has_ids(config.input):
        overrides.append("input.id_field=id")  # recorded, and seen by Ray workers
        config, text = load_pipeline(args.pipeline, overrides)
    pipeline = Pipeline(config, text, overrides)
    if not args.overwrite and _finish_missing_report(config, args.workers):
        return 0
    options = RunOptions(args.workers, args.strict, args.overwrite, args.skip_bad_files,
                         args.quiet)
    start = time.monotonic()
    result = run_pipeline(pipeline, options)
    print_summary(result.manifest, config.output.path, time.monotonic() - start)
    report = write_run_report(config.output.path, result.manifest, workers=args.workers)
    print(f"report: {report}")
    warning = whole_run_warning(result.manifest, config.output.path)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
        return 2
    return 0


def _finish_missing_report(config: PipelineConfig, workers: int | None) -> bool:
    """A run killed after its manifest landed but before its report: write the report.

    The manifest marks the shards complete; the report is derived from them, so re-running
    the same command only has that left to do."""
    out = Path(config.output.path)
    if not (out / MANIFEST).exists() or (out / REPORT).exists():
        return False
    manifest = json.loads((out / MANIFEST).read_text())
    if manifest["pipeline"]["resolved"] != config.model_dump(mode="json"):
        return False
    work = WorkDir(out)
    shutil.rmtree(work.root, ignore_errors=True)  # killed before finalize removed it
    work.clean_stale()  # e.g. a half-written report from the killed run
    print(f"run already finished; wrote its missing report: "
          f"{write_run_report(out, manifest, workers=workers)}")
    return True
