"""WARC and WET readers: one document per HTML response (or WET conversion record).

Records are parsed with FastWARC (Apache-2.0, Rust) and streamed: a 1 GB `.warc.gz` is never
in memory, only one record at a time. gzip is undone here, with Python's `gzip`, rather than
by FastWARC, because FastWARC ends a truncated gzip stream without a word; Python raises, so
a cut file yields its complete records and then one `read:truncated` row naming the offset.
HTTP transfer and content encodings are undone here too, only when the body really is
encoded: Common Crawl stores bodies decoded and keeps the header under another name.

Columns: `url` (WARC-Target-URI) and `date` (WARC-Date); the id is the WARC-Record-ID.
Records that are not documents (warcinfo, request, metadata, revisit, ...) are counted in
`skipped` by type and yield nothing.
ARC files (`filedesc://` at the start) go to curation.io.arc.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

import fsspec
from fastwarc.warc import ArchiveIterator, WarcRecord

from curation.core.config import InputConfig
from curation.core.document import Rejected
from curation.core.errors import InputFileError
from curation.io.arc import MAGIC, read_arc
from curation.io.charset import decode_html
from curation.io.http import page_text
from curation.io.records import InputFile, Record, to_document, truncated_row

_GZIP_MAGIC = b"\x1f\x8b"


class _Truncated(Exception):
    """The stream ended inside a record."""


def read_warc(f: InputFile, cfg: InputConfig, skipped: Counter) -> Iterator[Record]:
    """HTML responses of a WARC file; other responses rejected with their content type."""
    yield from _read(f, cfg, skipped, documents=("response", "resource"))


def read_wet(f: InputFile, cfg: InputConfig, skipped: Counter) -> Iterator[Record]:
    """Conversion records of a WET file: the text Common Crawl extracted."""
    yield from _read(f, cfg, skipped, documents=("conversion",))


def _read(f: InputFile, cfg: InputConfig, skipped: Counter,
          documents: tuple[str, ...]) -> Iterator[Record]:
    with fsspec.open(f.url, "rb") as raw:
        stream = _decompressed(raw)
        if _starts_with(raw, stream, MAGIC):
            yield from read_arc(io.BufferedReader(stream), f, cfg, skipped)
            return
        offset, seen = 0, 0
        try:
            for record in ArchiveIterator(stream, parse_http=False, stream_detect=False):
                offset, seen = record.stream_pos, seen + 1
                if record.headers.get("Content-Length") is None:
                    raise _Truncated("a record header without Content-Length")
                kind = str(record.record_type)
                if kind not in documents:
                    skipped[f"skipped_{kind}"] += 1
                    continue
                yield (_conversion(record, f, cfg) if kind == "conversion"
                       else _response(record, f, cfg))
        except _Truncated as err:
            yield truncated_row(f, offset, f"the file ends inside a record ({err})")
            return
        except OSError as err:
            if seen == 0:
                raise InputFileError(f.url, f"not a WARC file ({err}); check input.format "
                                     "or remove the file from the input") from None
            yield truncated_row(f, offset, f"a record after this offset cannot be parsed ({err})")
            return
        if getattr(stream, "error", None) is not None:
            yield truncated_row(f, offset, f"the file ends inside a record ({stream.error})")


def _starts_with(raw: IO[bytes], stream: IO[bytes], magic: bytes) -> bool:
    """Whether the decompressed stream starts with `magic`; both rewound to the start."""
    if stream is raw:
        head = raw.read(len(magic))
        raw.seek(0)
        return head == magic
    with gzip.GzipFile(fileobj=raw, mode="rb") as peek:
        try:
            head = peek.read(len(magic))
        except (EOFError, zlib.error, gzip.BadGzipFile):
            head = b""
    raw.seek(0)
    return head == magic


def _decompressed(raw: IO[bytes]) -> IO[bytes]:
    """The WARC bytes: gzip (one member per record, or one for all) is undone by magic."""
    head = raw.read(2)
    raw.seek(0)
    if head != _GZIP_MAGIC:
        return raw
    return _ErrorAfterData(gzip.GzipFile(fileobj=raw, mode="rb"))


class _ErrorAfterData(io.RawIOBase):
    """Ends the stream at a decompression error and keeps the error for later.

    Raised inside FastWARC's read-ahead, the error would drop the complete records it had
    buffered; as an early end, they are yielded and the cut record fails its length check.
    """

    def __init__(self, inner: gzip.GzipFile):
        self.inner, self.error, self.position = inner, None, 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:  # FastWARC asks once, at the start
        return self.position

    def readinto(self, buffer: Any) -> int:
        if self.error is not None:
            return 0
        try:
            data = self.inner.read1(len(buffer))
        except (EOFError, zlib.error, gzip.BadGzipFile) as err:
            self.error = err
            return 0
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)


def _header(record: WarcRecord, name: str) -> str | None:
    value = record.headers.get(name)
    return value.strip().strip("<>") if value else None


def _document(record: WarcRecord, text: str, f: InputFile, cfg: InputConfig) -> Record:
    rid = _header(record, "WARC-Record-ID") or f"{f.relpath}@{record.stream_pos}"
    fields = {cfg.text_field: text, "id": rid, "url": _header(record, "WARC-Target-URI"),
              "date": _header(record, "WARC-Date")}
    return to_document(fields, rid, f, cfg)


def _rejected(record: WarcRecord, rule: str, f: InputFile, cfg: InputConfig) -> Rejected:
    found = _document(record, "", f, cfg)
    return Rejected(found.doc if isinstance(found, Rejected) else found, f"read:{rule}")


def _payload(record: WarcRecord) -> bytes:
    """The record's remaining bytes; a short read means the file was cut inside it."""
    expected = record.content_length
    body = record.reader.read()
    if len(body) < expected:
        raise _Truncated(f"record {_header(record, 'WARC-Record-ID')} has {len(body)} of "
                         f"{expected} bytes")
    return body


def _conversion(record: WarcRecord, f: InputFile, cfg: InputConfig) -> Record:
    decoded = decode_html(_payload(record))
    if decoded is None:
        return _rejected(record, "undecodable", f, cfg)
    return _document(record, decoded[0], f, cfg)


def _response(record: WarcRecord, f: InputFile, cfg: InputConfig) -> Record:
    charset = transfer = content = None
    if record.is_http:
        try:
            record.parse_http(auto_decode="none")
        except OSError:
            return _rejected(record, "bad_http_headers", f, cfg)
        http = record.http_headers
        mime, charset = record.http_content_type, record.http_charset
        transfer, content = http.get("Transfer-Encoding"), http.get("Content-Encoding")
    else:
        mime = (record.headers.get("Content-Type") or "").split(";")[0]
    mime = _header(record, "WARC-Identified-Payload-Type") or mime
    try:
        text = page_text(_payload(record), mime, charset, transfer, content)
    except ValueError as err:
        return _rejected(record, str(err), f, cfg)
    return _document(record, text, f, cfg)
