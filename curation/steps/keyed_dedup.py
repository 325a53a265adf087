"""First occurrence wins: the reduce shared by exact dedup and the duplicate-id check.

Keys are 64-bit hashes held in numpy arrays (about 40 bytes per document during the
reduce), so a million documents need tens of MB, not a dict of Python objects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.document import Document
from curation.hashing import hash64
from curation.io.atomic import write_parquet_atomic
from curation.steps.base import Decision, GlobalStep

_DECISION_SCHEMA = pa.schema([("row", pa.int64()), ("rule", pa.string()),
                              ("duplicate_of", pa.string()), ("copies", pa.int64())])


class KeyedDedup(GlobalStep):
    """Keeps the first document (input order: file, then position) of every key."""

    rule = "duplicate"

    def reduce(self, key_files: list[Path], id_files: list[list[Path]], out_dir: Path) -> None:
        keys = [np.load(path) for path in key_files]
        unit = np.repeat(np.arange(len(keys)), [len(k) for k in keys])
        row = np.concatenate([np.arange(len(k)) for k in keys]) if keys else np.array([])
        all_keys = np.concatenate(keys) if keys else np.array([], dtype=np.uint64)
        _, first, inverse, counts = np.unique(
            all_keys, return_index=True, return_inverse=True, return_counts=True)
        in_group = np.nonzero(counts[inverse] > 1)[0]
        head = first[inverse[in_group]]
        head_ids = _lookup_ids(unit[head], row[head], id_files)
        for u in np.unique(unit[in_group]):
            mine = unit[in_group] == u
            rows = row[in_group][mine]
            is_head = head[mine] == in_group[mine]
            table = pa.table({
                "row": rows,
                "rule": np.where(is_head, None, self.rule),
                "duplicate_of": np.where(is_head, None, head_ids[mine]),
                "copies": counts[inverse[in_group[mine]]],
            }, schema=_DECISION_SCHEMA)
            write_parquet_atomic(table, out_dir / f"u{int(u):05d}.parquet")

    def load_decisions(self, out_dir: Path, unit: int) -> dict[int, Decision]:
        path = out_dir / f"u{unit:05d}.parquet"
        if not path.exists():
            return {}
        table = pq.read_table(path).to_pydict()
        return {r: Decision(rule, dup, copies) for r, rule, dup, copies in zip(
            table["row"], table["rule"], table["duplicate_of"], table["copies"], strict=True)}


def _lookup_ids(units: np.ndarray, rows: np.ndarray, id_files: list[list[Path]]) -> np.ndarray:
    """The ids at (unit, row) positions, reading only the id column of the units needed."""
    out = np.empty(len(units), dtype=object)
    for u in np.unique(units):
        tables = [pq.read_table(path, columns=["id"]) for path in id_files[u]]
        ids = pa.concat_tables(tables).column("id")
        mine = units == u
        out[mine] = ids.take(pa.array(rows[mine])).to_pylist()
    return out


class UniqueIds(KeyedDedup):
    """Implicit first step when ids come from the input: later repeats of an id are rejected."""

    name = "unique_ids"
    rule = "duplicate_id"

    def key(self, doc: Document) -> int:
        return hash64(doc.id)

    def apply(self, doc: Document, decision: Decision | None) -> str | None:
        return decision.rule if decision else None
