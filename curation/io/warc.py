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
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

import fsspec
from fastwarc.warc import ArchiveIterator, WarcRecord

from curation.core.config import InputConfig
from curation.core.document import Document, Rejected
from curation.core.errors import InputFileError
from curation.io.charset import decode_html
from curation.io.html import is_html, sniff_html
from curation.io.records import InputFile, Record, to_document

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}[ \t]*(?:;[^\r\n]*)?\r?\n")
_MIME_JUNK = re.compile(r"[^a-z0-9.+/-]")


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
            yield _cut(f, offset, f"the file ends inside a record ({err})")
            return
        except OSError as err:
            if seen == 0:
                raise InputFileError(f.url, f"not a WARC file ({err}); check input.format "
                                     "or remove the file from the input") from None
            yield _cut(f, offset, f"a record after this offset cannot be parsed ({err})")
            return
        if getattr(stream, "error", None) is not None:
            yield _cut(f, offset, f"the file ends inside a record ({stream.error})")


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


def _cut(f: InputFile, offset: int, problem: str) -> Rejected:
    where = f"{f.relpath}@{offset}"
    doc = Document(where, f"{where}: {problem}; the records before it were read", f.relpath)
    return Rejected(doc, "read:truncated")


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
    charset = None
    if record.is_http:
        try:
            record.parse_http(auto_decode="none")
        except OSError:
            return _rejected(record, "bad_http_headers", f, cfg)
        http = record.http_headers
        mime, charset = record.http_content_type, record.http_charset
        try:
            body = undo_encodings(_payload(record), http.get("Transfer-Encoding"),
                                  http.get("Content-Encoding"))
        except ValueError as err:
            return _rejected(record, str(err), f, cfg)
    else:
        mime, body = (record.headers.get("Content-Type") or "").split(";")[0], _payload(record)
    mime = _header(record, "WARC-Identified-Payload-Type") or mime
    if not (is_html(mime) or sniff_html(body, mime)):
        return _rejected(record, f"not_html:{_clean_mime(mime)}", f, cfg)
    decoded = decode_html(body, charset)
    if decoded is None:
        return _rejected(record, "undecodable", f, cfg)
    return _document(record, decoded[0], f, cfg)


def _clean_mime(mime: str | None) -> str:
    """A content type fit for a reason name: lowercase, no parameters, at most 60 chars."""
    clean = _MIME_JUNK.sub("", (mime or "").split(";")[0].strip().lower())[:60]
    return clean or "unknown"


def undo_encodings(body: bytes, transfer: str | None, content: str | None) -> bytes:
    """Undo chunked transfer encoding and gzip/deflate/br content encoding, when present.

    Raises ValueError naming the rule (`bad_chunked`, `bad_content_encoding`,
    `unsupported_encoding`) when a body that is encoded cannot be decoded.
    """
    if transfer and "chunked" in transfer.lower() and _CHUNK_SIZE.match(body):
        body = _dechunk(body)
    for coding in reversed([c.strip().lower() for c in (content or "").split(",")]):
        body = _decode_content(body, coding)
    return body


def _dechunk(body: bytes) -> bytes:
    out, pos = [], 0
    while True:
        match = _CHUNK_SIZE.match(body, pos)
        if match is None:
            raise ValueError("bad_chunked")
        size = int(match.group().split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        start = match.end()
        out.append(body[start:start + size])
        pos = start + size
        if body[pos:pos + 2] == b"\r\n":
            pos += 2
        elif body[pos:pos + 1] == b"\n":
            pos += 1
        if pos >= len(body):  # a body cut before its last chunk: keep what came
            return b"".join(out)


def _decode_content(body: bytes, coding: str) -> bytes:
    try:
        if coding in ("gzip", "x-gzip") and body.startswith(_GZIP_MAGIC):
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body)
        if coding == "deflate" and not _looks_decoded(body):
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
        if coding == "br":
            return _brotli(body)
    except zlib.error:
        raise ValueError("bad_content_encoding") from None
    return body  # identity, or a body stored already decoded


def _looks_decoded(body: bytes) -> bool:
    """Markup or text, not a compressed stream (stored decoded under the old header)."""
    return body.lstrip()[:1] in (b"<", b"") or body.startswith(b"\xef\xbb\xbf")


def _brotli(body: bytes) -> bytes:
    import brotli

    try:
        return brotli.decompress(body)
    except brotli.error:
        if _looks_decoded(body):
            return body
        raise ValueError("bad_content_encoding") from None
