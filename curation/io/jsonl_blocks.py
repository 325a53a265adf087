"""JSONL read a block of lines at a time by Arrow's JSON parser, where that is exact.

The line parser (`readers._parse_json_line`) stays the definition of what a line becomes.
A block is taken here only when every line in it is one JSON object that the line parser
would turn into a document, with the same id, text, source and metadata; any other block
returns None and is parsed line by line, so rejections, their raw bytes and their line
numbers come from one place. Arrow parses in C++ and builds the columns the shard writer
wants without a Python object per field.

Why each check: Arrow skips blank lines and reads `{...}{...}` on one line as two rows, so
there must be one row per line, and every line must start with `{` and end with `}` (no
JSON value can hold `}` then a line break then `{`, so no object spans lines). Fields that
are not kept are skipped, not parsed into columns (inferring them costs a column per new
key, and a file whose lines each bring new keys took seconds a block). Arrow does not
validate UTF-8, takes integers of any length where Python refuses those of more than 4,300
digits, and recurses on the C stack (a line nested some thousands deep kills the process;
Python refuses under 1,000 levels): such blocks are left to the line parser.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import IO, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from curation.core.config import InputConfig
from curation.io.records import DocBatch, InputFile
from curation.io.shards import build_schema

BLOCK_BYTES = 1 << 20
MAX_BLOCK_BYTES = 1 << 28  # a longer line is left to the line parser
NESTING_LIMIT = 500  # brackets on a line; Python's own limit is under 1,000 levels
_LONG_DIGITS = 4300  # Python's int() refuses more digits (sys.get_int_max_str_digits)
_LONG_INTEGER = re.compile(rb"[0-9]{%d}" % (_LONG_DIGITS + 1))
_DIGIT_STRIDE = _LONG_DIGITS // 2
_OPEN, _CLOSE, _NEWLINE, _RETURN = b"{}\n\r"
_SURELY_NOT_BLANK = "^[!-~]"  # starts with printable ASCII other than a space


class Block(NamedTuple):
    """Whole lines of a JSONL file: the number of the first, their bytes, how many."""

    first_line: int
    data: bytes
    lines: int


def blocks(handle: IO[bytes], size: int = BLOCK_BYTES) -> Iterator[Block]:
    """The file's lines in blocks of about `size` bytes; the UTF-8 byte order mark is
    dropped, as the line parser drops it from line 1."""
    line, data = 1, handle.read(size).removeprefix(codecs.BOM_UTF8)
    carry: list[bytes] = []
    while data:
        cut = data.rfind(b"\n") + 1
        if cut:
            block = b"".join([*carry, data[:cut]])
            carry = [data[cut:]]
            lines = block.count(b"\n")
            yield Block(line, block, lines)
            line += lines
        else:
            carry.append(data)
        data = handle.read(size)
    rest = b"".join(carry)
    if rest:
        yield Block(line, rest, 1)  # the last line, with no line break after it


def parse_block(lines: Block, f: InputFile, cfg: InputConfig) -> DocBatch | None:
    """The block's documents, or None where the line parser must decide (see the module)."""
    block = lines.data
    if cfg.messages_field is not None or len(block) > MAX_BLOCK_BYTES or \
            not _one_object_per_line(block) or _long_integer(block) or _may_nest_deeply(lines):
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
    if table.num_rows != lines.lines:
        return None
    columns = {name: table.column(name).combine_chunks() for name in kept}
    text = columns[cfg.text_field]
    if text.null_count or _any_blank(text):
        return None
    ids = _ids(columns, lines, f, cfg)
    if ids is None:
        return None
    arrays = [ids, text, _sources(columns, lines.lines, f, cfg),
              *(columns[name] for name in cfg.metadata)]
    batch = pa.RecordBatch.from_arrays(arrays, schema=build_schema(cfg.metadata, {}))
    return DocBatch.of(batch)


def _one_object_per_line(block: bytes) -> bool:
    """Whether every line starts with `{` and every line break follows `}` (or `}\\r`)."""
    data = np.frombuffer(block, np.uint8)
    if not len(data) or data[0] != _OPEN:
        return False
    breaks = np.flatnonzero(data == _NEWLINE)
    before = data[breaks - 1]
    carriage = before == _RETURN
    before[carriage] = data[breaks[carriage] - 2]
    after = breaks[breaks + 1 < len(data)] + 1
    return bool((before == _CLOSE).all() and (data[after] == _OPEN).all())


def _long_integer(block: bytes) -> bool:
    """Whether the block may hold an integer Python refuses: a run of 4,301 digits covers
    two neighbouring multiples of 2,150, so only the runs through those are searched."""
    data = np.frombuffer(block, np.uint8)
    digit = (data[::_DIGIT_STRIDE] - ord("0")) < 10
    for k in np.flatnonzero(digit[:-1] & digit[1:]).tolist():
        start = max(0, k * _DIGIT_STRIDE - _LONG_DIGITS)
        if _LONG_INTEGER.search(block, start, (k + 1) * _DIGIT_STRIDE + _LONG_DIGITS):
            return True
    return False


def _may_nest_deeply(lines: Block) -> bool:
    """Whether a line has NESTING_LIMIT brackets (in strings or not): only those can nest
    that deep."""
    block = lines.data
    if block.count(b"[") + block.count(b"{") - lines.lines < NESTING_LIMIT:
        return False
    return any(line.count(b"[") + line.count(b"{") >= NESTING_LIMIT
               for line in block.split(b"\n"))


def _kept_fields(cfg: InputConfig) -> tuple[str, ...]:
    fields = (cfg.text_field, cfg.id_field, cfg.source_field, *cfg.metadata)
    return tuple(dict.fromkeys(name for name in fields if name is not None))


@lru_cache(maxsize=8)
def _parse_options(kept: tuple[str, ...]) -> pajson.ParseOptions:
    schema = pa.schema([pa.field(name, pa.string()) for name in kept])
    return pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")


def _any_blank(text: pa.Array) -> bool:
    """Whether a text is empty or whitespace by Python's `str.strip`, the line parser's test."""
    doubtful = pc.filter(text, pc.invert(pc.match_substring_regex(text, _SURELY_NOT_BLANK)))
    return any(not value.strip() for value in doubtful.to_pylist())


def _ids(columns: dict[str, pa.Array], lines: Block, f: InputFile, cfg: InputConfig
         ) -> pa.Array | None:
    """The id column, None if an id is missing or empty; without `id_field`, file:line."""
    if cfg.id_field is None:
        numbers = range(lines.first_line, lines.first_line + lines.lines)
        return pa.array([f"{f.relpath}:{n}" for n in numbers], pa.string())
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
