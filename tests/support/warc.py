"""Build WARC files byte by byte for tests: any record type, any HTTP headers, any body."""

from __future__ import annotations

import gzip
import uuid


def record(kind: str, uri: str, block: bytes, content_type: str = "application/http; "
           "msgtype=response", extra: dict[str, str] | None = None) -> bytes:
    """One WARC/1.0 record (header block, body, the two CRLFs that end it)."""
    rid = uuid.uuid5(uuid.NAMESPACE_URL, kind + uri)
    headers = {"WARC-Type": kind, "WARC-Record-ID": f"<urn:uuid:{rid}>",
               "WARC-Date": "2023-01-01T12:34:56Z", "WARC-Target-URI": uri,
               **(extra or {}), "Content-Type": content_type,
               "Content-Length": str(len(block))}
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + block + b"\r\n\r\n"


def http(body: bytes, content_type: str | None = "text/html", **headers: str) -> bytes:
    """An HTTP/1.1 200 response: status line, headers (underscores become dashes), body."""
    lines = [f"Content-Type: {content_type}"] if content_type else []
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("HTTP/1.1 200 OK\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode() \
        + body


def response(uri: str, body: bytes, content_type: str | None = "text/html",
             **headers: str) -> bytes:
    return record("response", uri, http(body, content_type, **headers))


def chunked(body: bytes, size: int = 7) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def gzip_members(*records: bytes) -> bytes:
    """One gzip member per record, as Common Crawl writes .warc.gz files."""
    return b"".join(gzip.compress(r) for r in records)
