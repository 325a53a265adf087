"""Parquet shard writer: zstd, bounded row groups, size-based rotation, checksummed files.

Row groups close at `row_group_rows` rows or `row_group_bytes` of text, whichever comes
first, so a few huge documents never make a multi-GB row group; a shard closes after
`shard_max_bytes` of text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.core.config import OutputConfig
from curation.core.document import Document, Rejected
from gristmill.atomic import fsync_file, publish, temp_path
from gristmill.hashing import file_sha256

BASE_FIELDS = [pa.field("id", pa.string()), pa.field("text", pa.string()),
               pa.field("source", pa.string())]
LZ4 = {"compression": "lz4"}
BATCH_ROWS, BATCH_BYTES = 8192, 8 << 20  # rows held as Python objects before Arrow
REJECT_FIELDS = [pa.field("reason", pa.string()), pa.field("duplicate_of", pa.string()),
                 pa.field("raw", pa.binary())]


def build_schema(metadata: list[str], step_columns: dict[str, pa.DataType]) -> pa.Schema:
    """Kept-document schema: id, text, source, kept metadata (strings), step columns."""
    return pa.schema([*BASE_FIELDS, *(pa.field(m, pa.string()) for m in metadata),
                      *(pa.field(name, kind) for name, kind in step_columns.items())])


def rejected_schema(schema: pa.Schema) -> pa.Schema:
    """Rejected rows keep every column plus why they left and, if unparseable, the raw bytes."""
    fields = [schema.field(name) for name in schema.names]
    return pa.schema([*fields[:3], *REJECT_FIELDS, *fields[3:]])


def doc_row(doc: Document) -> dict[str, Any]:
    return {"id": doc.id, "text": doc.text, "source": doc.source, **doc.meta}


def rejected_row(rej: Rejected) -> dict[str, Any]:
    return {**doc_row(rej.doc), "reason": rej.reason, "duplicate_of": rej.duplicate_of,
            "raw": rej.raw}


@dataclass
class ShardInfo:
    """What the manifest records about one finished file."""

    path: Path
    rows: int
    bytes: int
    sha256: str
    text_bytes: int
    provisional: bool = False  # lz4, written only to be merged (recompressed) at finalize


class ShardWriter:
    """Writes rows to `{prefix}-00000.parquet`, `{prefix}-00001.parquet`, ... in `directory`."""

    def __init__(self, directory: Path, prefix: str, schema: pa.Schema, cfg: OutputConfig,
                 temporary: bool = False):
        self.directory, self.prefix, self.schema, self.cfg = directory, prefix, schema, cfg
        # Files that only feed the next stage: lz4 costs under half of zstd's CPU time.
        self.compression = LZ4 if temporary else {
            "compression": "zstd", "compression_level": cfg.compression_level}
        # An output small enough for finalize to merge is recompressed there anyway.
        self._provisional_below = 0 if temporary else cfg.merge_below_bytes
        self.finished: list[ShardInfo] = []
        self._writer: pq.ParquetWriter | None = None
        self._rows: list[dict[str, Any]] = []  # not yet converted to Arrow
        self._pieces: list[pa.RecordBatch] = []  # converted, but not yet one batch
        self._pending = 0  # rows in _pieces and _rows
        self._rows_bytes = 0
        self._batches: list[pa.RecordBatch] = []  # the open row group, already Arrow
        self._group_rows = 0
        self._group_bytes = 0
        self._shard_bytes = 0
        self._shard_rows = 0

    def write(self, row: dict[str, Any], text_bytes: int) -> None:
        self._rows.append(row)
        self._added(1, text_bytes)

    def write_batch(self, batch: pa.RecordBatch, text_bytes: np.ndarray) -> None:
        """Rows already in Arrow, cut where `write` of each row would have converted and
        flushed: Parquet's pages depend on where the chunks end, and the file stays the same."""
        self._rows_to_piece()
        cumulative = np.cumsum(text_bytes, dtype=np.int64)
        start = 0
        while start < batch.num_rows:
            before = int(cumulative[start - 1]) if start else 0
            take = self._rows_until_full(cumulative[start:] - before)
            self._pieces.append(batch.slice(start, take))
            start += take
            self._added(take, int(cumulative[start - 1]) - before)

    def _rows_until_full(self, cumulative: np.ndarray) -> int:
        """How many of these rows `write` would take before it converts or flushes."""
        shard_left = self.cfg.shard_max_bytes - self._shard_bytes - self._group_bytes
        by_bytes = min(BATCH_BYTES - self._rows_bytes, self.cfg.row_group_bytes -
                       self._group_bytes, shard_left)
        by_rows = min(BATCH_ROWS - self._pending, self.cfg.row_group_rows - self._group_rows)
        return _rows_until_full(cumulative, by_rows, by_bytes)

    def _added(self, rows: int, text_bytes: int) -> None:
        self._pending += rows
        self._rows_bytes += text_bytes
        self._group_rows += rows
        self._group_bytes += text_bytes
        if self._pending >= BATCH_ROWS or self._rows_bytes >= BATCH_BYTES:
            self._convert()
        if self._group_rows >= self.cfg.row_group_rows or \
                self._group_bytes >= self.cfg.row_group_bytes or \
                self._shard_bytes + self._group_bytes >= self.cfg.shard_max_bytes:
            self._flush_group()

    def _convert(self) -> None:
        """Python rows to an Arrow batch: a row group held as dicts would take several times
        its text in memory."""
        self._rows_to_piece()
        if self._pieces:
            self._batches.append(self._pieces[0] if len(self._pieces) == 1
                                 else pa.concat_batches(self._pieces))
        self._pieces, self._pending, self._rows_bytes = [], 0, 0

    def _rows_to_piece(self) -> None:
        if self._rows:
            self._pieces.append(pa.RecordBatch.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def close(self) -> list[ShardInfo]:
        """Flush and close; returns every shard written, in order."""
        if not self.finished and self._writer is None and \
                self._group_bytes < self._provisional_below:
            self._flush_group(LZ4)
            self._close_shard(provisional=True)
        self._flush_group()
        self._close_shard()
        return self.finished

    def _flush_group(self, compression: dict[str, Any] | None = None) -> None:
        self._convert()
        if not self._batches:
            return
        table = pa.Table.from_batches(self._batches, schema=self.schema)
        if self._writer is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self._path(), self.schema,
                                            **(compression or self.compression))
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._shard_bytes += self._group_bytes
        self._shard_rows += table.num_rows
        self._batches, self._group_rows, self._group_bytes = [], 0, 0
        if self._shard_bytes >= self.cfg.shard_max_bytes:
            self._close_shard()

    def _close_shard(self, provisional: bool = False) -> None:
        if self._writer is None:
            return
        self._writer.close()
        path = self._path()
        fsync_file(path)
        self.finished.append(ShardInfo(path, self._shard_rows, path.stat().st_size,
                                       file_sha256(path), self._shard_bytes, provisional))
        self._writer, self._shard_bytes, self._shard_rows = None, 0, 0

    def _path(self) -> Path:
        return self.directory / f"{self.prefix}-{len(self.finished):05d}.parquet"


