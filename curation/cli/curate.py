"""`gristmill curate` and `gristmill steps`."""

from __future__ import annotations

import argparse
import inspect
import json
import shutil
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from curation.cli.step_reference import REGENERATE, kind, markdown, parameters
from curation.cli.summary import print_summary, whole_run_warning
from curation.core.config import PipelineConfig, load_pipeline
from curation.core.pipeline import Pipeline
from curation.core.registry import all_steps, get_step_class
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


def steps_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("steps", help="list every step with its parameters")
    parser.add_argument("name", nargs="?", help="show one step only")
    parser.add_argument("--markdown", action="store_true",
                        help=f"print the step reference as Markdown ({REGENERATE})")
    parser.set_defaults(func=run_steps)


def run_steps(args: argparse.Namespace) -> int:
    steps = all_steps()
    if args.name:
        steps = {args.name: get_step_class(args.name, "gristmill steps")}
    if args.markdown:
        print(markdown(steps), end="")
        return 0
    console = Console()
    for name, cls in sorted(steps.items()):
        table = Table(title=escape(f"{name} ({kind(cls)}): {inspect.getdoc(cls) or ''}"),
                      title_justify="left")
        params = parameters(cls)
        # Names are typed on the command line: never cut; the rest wraps (never "…").
        table.add_column("parameter", no_wrap=True,
                         min_width=max((len(p.name) for p in params), default=9))
        for column in ("type", "default", "what it does"):
            table.add_column(column, overflow="fold")
        for param in params:
            table.add_row(*map(escape, (param.name, param.type, param.default,
                                        param.description)))
        console.print(table)
    return 0
