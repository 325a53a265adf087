"""What the MinHash map stage saved for every unit (signatures, band keys, ranks, the
has-shingles mask), addressed by one global document index across units."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.dedup import npy
from curation.steps.base import kept_files


class UnitArrays:
    """Every unit's saved arrays addressed by one global index (unit order, then row).

    Only the has-shingles mask (1 byte per document) is held for the whole reduce. Band
    keys, ranks and signatures are read from the unit files when needed, with plain reads
    rather than memory maps, so RSS holds exactly what the reduce asked for.
    """

    def __init__(self, unit_dirs: dict[int, Path], position: int):
        self.units = np.array(list(unit_dirs), dtype=np.int64)
        self.dirs = list(unit_dirs.values())
        self.position = position
        self.shingled = concat([np.load(self._path(d, "shingled")) for d in self.dirs], bool)
        sizes = [npy.shape(self._path(d, "minhash"))[0] for d in self.dirs]
        self.offsets = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
        self.total = int(self.offsets[-1])

    def _path(self, directory: Path, kind: str) -> Path:
        return directory / f"{kind}-{self.position}.npy"

    def band(self, band: int) -> np.ndarray:
        """One band's keys of every document, in global order, read straight into place."""
        keys = np.empty(self.total, dtype=np.uint64)
        for p, directory in enumerate(self.dirs):
            npy.read_row(self._path(directory, "bands"), band,
                          keys[self.offsets[p]:self.offsets[p + 1]])
        return keys

    def by_unit(self, index: np.ndarray) -> Iterator[tuple[int, np.ndarray, slice]]:
        """(position of a unit, its rows, the slice of `index` they are) for sorted
        global indices: one pass over the units, however many there are."""
        bounds = np.searchsorted(index, self.offsets)
        for p in np.flatnonzero(np.diff(bounds)):
            where = slice(int(bounds[p]), int(bounds[p + 1]))
            yield int(p), index[where] - self.offsets[p], where

    def rank(self, index: np.ndarray) -> np.ndarray:
        """Keep-rule rank of the documents at sorted global indices."""
        out = np.empty(len(index), dtype=np.float64)
        for p, rows, where in self.by_unit(index):
            out[where] = np.load(self._path(self.dirs[p], "rank"))[rows]
        return out

    def signature_rows(self, index: np.ndarray) -> SignatureRows:
        """The signatures of the documents at sorted, unique global indices."""
        rows_out = np.empty((len(index), self._num_perm()), dtype=np.uint32)
        for p, rows, where in self.by_unit(index):
            rows_out[where] = npy.read_rows(self._path(self.dirs[p], "minhash"), rows)
        return SignatureRows(index, rows_out)

    def _num_perm(self) -> int:
        return npy.shape(self._path(self.dirs[0], "minhash"))[1] if self.dirs else 0

    def ids(self, index: np.ndarray) -> np.ndarray:
        """The ids of the documents at global indices (any order, repeats allowed)."""
        wanted, back = np.unique(index, return_inverse=True)
        found = np.empty(len(wanted), dtype=object)
        for p, rows, where in self.by_unit(wanted):
            found[where] = column_values(kept_files(self.dirs[p]), rows, "id")
        return found[back]

    def text(self, index: int) -> str:
        """One document's text."""
        (p, rows, _), = self.by_unit(np.array([index]))
        return column_values(kept_files(self.dirs[p]), rows, "text")[0]


class SignatureRows:
    """Signatures of a sorted set of documents, looked up by global index."""

    def __init__(self, index: np.ndarray, rows: np.ndarray):
        self.index, self.rows = index, rows

    def jaccard(self, left: np.ndarray, right: np.ndarray, chunk: int = 16384) -> np.ndarray:
        """Estimated Jaccard of each pair: the share of equal signature values."""
        out = np.empty(len(left), dtype=np.float64)
        for low in range(0, len(left), chunk):
            a = self.rows[np.searchsorted(self.index, left[low:low + chunk])]
            b = self.rows[np.searchsorted(self.index, right[low:low + chunk])]
            out[low:low + chunk] = (a == b).mean(axis=1)
        return out


def column_values(files: list[Path], rows: np.ndarray, column: str,
                   batch_rows: int = 8192) -> list[Any]:
    """Values of `column` at sorted `rows` of a unit's kept files (rows count across the
    files in order). Only row groups holding a wanted row are decoded, in batches, and
    reading stops at the last wanted row: a few example texts never load a whole shard."""
    out: list[Any] = []
    first = 0  # index of the current row group's first row
    for path in files:
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            size = parquet.metadata.row_group(group).num_rows
            low, high = np.searchsorted(rows, [first, first + size])
            batches = parquet.iter_batches(batch_rows, row_groups=[group], columns=[column])
            start = first
            while low < high:
                batch = next(batches)
                end = int(np.searchsorted(rows, start + batch.num_rows))
                out += batch.column(0).take(pa.array(rows[low:end] - start)).to_pylist()
                low, start = end, start + batch.num_rows
            first += size
    return out


def concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)
