"""An HTTP response body -> page text: encodings undone, HTML checked, charset decoded.

Transfer and content encodings are undone only when the body really is encoded: Common
Crawl stores bodies decoded and keeps the header under another name, and servers lie.
"""

from __future__ import annotations

import re
import zlib

from curation.io.charset import decode_html
from curation.io.html import is_html, sniff_html

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}[ \t]*(?:;[^\r\n]*)?\r?\n")
_MIME_JUNK = re.compile(r"[^a-z0-9.+/-]")


def page_text(body: bytes, mime: str | None, charset: str | None, transfer: str | None,
              content: str | None) -> str:
    """The decoded HTML of a response; raises ValueError naming the `read:` rule otherwise."""
    body = undo_encodings(body, transfer, content)
    if not (is_html(mime) or sniff_html(body, mime)):
        raise ValueError(f"not_html:{_clean_mime(mime)}")
    decoded = decode_html(body, charset)
    if decoded is None:
        raise ValueError("undecodable")
    return decoded[0]


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
