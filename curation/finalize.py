"""The last step of a run: move finished files into place and write `_manifest.json`.

The move plan is written first, so a run killed half-way through the moves finishes them
on resume; the manifest is written last and is what marks the output complete.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from curation.counters import StepCounts
from curation.io.atomic import fsync_dir, write_json_atomic
from curation.pipeline import Pipeline
from curation.unit_task import UnitResult
from curation.workdir import WorkDir

SCHEMA_VERSION = 1
MANIFEST = "_manifest.json"
_VERSIONED = ("gristmill", "pyarrow", "pydantic", "fsspec", "datasets", "datasketch",
              "langdetect", "presidio-analyzer", "tokenizers", "torch")


def plan_moves(pipeline: Pipeline, results: list[list[UnitResult]]) -> list[dict[str, Any]]:
    """Destination names for every finished file, in stage, unit and shard order."""
    last = results[-1]
    kinds = ["train", "validation"] if pipeline.has_split else ["data"]
    plan = []
    for kind in kinds:
        folder = "" if kind == "data" else f"{kind}/"
        files = [f for r in sorted(last, key=_unit) for f in r.files.get(kind, [])]
        plan += [{**f, "split": kind, "dest": f"{folder}part-{i:05d}.parquet"}
                 for i, f in enumerate(files)]
    rejected = [f for stage in results for r in sorted(stage, key=_unit)
                for f in r.files.get("rejected", [])]
    plan += [{**f, "split": "rejected", "dest": f"rejected/part-{i:05d}.parquet"}
             for i, f in enumerate(rejected)]
    return plan


def _unit(result: UnitResult) -> int:
    return result.unit


def move_files(work: WorkDir, plan: list[dict[str, Any]]) -> None:
    """Rename each file to its destination; files already moved are skipped (resume)."""
    folders = set()
    for item in plan:
        dest = work.output / item["dest"]
        if not Path(item["path"]).exists() and dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(item["path"], dest)
        folders.add(dest.parent)
    for folder in folders:
        fsync_dir(folder)


def finalize(pipeline: Pipeline, work: WorkDir, results: list[list[UnitResult]],
             counts: list[StepCounts], inputs: dict[str, Any]) -> dict[str, Any]:
    """Publish the output and its manifest; remove the work directory."""
    if work.finalize_plan.exists():
        plan = json.loads(work.finalize_plan.read_text())
    else:
        plan = plan_moves(pipeline, results)
        write_json_atomic(work.finalize_plan, plan)
    move_files(work, plan)
    manifest = build_manifest(pipeline, plan, counts, inputs)
    check_accounting(manifest, pipeline.config.output.write_rejected)
    write_json_atomic(work.output / MANIFEST, manifest)
    shutil.rmtree(work.root, ignore_errors=True)
    return manifest


def build_manifest(pipeline: Pipeline, plan: list[dict[str, Any]], counts: list[StepCounts],
                   inputs: dict[str, Any]) -> dict[str, Any]:
    files = [{"path": p["dest"], "split": p["split"], "rows": p["rows"], "bytes": p["bytes"],
              "sha256": p["sha256"]} for p in plan]
    kept = {}
    for f in files:
        if f["split"] != "rejected":
            kept[f["split"]] = kept.get(f["split"], 0) + f["rows"]
    read = counts[0]
    rejected = sum(c.docs_rejected for c in counts)
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pipeline": {"name": pipeline.config.name, "yaml": pipeline.yaml_text,
                     "overrides": pipeline.overrides,
                     "resolved": pipeline.config.model_dump(mode="json")},
        "versions": _versions(),
        "inputs": inputs,
        "counts": {"input": read.docs_in, "kept": sum(kept.values()), "rejected": rejected,
                   "kept_by_split": kept, "bytes_in": read.bytes_in,
                   "bytes_kept": counts[-1].bytes_out if len(counts) > 1 else read.bytes_out},
        "steps": [c.to_dict() for c in counts],
        "schema": [{"name": f.name, "type": str(f.type)} for f in pipeline.schema],
        "files": files,
    }


def check_accounting(manifest: dict[str, Any], rejected_written: bool) -> None:
    """documents in = kept + rejected, from the files themselves, or it is a bug."""
    counts = manifest["counts"]
    rows = {"kept": 0, "rejected": 0}
    for f in manifest["files"]:
        rows["rejected" if f["split"] == "rejected" else "kept"] += f["rows"]
    problems = []
    if counts["input"] != counts["kept"] + counts["rejected"]:
        problems.append(f"input {counts['input']} != kept {counts['kept']} + "
                        f"rejected {counts['rejected']}")
    if rejected_written and rows["rejected"] != counts["rejected"]:
        problems.append(f"rejected files hold {rows['rejected']} rows, counters say "
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
