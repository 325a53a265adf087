"""What to collect from a corpus: which files, which columns play which role, the bins of
every numeric column, and the thresholds of the pipeline that made it (from its manifest).
Decided once, from schemas and Parquet metadata, before any text is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.core.errors import GristmillError
from curation.stats.histogram import score_edges
from curation.stats.measure import numbers
from gristmill.shards import kept_files, read_manifest

SAMPLE_SIZE = 100
# Columns with a role of their own (never summarized as scores).
ID, SOURCE, URL, LANG, DUP_SIZE = "id", "source", "url", "lang", "dup_cluster_size"
PII_PREFIX = "pii_"


@dataclass
class Plan:
    """What every worker collects; decided once, from the schemas and metadata."""

    text: str = "text"
    numeric: dict[str, tuple[list[float], str, str]] = field(default_factory=dict)
    lang: str | None = None
    source: str | None = None
    url: str | None = None
    id: str | None = None
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    tokenizer: str | None = None
    sample_size: int = SAMPLE_SIZE
    sample_below: float = 1.0  # rows with a random key at or above this never enter the sample


def find_files(path: str | Path) -> tuple[Path, list[Path], dict[str, Any] | None]:
    """The Parquet files to read, their common root, and the gristmill manifest if any.

    A gristmill output directory: the kept shards its manifest lists (not `rejected/`).
    Any other directory: every `*.parquet` below it, skipping names that start with `.` or
    `_` (temporary and work folders). A single file: that file."""
    root = Path(path)
    if root.is_file():
        return root.parent, [root], None
    if not root.is_dir():
        raise GristmillError(f"{root}: no such file or directory")
    manifest = read_manifest(root)
    if manifest is not None:
        files = kept_files(root, manifest)
    else:
        files = sorted(p for p in root.rglob("*.parquet")
                       if not any(part.startswith((".", "_"))
                                  for part in p.relative_to(root).parts))
    if not files and manifest is None:
        raise GristmillError(f"{root}: no Parquet files found")
    return root, files, manifest


def make_plan(files: list[Path], manifest: dict[str, Any] | None, text: str = "text",
              tokenizer: str | None = None,
              ranges: dict[str, tuple[float, float, bool]] | None = None) -> Plan:
    """Decide the columns and the bins. `ranges` fixes score ranges (compare mode passes the
    union of both corpora's, so both get the same bins)."""
    if not files:  # a run that kept nothing
        return Plan(text=text, tokenizer=tokenizer)
    schemas = {str(f): pq.read_schema(f) for f in files}
    names: dict[str, pa.DataType] = {}
    for schema in schemas.values():
        for column in schema:
            names.setdefault(column.name, column.type)
    if text not in names:
        raise GristmillError(f"{files[0]}: no {text!r} column (columns: "
                             f"{', '.join(names) or 'none'}); pass --text-column")
    plan = Plan(text=text, tokenizer=tokenizer)
    plan.lang = LANG if _is_string(names.get(LANG)) else None
    plan.source = SOURCE if _is_string(names.get(SOURCE)) else None
    plan.url = URL if _is_string(names.get(URL)) else None
    plan.id = ID if ID in names else None
    numeric = [n for n, t in names.items() if n != text and is_numeric(t)]
    ranges = dict(ranges or {})
    missing = [n for n in numeric if n not in ranges]
    ranges.update(numeric_ranges(files, missing, names))
    for name in numeric:
        low, high, integer = ranges[name]
        edges, scale = score_edges(low, high, integer)
        plan.numeric[name] = (edges.tolist(), scale, _unit(name, names[name]))
    plan.thresholds = thresholds_from_manifest(manifest, set(numeric))
    return plan


def numeric_ranges(files: list[Path], columns: list[str],
                   types: dict[str, pa.DataType]) -> dict[str, tuple[float, float, bool]]:
    """(min, max, integer) per column, from row-group statistics where every row group has
    them, else by reading that column (numbers only: cheap next to the text)."""
    out: dict[str, tuple[float, float, bool]] = {}
    for name in columns:
        integer = pa.types.is_integer(types[name]) or pa.types.is_boolean(types[name])
        low, high, complete = np.inf, -np.inf, True
        for path in files:
            meta = pq.ParquetFile(path).metadata
            schema_names = [meta.schema.column(i).name for i in range(meta.num_columns)]
            if name not in schema_names:
                continue
            index = schema_names.index(name)
            for rg in range(meta.num_row_groups):
                column = meta.row_group(rg).column(index)
                stats = column.statistics
                if column.num_values == 0 or (stats is not None and stats.null_count
                                              == meta.row_group(rg).num_rows):
                    continue
                if stats is None or not stats.has_min_max:
                    complete = False
                    break
                lo, hi = float(stats.min), float(stats.max)
                if not (np.isfinite(lo) and np.isfinite(hi)):
                    complete = False
                    break
                low, high = min(low, lo), max(high, hi)
            if not complete:
                break
        if not complete:
            low, high = _scan_range(files, name)
        if not np.isfinite(low):
            low, high = 0.0, 1.0
        out[name] = (low, high, integer)
    return out


def _scan_range(files: list[Path], name: str) -> tuple[float, float]:
    low, high = np.inf, -np.inf
    for path in files:
        parquet = pq.ParquetFile(path)
        if name not in parquet.schema_arrow.names:
            continue
        for batch in parquet.iter_batches(columns=[name], batch_size=1 << 16):
            values = numbers(batch.column(0)).astype(np.float64)
            values = values[np.isfinite(values)]
            if len(values):
                low, high = min(low, float(values.min())), max(high, float(values.max()))
    return low, high


# Known thresholds: (step, parameter) -> column, where the generic rule (below) misses.
_THRESHOLD_COLUMNS = {("language", "min_score"): "lang_score",
                      ("toxicity", "max_score"): "toxicity"}


def thresholds_from_manifest(manifest: dict[str, Any] | None,
                             columns: set[str] | list[str]) -> list[dict[str, Any]]:
    """Thresholds of the run's filters, read from its resolved config. A parameter
    `min_X`/`max_X` of step `S` applies to the first of these columns the corpus has:
    `S_X`, then `P_X` (P: the step name up to its first `_`, so gopher_quality's
    min_stop_words -> gopher_stop_words); for the `length` step, `n_X`. A few are named
    in _THRESHOLD_COLUMNS. A `min_` keeps values at or above, a `max_` values at or below."""
    if not manifest:
        return []
    steps = manifest.get("pipeline", {}).get("resolved", {}).get("steps", [])
    found = []
    for entry in steps:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue
        (step, params), = entry.items()
        for param, value in (params or {}).items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if (step, param) in _THRESHOLD_COLUMNS:
                candidates = [_THRESHOLD_COLUMNS[step, param]]
            elif param.startswith(("min_", "max_")):
                stem = param[4:]
                candidates = [f"{step}_{stem}", f"{step.split('_')[0]}_{stem}"]
                if step == "length":
                    candidates.append(f"n_{stem}")
            else:
                continue
            column = next((c for c in candidates if c in columns), None)
            if column is not None:
                found.append({"column": column, "value": float(value), "step": step,
                              "param": param,
                              "keeps": "above" if param.startswith("min_") else "below"})
    return found


def _is_string(kind: pa.DataType | None) -> bool:
    return kind is not None and (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                                 or pa.types.is_dictionary(kind))


def is_numeric(kind: pa.DataType) -> bool:
    return (pa.types.is_integer(kind) or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind))


_UNITS = {"n_chars": "characters", "n_words": "words", DUP_SIZE: "documents in cluster",
          "lang_score": "probability", "exact_dup_copies": "copies"}


def _unit(name: str, kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return "0 = false, 1 = true"
    if name.startswith(PII_PREFIX):
        return "matches per document"
    if name.endswith(("_ratio", "_frac", "_fraction")):
        return "fraction"
    return _UNITS.get(name, "value")
