"""The last step of a run: publish finished files and write `_manifest.json`.

Per-unit files are renamed into place; runs of small ones are merged into one shard of at
most `shard_max_bytes`, so a thousand small inputs do not become a thousand tiny shards.
The plan is written first, so a run killed half-way through finishes it on resume; the
manifest is written last and is what marks the output complete.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import platform
import shutil
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from curation.core.counters import StepCounts
from curation.core.pipeline import Pipeline
from curation.io.shards import merge_shards
from curation.run.progress import RunProgress
from curation.run.unit import UnitResult
from curation.run.workdir import WorkDir
from gristmill.atomic import fsync_dir, write_json_atomic
from gristmill.hashing import file_sha256
from gristmill.shards import SCHEMA_VERSION, write_manifest

REDUCE_TIMING = "timing.json"
_VERSIONED = ("gristmill", "pyarrow", "pydantic", "fsspec", "datasets", "datasketch",
              "langdetect", "presidio-analyzer", "tokenizers", "torch")


def plan_outputs(pipeline: Pipeline, results: list[list[UnitResult]]) -> list[dict[str, Any]]:
    """Destination shards, each made of one or more unit files in stage/unit/shard order."""
    kinds = ["train", "validation"] if pipeline.has_split else ["data"]
    limit = pipeline.config.output.shard_max_bytes
    small = pipeline.config.output.merge_below_bytes
    plan = []
    for kind in kinds:
        files = [f for r in sorted(results[-1], key=_unit) for f in r.files.get(kind, [])]
        folder = "" if kind == "data" else f"{kind}/"
        plan += _shards(files, kind, folder, limit, small)
    rejected = [f for stage in results for r in sorted(stage, key=_unit)
                for f in r.files.get("rejected", [])]
    return plan + _shards(rejected, "rejected", "rejected/", limit, small)


def _shards(files: list[dict], split: str, folder: str, limit: int,
            small: int) -> list[dict[str, Any]]:
    """Consecutive files below `small` bytes of text are merged (up to `limit`); the others
    are published as they are, so finalize rewrites only what is worth merging."""
    groups: list[list[dict]] = []
    size = 0
    for f in files:
        big = f["text_bytes"] >= small
        if not groups or big or size + f["text_bytes"] > limit or size >= small:
            groups.append([])
            size = 0
        groups[-1].append(f)
        size += f["text_bytes"]
    return [{"dest": f"{folder}part-{i:05d}.parquet", "split": split, "sources": group}
            for i, group in enumerate(groups)]


def _unit(result: UnitResult) -> int:
    return result.unit


def publish_outputs(pipeline: Pipeline, work: WorkDir, plan: list[dict[str, Any]],
                    workers: int = 1, progress: RunProgress | None = None) -> None:
    """Rename or merge each planned shard; those already in place are skipped (resume).
    Merges recompress, so they run in a pool of `workers` processes and show progress: with
    many small inputs they are most of finalize's time."""
    folders, merges = set(), []
    for item in plan:
        dest = work.output / item["dest"]
        sources = [Path(s["path"]) for s in item["sources"]]
        folders.add(dest.parent)
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if len(sources) == 1 and not _provisional(item):
            os.replace(sources[0], dest)
        else:  # several files, or one written as lz4 for a merge that did not happen
            schema = (pipeline.rejected_schema if item["split"] == "rejected"
                      else pipeline.schema)
            merges.append(((sources, dest, schema, pipeline.config.output),
                           sum(s["rows"] for s in item["sources"]),
                           sum(s["text_bytes"] for s in item["sources"])))
    if progress is not None and merges:
        progress.start_stage("finalize", len(merges), sum(m[2] for m in merges))
    workers = min(workers, len(merges))
    with mp.get_context("fork").Pool(workers) if workers > 1 else \
            contextlib.nullcontext() as pool:
        for rows, text_bytes in (pool.imap_unordered(_merge, merges) if pool
                                 else map(_merge, merges)):
            if progress is not None:
                progress.add_docs(rows)
                progress.unit_done(text_bytes)
    for folder in folders:
        fsync_dir(folder)


