"""Readers: JSONL (plain/.gz/.zst/...), Parquet, plain text, `datasets.save_to_disk` output,
and web pages (WARC, WET: curation.io.warc; HTML files, one page each).

Any fsspec path works. Each input file is one unit of work. A record that cannot become a
document is yielded as `Rejected` with its raw bytes (nothing is lost); a file that cannot
be read at all raises `InputFileError` naming the file.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import itertools
import json
import lzma
import posixpath
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from curation.core.config import InputConfig
from curation.core.errors import ConfigError, InputFileError
from curation.io.charset import decode_html
from curation.io.formats import (
    COMPRESSIONS,
    FORMATS_BY_EXTENSION,
    WEB_COLUMNS,
    WEB_FORMATS,
    format_of,
)
from curation.io.jsonl_blocks import blocks, parse_block
from curation.io.prefetch import GzipChunks, Prefetched
from curation.io.records import DocBatch, InputFile, Record, reject, to_document
from curation.io.warc import read_warc, read_wet

_BLANK_LINE = re.compile(rb"\r?\n(?:[ \t]*\r?\n)+")
_GLOB = re.compile(r"[*?\[]")
BATCH_ROWS = 8192
ARROW_REFUSALS = 2



def discover(cfg: InputConfig) -> list[InputFile]:
    """Expand globs and directories into a sorted, de-duplicated list of input files.

    A file's relative path (the start of its derived ids) is taken from the path spec that
    found it, so adding another input never changes the ids of the existing ones.
    """
    found: dict[str, tuple[str, int, str]] = {}
    owner: dict[str, str] = {}
    for i, spec in enumerate(cfg.paths):
        try:
            matches = _expand(spec, cfg.format)
        except FileNotFoundError:  # a plain path (no glob) that does not exist
            matches = {}
        if not matches:
            raise ConfigError(f"input.paths[{i}]: '{spec}' matches no readable files "
                              f"(known extensions: {', '.join(sorted(FORMATS_BY_EXTENSION))}, "
                              f"optionally compressed {', '.join(COMPRESSIONS)}; "
                              "or set input.format)")
        base = _spec_base(spec)
        for url, (fmt, size) in matches.items():
            path = _strip_protocol(url)
            rel = posixpath.relpath(path, base) if path.startswith(base + "/") \
                else posixpath.basename(path)
            if cfg.id_field is None and owner.setdefault(rel, url) != url:
                raise ConfigError(f"input.paths: '{owner[rel]}' and '{url}' would both derive "
                                  f"ids from '{rel}'; rename one, or set input.id_field")
            found[url] = (fmt, size, rel)
    web = sorted({fmt for fmt, _, _ in found.values()} & WEB_FORMATS)
    if web and not set(WEB_COLUMNS) <= set(cfg.metadata):
        raise ConfigError(f"input.paths: the input holds {'/'.join(web)} files; set "
                          f"input.format: {web[0]} (or name them with a glob such as "
                          "*.warc.gz) so that their url and date columns are made")
    return [InputFile(index, url, found[url][2], found[url][0], found[url][1])
            for index, url in enumerate(sorted(found))]


def input_has_ids(cfg: InputConfig) -> bool:
    """Whether every input file has an `id` field (so that `input.id_field` defaults to it).

    A Parquet or Arrow file needs an `id` column (with no nulls, where the footer says); a
    JSONL file needs one in its first record (a later record without it is rejected as
    `read:missing_id`). Text and web files never do: a WARC record has its own id.
    """
    files = discover(cfg)
    try:
        return bool(files) and all(_file_has_ids(f) for f in files)
    except (OSError, EOFError, ValueError, zlib.error, zstandard.ZstdError, lzma.LZMAError,
            pa.ArrowException):
        return False  # reading the file reports what is wrong with it


def _file_has_ids(f: InputFile) -> bool:
    if f.format == "jsonl":
        with _open_decompressed(f.url) as handle:
            first = next((line for line in handle if line.strip()), b"")
        try:
            value = json.loads(first.removeprefix(codecs.BOM_UTF8).decode("utf-8"))
        except (ValueError, RecursionError):
            return False
        return isinstance(value, dict) and value.get("id") not in (None, "") and \
            not isinstance(value["id"], (dict, list, bool))
    if f.format == "parquet":
        with fsspec.open(f.url, "rb") as handle:
            meta = pq.ParquetFile(handle).metadata
            names = meta.schema.to_arrow_schema().names
            if "id" not in names:
                return False
            column = names.index("id")
            stats = [meta.row_group(i).column(column).statistics
                     for i in range(meta.num_row_groups)]
            return all(s is None or not s.has_null_count or s.null_count == 0 for s in stats)
    if f.format == "hf_disk":
        with fsspec.open(f.url, "rb") as handle:
            return "id" in pa.ipc.open_stream(handle).schema.names
    return False


def _spec_base(spec: str) -> str:
    """The directory a path spec starts from: the part before any glob, or its folder."""
    fs, path = fsspec.core.url_to_fs(spec)
    parts = path.split("/")
    fixed = list(itertools.takewhile(lambda p: not _GLOB.search(p), parts))
    base = "/".join(fixed) or "/"
    if len(fixed) == len(parts) and not fs.isdir(base):
        base = posixpath.dirname(base)
    return base.rstrip("/")


def _strip_protocol(url: str) -> str:
    return url.split("://", 1)[-1]


def _expand(spec: str, fmt: str) -> dict[str, tuple[str, int]]:
    """Files under one path spec: {url: (format, size)}."""
    fs, _, paths = fsspec.get_fs_token_paths(spec)
    out: dict[str, tuple[str, int]] = {}
    for path in paths:
        is_dir = fs.isdir(path)
        candidates = fs.find(path, detail=True) if is_dir else {path: fs.info(path)}
        # '.'/'_' names are skipped below a walked directory or a glob's fixed part; a file
        # named explicitly is always read.
        root = path if is_dir else _spec_base(spec) if _GLOB.search(spec) else None
        visible = {name: info for name, info in candidates.items()
                   if root is None or not _hidden(name, root)}
        datasets = {posixpath.dirname(name) for name in visible
                    if posixpath.basename(name) == "state.json"}
        for directory in sorted(datasets):
            out.update(_hf_arrow_files(fs, directory))
        for name, info in visible.items():
            if info.get("type") == "directory" or \
                    posixpath.dirname(name) in datasets or name.endswith("/dataset_dict.json"):
                continue
            file_fmt = format_of(name) if fmt == "auto" else fmt
            if file_fmt:
                out[fs.unstrip_protocol(name)] = (file_fmt, int(info.get("size") or 0))
    return out


def _hidden(path: str, root: str) -> bool:
    """A '.'/'_' name (.git, _SUCCESS, _work/): the file's own, or a folder's below `root`."""
    prefix = root.rstrip("/") + "/"
    below = path[len(prefix):] if path.startswith(prefix) else posixpath.basename(path)
    return any(part.startswith((".", "_")) for part in below.split("/"))


def _hf_arrow_files(fs: Any, directory: str) -> dict[str, tuple[str, int]]:
    """The Arrow files of a `Dataset.save_to_disk` directory, in their saved order."""
    with fs.open(posixpath.join(directory, "state.json")) as handle:
        state = json.load(handle)
    out = {}
    for entry in state.get("_data_files", []):
        path = posixpath.join(directory, entry["filename"])
        out[fs.unstrip_protocol(path)] = ("hf_disk", int(fs.info(path).get("size") or 0))
    return out


def read_file(f: InputFile, cfg: InputConfig, skipped: Counter | None = None,
              batches: bool = False) -> Iterator[Record | DocBatch]:
    """Documents (and rejected records) of one input file, in file order.

    Records that are not documents (a WARC's request, metadata, revisit... records) yield
    nothing and are counted in `skipped` by kind. With `batches`, a JSONL file's documents
    may come as `DocBatch`es, Arrow columns that need not become Python objects.
    """
    skipped = Counter() if skipped is None else skipped
    readers = {"jsonl": lambda f, cfg: _read_jsonl(f, cfg, batches),
               "parquet": _read_parquet, "text": _read_text,
               "hf_disk": _read_arrow, "html": _read_html,
               "warc": lambda f, cfg: read_warc(f, cfg, skipped),
               "wet": lambda f, cfg: read_wet(f, cfg, skipped)}
    try:
        yield from readers[f.format](f, cfg)
    except (EOFError, zlib.error, zstandard.ZstdError, lzma.LZMAError) as err:
        raise InputFileError(f.url, f"compressed stream is truncated or corrupt ({err}); "
                             "re-create the file or remove it from the input") from None
    except (OSError, pa.ArrowException) as err:
        raise InputFileError(f.url, f"cannot read as {f.format}: {err}") from None
    except UnicodeDecodeError as err:  # JSONL and text catch theirs: a Parquet/Arrow string
        raise InputFileError(f.url, f"a string column holds invalid UTF-8 ({err}); the file is "
                             "corrupt or its writer did not validate strings") from None


@contextmanager
def _open_decompressed(url: str, prefetch: bool = False) -> Iterator[IO[bytes]]:
    """The file's bytes, decompressed by suffix (zstd by `_ZstdReader`, others by fsspec);
    with `prefetch`, a compressed file is decompressed ahead in a thread."""
    lower = url.lower()
    with contextlib.ExitStack() as stack:
        if lower.endswith((".zst", ".zstd")):
            raw = stack.enter_context(fsspec.open(url, "rb"))
            handle: IO[bytes] = io.BufferedReader(_ZstdReader(raw), 1 << 16)
        elif prefetch and lower.endswith(".gz"):
            handle = GzipChunks(stack.enter_context(fsspec.open(url, "rb")))  # type: ignore
        else:
            handle = stack.enter_context(fsspec.open(url, "rb", compression="infer"))
        if prefetch and lower.endswith(COMPRESSIONS):
            ahead = stack.enter_context(contextlib.closing(Prefetched(handle)))
            handle = io.BufferedReader(ahead, 1 << 16)
        yield handle


class _ZstdReader(io.RawIOBase):
    """Every frame of a zstd stream; a stream cut inside a frame raises EOFError.

    fsspec's fallback (`zstandard.stream_reader`) cannot iterate lines, and neither it nor
    `zstandard` itself notices a truncated file: it would end early without a word.
    """

    def __init__(self, raw: IO[bytes]):
        self.raw, self.frame, self.input, self.output = raw, None, b"", memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.output:
            if not self.input:
                self.input = self.raw.read(1 << 17)
                if not self.input:
                    if self.frame is not None:
                        raise EOFError("zstd stream ended in the middle of a frame")
                    return 0
            if self.frame is None:
                self.frame = zstandard.ZstdDecompressor().decompressobj()
            self.output = memoryview(self.frame.decompress(self.input))
            self.input = b""
            if self.frame.eof:
                self.input, self.frame = self.frame.unused_data, None
        n = min(len(buffer), len(self.output))
        buffer[:n] = self.output[:n]
        self.output = self.output[n:]
        return n


def _read_jsonl(f: InputFile, cfg: InputConfig, batches: bool = False
                ) -> Iterator[Record | DocBatch]:
    """Blocks of lines go through Arrow (`jsonl_blocks`) until it has refused
    `ARROW_REFUSALS` of them (a file whose metadata are numbers would pay for every try);
    the rest are parsed line by line."""
    refused = 0
    with _open_decompressed(f.url, prefetch=True) as handle:
        for block in blocks(handle):
            docs = parse_block(block, f, cfg) if refused < ARROW_REFUSALS else None
            if docs is not None:
                yield from [docs] if batches else docs.documents()
                continue
            refused += 1
            for line_no, line in enumerate(io.BytesIO(block.data), start=block.first_line):
                if not line.isspace():  # isspace stops at the first other byte
                    yield _parse_json_line(line, line_no, f, cfg)


def _parse_json_line(line: bytes, line_no: int, f: InputFile, cfg: InputConfig) -> Record:
    where = f"{f.relpath}:{line_no}"
    try:
        value = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return reject(where, "invalid_utf8", f, line)
    except (ValueError, RecursionError):  # also valid JSON that Python cannot hold:
        return reject(where, "malformed_json", f, line)  # deep nesting, >4300-digit ints
    if not isinstance(value, dict):
        return reject(where, "not_an_object", f, line)
    kept = (cfg.text_field, cfg.id_field, cfg.source_field, *cfg.metadata)
    if (b"\\ud" in line or b"\\uD" in line) and _has_lone_surrogate(
            [value.get(field) for field in kept if field is not None]):
        return reject(where, "invalid_utf8", f, line)
    return to_document(value, where, f, cfg, raw=line)


def _has_lone_surrogate(values: list[Any]) -> bool:
    """JSON can escape half a UTF-16 pair, which no UTF-8 Parquet column can hold."""
    try:
        json.dumps(values, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _read_parquet(f: InputFile, cfg: InputConfig) -> Iterator[Record]:
    with fsspec.open(f.url, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        columns = _columns_to_read(parquet.schema_arrow, f, cfg)
        yield from _read_batches(parquet.iter_batches(BATCH_ROWS, columns=columns), f, cfg)


def _read_arrow(f: InputFile, cfg: InputConfig) -> Iterator[Record]:
    """An Arrow IPC stream file as written by `datasets` (`data-00000-of-00001.arrow`)."""
    with fsspec.open(f.url, "rb") as handle:
        reader = pa.ipc.open_stream(handle)
        columns = _columns_to_read(reader.schema, f, cfg)
        batches = (batch.select(columns) for batch in reader)
        yield from _read_batches(batches, f, cfg)


def _columns_to_read(schema: pa.Schema, f: InputFile, cfg: InputConfig) -> list[str]:
    """Required columns must exist with a usable type; optional ones are read if present."""
    names = schema.names
    content = ("messages_field", cfg.messages_field) if cfg.messages_field is not None \
        else ("text_field", cfg.text_field)  # chat rows: curation.io.chat checks each row
    for role, column in (content, ("id_field", cfg.id_field)):
        if column is not None and column not in names:
            chat = " (chat rows: set input.messages_field)" if role == "text_field" and \
                "messages" in names else ""
            raise InputFileError(f.url, f"no column '{column}' (columns: {', '.join(names)}); "
                                 f"set input.{role} to the column that holds it{chat}")
    text_type = schema.field(content[1]).type
    if content[0] == "text_field" and not (pa.types.is_string(text_type) or
                                           pa.types.is_large_string(text_type)):
        raise InputFileError(f.url, f"column '{cfg.text_field}' has type {text_type}, "
                             "not string; point input.text_field at a text column")
    wanted = [content[1], cfg.id_field, cfg.source_field, *cfg.metadata]
    return list(dict.fromkeys(c for c in wanted if c is not None and c in names))


def _read_batches(batches: Iterator[pa.RecordBatch], f: InputFile,
                  cfg: InputConfig) -> Iterator[Record]:
    row = 0
    for batch in batches:
        for record in batch.to_pylist():
            yield to_document(record, f"{f.relpath}:{row}", f, cfg)
            row += 1


def _read_text(f: InputFile, cfg: InputConfig) -> Iterator[Record]:
    with _open_decompressed(f.url) as handle:
        data = handle.read()
    if cfg.text_mode == "file":
        blocks = [(f.relpath, data)]
    else:
        blocks = [(f"{f.relpath}:{i}", block)
                  for i, block in enumerate(
                      b for b in _BLANK_LINE.split(data.rstrip(b"\r\n")) if b.strip())]
    for where, block in blocks:
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            yield reject(where, "invalid_utf8", f, block)
            continue
        yield to_document({cfg.text_field: text}, where, f, cfg)


def _read_html(f: InputFile, cfg: InputConfig) -> Iterator[Record]:
    """One page per file; its charset from a BOM, the meta tag, or detection."""
    with _open_decompressed(f.url) as handle:
        raw = handle.read()
    decoded = decode_html(raw)
    if decoded is None:
        yield reject(f.relpath, "undecodable", f, raw)
    else:
        yield to_document({cfg.text_field: decoded[0]}, f.relpath, f, cfg)
