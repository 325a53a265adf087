"""The report a curation run writes next to its shards: `report.html` and `stats.json`.

`stats.json` is the corpus statistics of the kept documents (see docs/stats.md) with one
more key, `run`: the funnel per step (documents and bytes in and out, reasons, time,
throughput), the accounting line, the input files (and which were skipped or empty), a
few scrubbed example documents per rejection reason (read from `rejected/`), the dedup
steps' reports from the manifest and, when documents have a `lang`, the funnel per language.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.pii.scrub import scrub, snippet
from curation.stats.collect import collect
from curation.stats.html import render_run
from curation.stats.languages import language_funnel
from gristmill.atomic import write_bytes_atomic

EXAMPLES_PER_REASON = 3
REPORT, STATS = "report.html", "stats.json"


def write_run_report(output_dir: Path | str, manifest: dict[str, Any],
                     workers: int | None = None) -> Path:
    """Write OUTPUT/report.html and OUTPUT/stats.json for a finished run; return the
    report's path."""
    output_dir = Path(output_dir)
    stats = collect(output_dir, workers=workers)
    stats["run"] = run_section(output_dir, manifest)
    write_bytes_atomic(output_dir / STATS,
                       (json.dumps(stats, indent=1, ensure_ascii=False) + "\n").encode())
    report = output_dir / REPORT
    write_bytes_atomic(report, render_run(stats, stats["run"]).encode())
    return report


def run_section(output_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    steps = []
    for step in manifest["steps"]:
        seconds = step.get("seconds", 0.0) + step.get("reduce_seconds", 0.0)
        entry = {k: step[k] for k in ("name", "docs_in", "docs_out", "bytes_in", "bytes_out",
                                      "rejected", "flagged") if k in step}
        entry["seconds"] = round(seconds, 3)
        entry["docs_per_second"] = round(step["docs_in"] / seconds, 1) if seconds > 0 else None
        steps.append(entry)
    reasons = [f"{s['name']}:{rule}" for s in manifest["steps"] for rule in s["rejected"]]
    rejected = [output_dir / f["path"] for f in manifest.get("files", [])
                if f.get("split") == "rejected"]
    dedup = [{"name": s["name"], "report": _scrub_report(s["report"])}
             for s in manifest["steps"] if isinstance(s.get("report"), dict)]
    inputs = manifest.get("inputs", {})
    return {"output": str(output_dir), "pipeline": manifest.get("pipeline", {}).get("name"),
            "counts": manifest["counts"], "steps": steps,
            "inputs": {"files": inputs.get("files"), "bytes": inputs.get("bytes"),
                       "skipped": [{"path": scrub(s["path"]), "error": scrub(s["error"])}
                                   for s in inputs.get("skipped_files", [])],
                       "empty": [scrub(path) for path in inputs.get("empty_files", [])]},
            "examples": rejected_examples(rejected, reasons), "dedup": dedup,
            "languages": language_funnel(output_dir, manifest)}


def rejected_examples(files: list[Path], reasons: list[str],
                      per_reason: int = EXAMPLES_PER_REASON) -> dict[str, list[dict[str, Any]]]:
    """Up to `per_reason` rejected documents per reason, in file order, as scrubbed
    snippets. Only the `reason` column is read everywhere; text only for the chosen rows."""
    wanted = {reason: [] for reason in reasons}
    for path in files:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
        columns = [c for c in ("id", "reason", "text", "raw", "duplicate_of") if c in names]
        for group in range(parquet.metadata.num_row_groups):
            if all(len(v) >= per_reason for v in wanted.values()):
                return wanted
            reason_column = parquet.read_row_group(group, columns=["reason"]).column(0)
            picks = []
            for reason in pc.unique(reason_column).to_pylist():
                need = per_reason - len(wanted.setdefault(reason, []))
                if need > 0:
                    rows = pc.indices_nonzero(pc.equal(reason_column, reason))
                    picks += [(row, reason) for row in rows[:need].to_pylist()]
            if not picks:
                continue
            table = parquet.read_row_group(group, columns=columns).take([r for r, _ in picks])
            for record, (_, reason) in zip(table.to_pylist(), picks, strict=True):
                wanted[reason].append(_example(record))
    return wanted


def _example(record: dict[str, Any]) -> dict[str, Any]:
    text = record.get("text") or ""
    if not text and record.get("raw"):
        text = bytes(record["raw"]).decode("utf-8", errors="replace")
    example = {"id": scrub(str(record.get("id"))), "snippet": snippet(text)}
    if record.get("duplicate_of"):
        example["duplicate_of"] = scrub(str(record["duplicate_of"]))
    return example


def _scrub_report(report: dict[str, Any]) -> dict[str, Any]:
    """The dedup steps scrub their examples already; scrub again, the report is public."""
    out = dict(report)
    if isinstance(report.get("largest_clusters"), list):
        out["largest_clusters"] = [
            {**c, "kept_id": scrub(str(c.get("kept_id"))),
             "examples": [scrub(str(e)) for e in c.get("examples", [])]}
            for c in report["largest_clusters"]]
    return out
