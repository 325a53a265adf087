"""Two corpora side by side: raw vs curated, or two pipeline variants.

Both are collected in one call with the same bins: length bins are fixed for every corpus,
and score bins are computed from the union of both corpora's value ranges. A side given as
a `stats.json` file is loaded instead of collected (its score bins may then differ, and the
score charts of such a pair are left out).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curation.core.errors import GristmillError
from curation.stats.collect import collect
from curation.stats.plan import find_files, is_numeric, numeric_ranges

TOTALS = [("documents", "documents"), ("bytes", "UTF-8 bytes"), ("chars", "characters"),
          ("words", "words"), ("lines", "lines"), ("empty_documents", "empty documents")]


def compare(path_a: str | Path, path_b: str | Path, workers: int | None = None,
            tokenizer: str | None = None, text_column: str = "text",
            labels: tuple[str, str] = ("A", "B")) -> dict[str, Any]:
    """Statistics of both corpora plus their differences (B - A), as a JSON-ready dict."""
    ranges = _shared_ranges([p for p in (path_a, path_b) if not _is_json(p)], text_column)
    sides = [_load_or_collect(p, workers, tokenizer, text_column, ranges)
             for p in (path_a, path_b)]
    a, b = sides
    return {"schema_version": 1, "kind": "gristmill.compare",
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "label_a": labels[0], "label_b": labels[1], "a": a, "b": b,
            "totals": totals(a, b), "lengths": length_deltas(a, b),
            "languages": top_deltas(a.get("languages"), b.get("languages")),
            "sources": top_deltas(a.get("sources"), b.get("sources")),
            "domains": top_deltas(a.get("domains"), b.get("domains"))}


def _is_json(path: str | Path) -> bool:
    return Path(path).is_file() and str(path).endswith(".json")


def _load_or_collect(path: str | Path, workers: int | None, tokenizer: str | None,
                     text_column: str, ranges: dict) -> dict[str, Any]:
    if _is_json(path):
        data = json.loads(Path(path).read_text())
        if data.get("kind") != "gristmill.stats":
            raise GristmillError(f"{path}: not a stats.json written by `gristmill stats`")
        return data
    return collect(path, workers=workers, tokenizer=tokenizer, text_column=text_column,
                   ranges=ranges)


def _shared_ranges(paths: list[str | Path], text_column: str) -> dict:
    """(min, max, integer) per numeric column over all the corpora that have it."""
    files, types = [], {}
    for path in paths:
        _, found, _ = find_files(path)
        files += found
        for f in found:
            for column in pq.read_schema(f):
                if column.name != text_column and is_numeric(column.type):
                    types.setdefault(column.name, column.type)
    return numeric_ranges(files, list(types), types) if files else {}


def totals(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    rows = [(label, a.get(key), b.get(key)) for key, label in TOTALS]
    rows.append(("tokens (estimated, bytes / 4)", a["tokens"]["estimated"],
                 b["tokens"]["estimated"]))
    if a["tokens"].get("exact") is not None and b["tokens"].get("exact") is not None:
        rows.append(("tokens (exact)", a["tokens"]["exact"], b["tokens"]["exact"]))
    for name in ("chars", "words"):
        rows.append((f"mean {name} per document", a["lengths"][name]["mean"],
                     b["lengths"][name]["mean"]))
        rows.append((f"median {name} per document", a["lengths"][name]["quantiles"]["p50"],
                     b["lengths"][name]["quantiles"]["p50"]))
    for label, va, vb in rows:
        delta = None if va is None or vb is None else vb - va
        out.append({"measure": label, "a": va, "b": vb, "delta": delta,
                    "relative": (delta / va) if delta is not None and va else None})
    return out


def length_deltas(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Per length: the shared bins, each corpus's count per bin, and B - A."""
    out = {}
    for name, ha in a["lengths"].items():
        hb = b["lengths"].get(name)
        if hb is None:
            continue
        edges = sorted(set(ha["edges"]) | set(hb["edges"]))
        index = {e: i for i, e in enumerate(edges)}
        ca, cb = [0] * max(len(edges) - 1, 0), [0] * max(len(edges) - 1, 0)
        for e, c in zip(ha["edges"], ha["counts"], strict=False):
            ca[index[e]] = c
        for e, c in zip(hb["edges"], hb["counts"], strict=False):
            cb[index[e]] = c
        out[name] = {"edges": edges, "a": ca, "b": cb,
                     "delta": [y - x for x, y in zip(ca, cb, strict=True)]}
    return out


def top_deltas(ta: dict[str, Any] | None, tb: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not ta or not tb:
        return []
    counts_a = {i["value"]: i["count"] for i in ta["top"]}
    counts_b = {i["value"]: i["count"] for i in tb["top"]}
    values = sorted(set(counts_a) | set(counts_b),
                    key=lambda v: (-(counts_a.get(v, 0) + counts_b.get(v, 0)), v))
    return [{"value": v, "a": counts_a.get(v, 0), "b": counts_b.get(v, 0),
             "delta": counts_b.get(v, 0) - counts_a.get(v, 0)} for v in values]