def merge_shards(sources: list[Path], dest: Path, schema: pa.Schema, cfg: OutputConfig) -> None:
    """Concatenate small shards into one file (atomically) with the writer's row-group rule:
    a group closes at the row that reaches `row_group_rows` or `row_group_bytes`."""
    tmp = temp_path(dest)
    writer = pq.ParquetWriter(tmp, schema, compression="zstd",
                              compression_level=cfg.compression_level)
    group: list[pa.RecordBatch] = []
    rows = size = 0
    for source in sources:
        for batch in pq.ParquetFile(source).iter_batches(1024):
            lengths = np.cumsum(pc.binary_length(batch.column("text")).fill_null(0)
                                .to_numpy(zero_copy_only=False))
            start = 0
            while start < batch.num_rows:
                take = _rows_until_full(lengths[start:] - (lengths[start - 1] if start else 0),
                                        cfg.row_group_rows - rows, cfg.row_group_bytes - size)
                group.append(batch.slice(start, take))
                rows += take
                size += int(lengths[start + take - 1] - (lengths[start - 1] if start else 0))
                start += take
                if rows >= cfg.row_group_rows or size >= cfg.row_group_bytes:
                    writer.write_table(pa.Table.from_batches(group), row_group_size=rows)
                    group, rows, size = [], 0, 0
    if group:
        writer.write_table(pa.Table.from_batches(group), row_group_size=rows)
    writer.close()
    publish(tmp, dest)


def _rows_until_full(cumulative: np.ndarray, rows_left: int, bytes_left: int) -> int:
    """How many of these rows fit in the current group, counting the one that fills it."""
    by_bytes = int(np.searchsorted(cumulative, bytes_left, side="left")) + 1
    return min(len(cumulative), rows_left, by_bytes)