def _merge(merge: tuple[tuple, int, int]) -> tuple[int, int]:
    """Runs in a pool worker; returns what the progress display counts."""
    merge_shards(*merge[0])
    return merge[1], merge[2]


def finalize(pipeline: Pipeline, work: WorkDir, results: list[list[UnitResult]],
             counts: list[StepCounts], inputs: dict[str, Any], workers: int = 1,
             progress: RunProgress | None = None) -> dict[str, Any]:
    """Publish the output and its manifest; remove the work directory."""
    if work.finalize_plan.exists():
        plan = json.loads(work.finalize_plan.read_text())
    else:
        plan = plan_outputs(pipeline, results)
        write_json_atomic(work.finalize_plan, plan)
    publish_outputs(pipeline, work, plan, workers, progress)
    manifest = build_manifest(pipeline, _describe(work.output, plan), counts, inputs)
    for position, step in enumerate(manifest["steps"]):
        reduce_dir = work.reduce_dir(position)
        if (reduce_dir / REDUCE_TIMING).exists():
            step["reduce_seconds"] = json.loads((reduce_dir / REDUCE_TIMING).read_text())["seconds"]
        if (reduce_dir / "report.json").exists():
            step["report"] = json.loads((reduce_dir / "report.json").read_text())
    check_accounting(manifest, pipeline.config.output.write_rejected)
    write_manifest(work.output, manifest)
    shutil.rmtree(work.root, ignore_errors=True)
    return manifest


def _provisional(item: dict[str, Any]) -> bool:
    return any(source.get("provisional") for source in item["sources"])


def _describe(output: Path, plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Manifest entries; a merged shard is measured from the file, a renamed one was already."""
    files = []
    for item in plan:
        sources = item["sources"]
        if len(sources) == 1 and not _provisional(item):
            size, digest = sources[0]["bytes"], sources[0]["sha256"]
        else:
            path = output / item["dest"]
            size, digest = path.stat().st_size, file_sha256(path)
        files.append({"path": item["dest"], "split": item["split"], "bytes": size,
                      "rows": sum(s["rows"] for s in sources), "sha256": digest})
    return files


def build_manifest(pipeline: Pipeline, files: list[dict[str, Any]], counts: list[StepCounts],
                   inputs: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, int] = {}
    for f in files:
        if f["split"] != "rejected":
            kept[f["split"]] = kept.get(f["split"], 0) + f["rows"]
    read = counts[0]
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pipeline": {"name": pipeline.config.name, "yaml": pipeline.yaml_text,
                     "overrides": pipeline.overrides,
                     "resolved": pipeline.config.model_dump(mode="json")},
        "versions": _versions(),
        "inputs": inputs,
        "counts": {"input": read.docs_in, "kept": sum(kept.values()),
                   "rejected": sum(c.docs_rejected for c in counts), "kept_by_split": kept,
                   "bytes_in": read.bytes_in, "bytes_kept": counts[-1].bytes_out},
        "steps": [c.to_dict() for c in counts],
        "schema": [{"name": f.name, "type": str(f.type)} for f in pipeline.schema],
        "files": files,
    }


def check_accounting(manifest: dict[str, Any], rejected_written: bool) -> None:
    """documents in = kept + rejected, checked against the files themselves, or it is a bug."""
    counts = manifest["counts"]
    rejected_rows = sum(f["rows"] for f in manifest["files"] if f["split"] == "rejected")
    problems = []
    if counts["input"] != counts["kept"] + counts["rejected"]:
        problems.append(f"input {counts['input']} != kept {counts['kept']} + "
                        f"rejected {counts['rejected']}")
    if rejected_written and rejected_rows != counts["rejected"]:
        problems.append(f"rejected files hold {rejected_rows} rows, counters say "
                        f"{counts['rejected']}")
    if problems:
        raise RuntimeError("accounting check failed (a gristmill bug; please report it): "
                           + "; ".join(problems))


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
