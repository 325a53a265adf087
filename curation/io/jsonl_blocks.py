"""JSONL read a block of lines at a time by Arrow's JSON parser, where that is exact.

The line parser (`readers._parse_json_line`) stays the definition of what a line becomes.
A block is taken here only when every line in it is one JSON object that the line parser
would turn into a document, with the same id, text, source and metadata; any other block
returns None and is parsed line by line, so rejections, their raw bytes and their line
numbers come from one place. Arrow parses in C++ and builds the columns the shard writer
wants without a Python object per field.

Why each check: Arrow skips blank lines and reads `{...}{...}` on one line as two rows, so
every line must start with `{` and there must be one row per line; an object split over
lines needs a nested value at a line's start, so kept fields must be strings and other
fields scalars; Arrow does not validate UTF-8, and takes integers of any length (as
doubles) where Python refuses those of more than 4,300 digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from curation.core.config import InputConfig
from curation.core.document import Document
from curation.io.records import InputFile
from curation.io.shards import build_schema

BLOCK_BYTES = 1 << 20
MAX_BLOCK_BYTES = 1 << 28  # a longer line is left to the line parser
BOM = b"\xef\xbb\xbf"
_LINE_NOT_AN_OBJECT = re.compile(rb"\n[^{]")
_LONG_INTEGER = re.compile(rb"[0-9]{4301}")
_SURELY_NOT_BLANK = "^[!-~]"  # starts with printable ASCII other than a space
_SCALAR = (pa.types.is_null, pa.types.is_boolean, pa.types.is_int64, pa.types.is_string,
           pa.types.is_timestamp)


@dataclass
class DocBatch:
    """Documents as Arrow columns: id, text, source, then the kept metadata (all strings)."""

    batch: pa.RecordBatch
    text_bytes: np.ndarray  # UTF-8 size of each text

    @property
    def num_rows(self) -> int:
        return self.batch.num_rows

    def documents(self) -> Iterator[Document]:
        columns = [column.to_pylist() for column in self.batch.columns]
        names = self.batch.schema.names[3:]
        sizes = self.text_bytes.tolist()
        for size, (doc_id, text, source, *meta) in zip(sizes, zip(*columns, strict=True),
                                                      strict=True):
            yield Document(doc_id, text, source, dict(zip(names, meta, strict=True)), _nbytes=size)


def blocks(handle: IO[bytes], size: int = BLOCK_BYTES) -> Iterator[tuple[int, bytes]]:
    """(number of its first line, bytes) of whole lines, about `size` bytes each; the file's
    UTF-8 byte order mark is dropped, as the line parser drops it from line 1."""
    line, head = 1, handle.read(size).removeprefix(BOM)
    carry: list[bytes] = []
    data = head
    while data:
        cut = data.rfind(b"\n") + 1
        if cut:
            block = b"".join([*carry, data[:cut]])
            carry = [data[cut:]]
            yield line, block
            line += block.count(b"\n")
        else:
            carry.append(data)
        data = handle.read(size)
    rest = b"".join(carry)
    if rest:
        yield line, rest


def parse_block(block: bytes, first_line: int, f: InputFile, cfg: InputConfig
                ) -> DocBatch | None:
    """The block's documents, or None where the line parser must decide (see the module)."""
    if cfg.messages_field is not None or not block.startswith(b"{") or \
            len(block) > MAX_BLOCK_BYTES or _LINE_NOT_AN_OBJECT.search(block):
        return None
    kept = _kept_fields(cfg)
    try:
        block.decode("utf-8")
        table = pajson.read_json(
            pa.BufferReader(block),
            read_options=pajson.ReadOptions(use_threads=False, block_size=len(block) + 1),
            parse_options=_parse_options(kept))
    except (UnicodeDecodeError, pa.ArrowException):
        return None
    lines = block.count(b"\n") + (not block.endswith(b"\n"))
    if table.num_rows != lines or not _extras_are_scalars(table, kept, block):
        return None
    columns = {name: table.column(name).combine_chunks() for name in kept}
    text = columns[cfg.text_field]
    if text.null_count or _any_blank(text):
        return None
    ids = _ids(columns, first_line, lines, f, cfg)
    if ids is None:
        return None
    arrays = [ids, text, _sources(columns, lines, f, cfg),
              *(columns[name] for name in cfg.metadata)]
    batch = pa.RecordBatch.from_arrays(arrays, schema=build_schema(cfg.metadata, {}))
    return DocBatch(batch, pc.binary_length(text).to_numpy())


def _kept_fields(cfg: InputConfig) -> tuple[str, ...]:
    fields = (cfg.text_field, cfg.id_field, cfg.source_field, *cfg.metadata)
    return tuple(dict.fromkeys(name for name in fields if name is not None))


@lru_cache(maxsize=8)
def _parse_options(kept: tuple[str, ...]) -> pajson.ParseOptions:
    schema = pa.schema([pa.field(name, pa.string()) for name in kept])
    return pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")


def _extras_are_scalars(table: pa.Table, kept: tuple[str, ...], block: bytes) -> bool:
    extras = [field.type for field in table.schema if field.name not in kept]
    if any(pa.types.is_float64(kind) for kind in extras) and _LONG_INTEGER.search(block):
        return False
    return all(pa.types.is_float64(kind) or any(test(kind) for test in _SCALAR)
               for kind in extras)


def _any_blank(text: pa.Array) -> bool:
    """Whether a text is empty or whitespace by Python's `str.strip`, the line parser's test."""
    doubtful = pc.filter(text, pc.invert(pc.match_substring_regex(text, _SURELY_NOT_BLANK)))
    return any(not value.strip() for value in doubtful.to_pylist())


def _ids(columns: dict[str, pa.Array], first_line: int, lines: int, f: InputFile,
         cfg: InputConfig) -> pa.Array | None:
    """The id column, None if an id is missing or empty; without `id_field`, file:line."""
    if cfg.id_field is None:
        return pa.array([f"{f.relpath}:{n}" for n in range(first_line, first_line + lines)],
                        pa.string())
    ids = columns[cfg.id_field]
    if ids.null_count or pc.min(pc.binary_length(ids)).as_py() == 0:
        return None
    return ids


def _sources(columns: dict[str, pa.Array], lines: int, f: InputFile,
             cfg: InputConfig) -> pa.Array:
    """`input.source`, else the source field where it is set and not empty, else the file."""
    if cfg.source or cfg.source_field is None:
        return pa.repeat(pa.scalar(cfg.source or f.relpath, pa.string()), lines)
    given = columns[cfg.source_field]
    missing = pc.fill_null(pc.equal(given, ""), True)
    return pc.if_else(missing, f.relpath, given)
