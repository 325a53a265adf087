"""First occurrence wins: the reduce shared by exact dedup and the duplicate-id check.

Keys are 64-bit hashes held in numpy arrays (about 40 bytes per document during the
reduce), so a million documents need tens of MB, not a dict of Python objects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.core.document import Document
from curation.steps.base import Decision, GlobalStep, kept_files


class _KeyCollector:
    """One 64-bit key per kept document, saved as `keys-{position}.npy`."""

    def __init__(self, step: KeyedDedup, position: int):
        self.step, self.name, self.keys = step, f"keys-{position}.npy", []

    def add(self, doc: Document) -> None:
        self.keys.append(self.step.key(doc))

    def save(self, directory: Path) -> None:
        np.save(directory / self.name, np.array(self.keys, dtype=np.uint64))


class KeyedDedup(GlobalStep):
    """Keeps the first document (input order: file, then position) of every key."""

    rule = "duplicate"
    decision_schema = pa.schema([("row", pa.int64()), ("rule", pa.string()),
                                 ("duplicate_of", pa.string()), ("copies", pa.int64())])

    def key(self, doc: Document) -> int:
        raise NotImplementedError

    def collector(self, position: int) -> _KeyCollector:
        return _KeyCollector(self, position)

    def reduce(self, unit_dirs: dict[int, Path], position: int, out_dir: Path) -> None:
        keys = [np.load(d / f"keys-{position}.npy") for d in unit_dirs.values()]
        unit = np.repeat(np.array(list(unit_dirs), dtype=np.int64), [len(k) for k in keys])
        row = np.concatenate([np.arange(len(k)) for k in keys]) if keys else np.array([])
        all_keys = np.concatenate(keys) if keys else np.array([], dtype=np.uint64)
        _, first, inverse, counts = np.unique(
            all_keys, return_index=True, return_inverse=True, return_counts=True)
        in_group = np.nonzero(counts[inverse] > 1)[0]
        head = first[inverse[in_group]]
        head_ids = lookup_ids(unit[head], row[head], unit_dirs)
        rows, is_head, copies = row[in_group], head == in_group, counts[inverse[in_group]]
        for u, mine in by_value(unit[in_group]):
            self.write_decisions(out_dir, int(u), {
                "row": rows[mine],
                "rule": np.where(is_head[mine], None, self.rule),
                "duplicate_of": np.where(is_head[mine], None, head_ids[mine]),
                "copies": copies[mine],
            })

    def decision(self, rule: str | None, duplicate_of: str | None, copies: int) -> Decision:
        return Decision(rule, duplicate_of, copies)


def lookup_ids(units: np.ndarray, rows: np.ndarray, unit_dirs: dict[int, Path]) -> np.ndarray:
    """The ids at (unit, row) positions, reading only the id column of the units needed."""
    out = np.empty(len(units), dtype=object)
    for u, mine in by_value(units):
        tables = [pq.read_table(path, columns=["id"]) for path in kept_files(unit_dirs[int(u)])]
        ids = pa.concat_tables(tables).column("id")
        out[mine] = ids.take(pa.array(rows[mine])).to_pylist()
    return out


def by_value(values: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(value, positions in increasing order) per distinct value, in one sort: a mask per
    value would cost units x duplicates, which is slow with thousands of input files."""
    if not len(values):
        return []
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = [*starts[1:], len(values)]
    return [(ordered[a], order[a:b]) for a, b in zip(starts, ends, strict=True)]
