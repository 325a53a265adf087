"""Corpus statistics over any directory of Parquet files with a text column.

Streaming and parallel: the unit of work is one row group, read in batches of at most
~32 MB of text; worker processes each return a small partial result (histograms with fixed
bins, bounded top-value counters, a bounded sample), merged in row-group order, so the
result does not depend on the number of workers and memory never holds a corpus-sized list.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.pii.scrub import scrub, snippet
from curation.stats.histogram import Histogram, length_histogram
from curation.stats.measure import measure, numbers
from curation.stats.plan import DUP_SIZE, PII_PREFIX, Plan, find_files, make_plan
from curation.stats.sketches import Nearest, Sample, TopValues
from curation.stats.urls import domains

SCHEMA_VERSION = 1
BATCH_BYTES = 32 << 20
NEAR = 3  # examples on each side of a threshold
TOP = 20  # top sources / domains / languages in the JSON
TOKENS_PER_BYTE = 0.25  # the estimate: bytes / 4
SNIPPET_SOURCE = 1000  # characters kept per example row until it is scrubbed for output


@dataclass
class Unit:
    index: int
    path: str
    row_group: int
    rows: int
    text_bytes: int  # uncompressed size of the text column chunk (from metadata)


class Partial:
    """Statistics of some row groups; partials merge into the corpus statistics."""

    def __init__(self, plan: Plan):
        self.documents = 0
        self.null_text = 0
        self.empty = 0
        self.lengths = {name: length_histogram(unit) for name, unit in
                        (("bytes", "bytes"), ("chars", "characters"), ("words", "words"),
                         ("lines", "lines"))}
        if plan.tokenizer:
            self.lengths["tokens"] = length_histogram("tokens")
        self.numeric = {name: Histogram(edges, unit, scale)
                        for name, (edges, scale, unit) in plan.numeric.items()}
        self.languages = TopValues(capacity=1000) if plan.lang else None
        self.sources = TopValues() if plan.source else None
        self.domains = TopValues() if plan.url else None
        self.near = [Nearest(t["value"], NEAR) for t in plan.thresholds]
        self.sample = Sample(plan.sample_size)

    def merge(self, other: Partial) -> None:
        self.documents += other.documents
        self.null_text += other.null_text
        self.empty += other.empty
        for name, hist in self.lengths.items():
            hist.merge(other.lengths[name])
        for name, hist in self.numeric.items():
            hist.merge(other.numeric[name])
        for mine, theirs in ((self.languages, other.languages), (self.sources, other.sources),
                             (self.domains, other.domains)):
            if mine is not None:
                mine.merge(theirs)
        for mine, theirs in zip(self.near, other.near, strict=True):
            mine.merge(theirs)
        self.sample.merge(other.sample)


# ---------------------------------------------------------------------------------------
# The work


def collect(path: str | Path, workers: int | None = None, tokenizer: str | None = None,
            text_column: str = "text",
            ranges: dict[str, tuple[float, float, bool]] | None = None) -> dict[str, Any]:
    """Statistics of the corpus at `path`, as the JSON-ready dict documented in
    docs/stats.md."""
    start = time.monotonic()
    root, files, manifest = find_files(path)
    plan = make_plan(files, manifest, text_column, tokenizer, ranges)
    units = plan_units(files, plan.text)
    # Each row gets a uniform random key and the sample keeps the smallest keys; a row whose
    # key is above 4 * k / rows is (almost surely) not among them, so it is not even built.
    rows = sum(u.rows for u in units)
    plan.sample_below = min(1.0, 4 * plan.sample_size / rows) if rows else 1.0
    workers = max(1, min(workers or _cpus(), len(units) or 1))
    total = run_units(plan, units, workers)
    return build_result(root, files, manifest, plan, units, total, workers,
                        time.monotonic() - start)


def plan_units(files: list[Path], text: str) -> list[Unit]:
    units = []
    for path in files:
        meta = pq.ParquetFile(path).metadata
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        index = names.index(text) if text in names else None
        for rg in range(meta.num_row_groups):
            group = meta.row_group(rg)
            size = group.column(index).total_uncompressed_size if index is not None else 0
            units.append(Unit(len(units), str(path), rg, group.num_rows, size))
    return units


def run_units(plan: Plan, units: list[Unit], workers: int) -> Partial:
    total = Partial(plan)
    if workers <= 1 or len(units) <= 1:
        for unit in units:
            total.merge(collect_unit(plan, unit))
        return total
    context = mp.get_context("fork")
    with context.Pool(workers, initializer=_init_worker, initargs=(plan,)) as pool:
        for partial in pool.imap(_worker, units, chunksize=1):  # in order: deterministic
            total.merge(partial)
    return total


_PLAN: Plan | None = None


def _init_worker(plan: Plan) -> None:
    global _PLAN
    _PLAN = plan
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one core per worker


def _worker(unit: Unit) -> Partial:
    assert _PLAN is not None
    return collect_unit(_PLAN, unit, use_threads=False)


def collect_unit(plan: Plan, unit: Unit, use_threads: bool = True) -> Partial:
    """Statistics of one row group, read in batches of about BATCH_BYTES of text."""
    part = Partial(plan)
    parquet = pq.ParquetFile(unit.path)
    present = set(parquet.schema_arrow.names)
    wanted = [plan.text, plan.id, plan.lang, plan.source, plan.url, *plan.numeric]
    columns = [c for c in dict.fromkeys(wanted) if c and c in present]
    if plan.text not in present:
        return part
    per_row = max(unit.text_bytes / max(unit.rows, 1), 1.0)
    batch_rows = int(min(max(BATCH_BYTES / per_row, 1), 65536))
    batches = parquet.iter_batches(batch_size=batch_rows, row_groups=[unit.row_group],
                                   columns=columns, use_threads=use_threads)
    for number, batch in enumerate(batches):
        _collect_batch(plan, part, batch, seed=(unit.index, number))
    return part


def _collect_batch(plan: Plan, part: Partial, batch: pa.RecordBatch,
                   seed: tuple[int, int]) -> None:
    names = batch.schema.names
    texts = batch.column(names.index(plan.text))
    lengths = measure(texts)
    n = batch.num_rows
    part.documents += n
    part.null_text += lengths.nulls
    part.empty += int(np.count_nonzero(lengths.bytes == 0))
    for name in ("bytes", "chars", "words", "lines"):
        part.lengths[name].add(getattr(lengths, name))
    if plan.tokenizer:
        part.lengths["tokens"].add(_count_tokens(plan.tokenizer, texts))
    values_by_column = {name: _floats(batch.column(names.index(name)))
               for name in plan.numeric if name in names}
    for name, values in values_by_column.items():
        part.numeric[name].add(values)
    for name, hist in part.numeric.items():  # a file without the column: all null
        if name not in values_by_column:
            hist.nulls += n
    for counter, column in ((part.languages, plan.lang), (part.sources, plan.source)):
        if counter is not None:
            _count_values(counter, batch.column(names.index(column)) if column in names
                          else pa.nulls(n, pa.string()))
    if part.domains is not None:
        urls = batch.column(names.index(plan.url)) if plan.url in names else \
            pa.nulls(n, pa.string())
        _count_values(part.domains, domains(urls))

    def make_row(i: int) -> dict[str, Any]:
        text = texts[i].as_py() or ""
        row = {"id": str(batch.column(names.index(plan.id))[i].as_py())
               if plan.id in names else None,
               "head": text[:SNIPPET_SOURCE], "chars": int(lengths.chars[i]),
               "words": int(lengths.words[i])}
        if plan.source in names:
            row["source"] = batch.column(names.index(plan.source))[i].as_py()
        row["values"] = {k: _plain(v[i]) for k, v in values_by_column.items()}
        return row

    for near, threshold in zip(part.near, plan.thresholds, strict=True):
        values = values_by_column.get(threshold["column"])
        if values is None:
            continue
        rows = np.flatnonzero(~np.isnan(values))
        near.offer(values[rows], lambda i, rows=rows: make_row(int(rows[i])))
    keys = np.random.default_rng(list(seed)).random(n)
    chosen = np.flatnonzero(keys < plan.sample_below)
    part.sample.offer(keys[chosen], lambda i: make_row(int(chosen[i])))


def _count_values(counter: TopValues, values: pa.Array) -> None:
    if pa.types.is_dictionary(values.type):
        values = values.cast(pa.string())
    counts = pc.value_counts(values)
    counter.add(counts.field("values").to_pylist(), counts.field("counts").to_pylist())


def _floats(column: pa.Array) -> np.ndarray:
    if pa.types.is_boolean(column.type):
        column = column.cast(pa.int8())
    return numbers(column).astype(np.float64)


def _plain(value: float) -> float | int | None:
    if np.isnan(value):
        return None
    return int(value) if float(value).is_integer() else round(float(value), 6)


_TOKENIZERS: dict[str, Any] = {}


def _count_tokens(path: str, texts: pa.Array) -> np.ndarray:
    """Exact token counts with a `tokenizers` tokenizer.json (no special tokens added)."""
    tokenizer = _TOKENIZERS.get(path)
    if tokenizer is None:
        from tokenizers import Tokenizer
        tokenizer = _TOKENIZERS[path] = Tokenizer.from_file(path)
    strings = [t or "" for t in texts.to_pylist()]
    encoded = tokenizer.encode_batch(strings, add_special_tokens=False)
    return np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(encoded))


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------
# The result


def build_result(root: Path, files: list[Path], manifest: dict[str, Any] | None, plan: Plan,
                 units: list[Unit], total: Partial, workers: int,
                 seconds: float) -> dict[str, Any]:
    words, nbytes = total.lengths["words"], total.lengths["bytes"]
    splits: dict[str, int] = {}
    for unit in units:
        folder = Path(unit.path).parent
        name = "." if folder == root else str(folder.relative_to(root)) \
            if folder.is_relative_to(root) else str(folder)
        splits[name] = splits.get(name, 0) + unit.rows
    tokens: dict[str, Any] = {"estimated": round(nbytes.total * TOKENS_PER_BYTE),
                              "estimate_method": "UTF-8 bytes / 4",
                              "exact": None, "tokenizer": plan.tokenizer}
    if plan.tokenizer:
        tokens["exact"] = int(total.lengths["tokens"].total)
    scores, pii, dup = {}, {}, None
    for name, hist in total.numeric.items():
        entry = hist.to_dict()
        if name.startswith(PII_PREFIX):
            zero = _count_below(hist, 1.0)
            pii[name] = {"entity": name[len(PII_PREFIX):], "matches": entry["sum"],
                         "documents": hist.count - zero, "histogram": entry}
        elif name == DUP_SIZE:
            dup = {"column": name, "documents": hist.count + hist.nulls,
                   "in_clusters": hist.count - _count_below(hist, 2.0), "histogram": entry}
        else:
            scores[name] = {"histogram": entry,
                            "thresholds": [], "examples": _quantile_examples(
                                name, hist, total.sample.rows)}
    for near, threshold in zip(total.near, plan.thresholds, strict=True):
        if threshold["column"] in scores:
            scores[threshold["column"]]["thresholds"].append({
                **threshold, "below": [_example(v, r) for v, r in near.below],
                "above": [_example(v, r) for v, r in near.above]})
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "gristmill.stats",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "path": str(root),
        "files": len(files),
        "row_groups": len(units),
        "text_column": plan.text,
        "splits": splits,
        "documents": total.documents,
        "empty_documents": total.empty,
        "null_texts": total.null_text,
        "bytes": int(nbytes.total),
        "chars": int(total.lengths["chars"].total),
        "words": int(words.total),
        "lines": int(total.lengths["lines"].total),
        "tokens": tokens,
        "lengths": {name: hist.to_dict() for name, hist in total.lengths.items()},
        "languages": _top(total.languages, plan.lang, 100),
        "sources": _top(total.sources, plan.source, TOP),
        "domains": _top(total.domains, plan.url, TOP),
        "scores": scores,
        "pii": pii,
        "duplicates": dup,
        "sample": [_example(None, row) for row in total.sample.rows[:10]],
        "pipeline": (manifest or {}).get("pipeline", {}).get("name"),
        "seconds": round(seconds, 3),
        "workers": workers,
        "documents_per_second": round(total.documents / seconds, 1) if seconds > 0 else None,
    }


def _count_below(hist: Histogram, value: float) -> int:
    """Values below `value`, which must be a bin edge (0 and 1 are, for integer columns)."""
    index = int(np.searchsorted(hist.edges, value))
    return int(hist.counts[:index].sum())


def _top(counter: TopValues | None, column: str | None, k: int) -> dict[str, Any] | None:
    """The top values for output, scrubbed like all text from the data (values that scrub
    to the same text, say two e-mail addresses, are added up)."""
    if counter is None:
        return None
    out = {"column": column, **counter.to_dict(k)}
    merged: dict[str, int] = {}
    for item in out["top"]:
        value = scrub(str(item["value"]))
        merged[value] = merged.get(value, 0) + item["count"]
    out["top"] = [{"value": v, "count": n} for v, n in merged.items()]
    return out


def _example(value: float | None, row: dict[str, Any]) -> dict[str, Any]:
    """An example row for output: text only as a scrubbed snippet, id and source scrubbed."""
    out = {} if value is None else {"value": _plain(value)}
    out.update((k, v) for k, v in row.items() if k not in ("values", "head"))
    for key in ("id", "source"):
        if out.get(key) is not None:
            out[key] = scrub(str(out[key]))
    out["snippet"] = snippet(row["head"])
    return out


def _quantile_examples(name: str, hist: Histogram, rows: list[dict[str, Any]]) -> list:
    """From the uniform sample: the document closest to the 10th, 50th and 90th percentile."""
    out: list[dict[str, Any]] = []
    candidates = [(r["values"].get(name), r) for r in rows if r["values"].get(name) is not None]
    if not candidates or hist.minimum == hist.maximum or len(hist.counts) <= 2:
        return out  # one value, or a flag: nothing to tell apart
    shown = set()
    for q in (0.1, 0.5, 0.9):
        target = hist.quantile(q)
        value, row = min(candidates, key=lambda c, t=target: (abs(c[0] - t), str(c[1]["id"])))
        if row["id"] in shown:
            continue
        shown.add(row["id"])
        out.append({"quantile": f"p{round(q * 100)}", "target": _plain(target),
                    **_example(value, row)})
    return out
