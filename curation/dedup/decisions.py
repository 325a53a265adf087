"""Where a global step's reduce leaves its decisions: one Parquet file per unit that has
any, `u{unit:05d}.parquet` in the reduce directory, its first column the row in the unit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gristmill.atomic import write_parquet_atomic


def path(out_dir: Path, unit: int) -> Path:
    return out_dir / f"u{unit:05d}.parquet"


def write(out_dir: Path, unit: int, table: pa.Table) -> None:
    write_parquet_atomic(table, path(out_dir, unit))


def read(out_dir: Path, unit: int) -> dict[str, list[Any]] | None:
    """The unit's decision columns, or None when the reduce decided nothing for it."""
    found = path(out_dir, unit)
    return pq.read_table(found).to_pydict() if found.exists() else None
