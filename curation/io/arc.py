"""ARC files (Internet Archive's format before WARC; Common Crawl until 2012), read as WARC.

A record is one header line, `URL IP date content-type length` (version 1; version 2 adds
fields before the length, which is always last), then `length` bytes: the HTTP response,
headers and body. The first record describes the file (`filedesc://`) and is counted as
skipped. FastWARC does not read ARC, and the format is simple enough to parse here. ARC
records have no record id: a page's id is `file@offset` (offset in the decompressed stream).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import IO

from curation.core.config import InputConfig
from curation.core.document import Rejected
from curation.io.http import page_text
from curation.io.records import InputFile, Record, to_document, truncated_row

MAGIC = b"filedesc://"
MAX_HEADER = 8192


def read_arc(stream: IO[bytes], f: InputFile, cfg: InputConfig,
             skipped: Counter) -> Iterator[Record]:
    """Pages of an ARC stream (already decompressed), in file order."""
    offset = 0
    while line := stream.readline(MAX_HEADER):
        if not line.strip():
            offset += len(line)
            continue
        fields = line.split()
        if len(fields) < 5 or not fields[-1].isdigit():
            yield truncated_row(f, offset, "a record header line that is not ARC")
            return
        length = int(fields[-1])
        block = stream.read(length)
        if len(block) < length:
            yield truncated_row(f, offset, f"the file ends inside a record ({len(block)} "
                                           f"of {length} bytes)")
            return
        url = fields[0].decode("utf-8", "replace")
        if url.startswith("filedesc:"):
            skipped["skipped_filedesc"] += 1
        else:
            yield _page(url, fields, block, f"{f.relpath}@{offset}", f, cfg)
        offset += len(line) + length
    error = getattr(stream, "error", None)
    if error is not None:
        yield truncated_row(f, offset, f"the file ends inside a record ({error})")


def _page(url: str, fields: list[bytes], block: bytes, where: str, f: InputFile,
          cfg: InputConfig) -> Record:
    stamp = fields[2].decode("ascii", "replace")
    date = (f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}:"
            f"{stamp[12:14]}Z") if len(stamp) == 14 and stamp.isdigit() else stamp
    headers, body = _http(block)
    content_type = headers.get("content-type") or fields[3].decode("ascii", "replace")
    mime, _, params = content_type.partition(";")
    charset = next((p.split("=", 1)[1].strip(" \"'") for p in params.split(";")
                    if p.strip().lower().startswith("charset=")), None)
    fields_out = {"id": where, "url": url, "date": date}
    try:
        text = page_text(body, mime.strip(), charset, headers.get("transfer-encoding"),
                         headers.get("content-encoding"))
    except ValueError as err:
        found = to_document({**fields_out, cfg.text_field: ""}, where, f, cfg)
        doc = found.doc if isinstance(found, Rejected) else found
        return Rejected(doc, f"read:{err}")
    return to_document({**fields_out, cfg.text_field: text}, where, f, cfg)


def _http(block: bytes) -> tuple[dict[str, str], bytes]:
    """Lowercase HTTP headers and the body; a block without a status line is all body."""
    if not block.startswith(b"HTTP/"):
        return {}, block
    end = block.find(b"\r\n\r\n")
    cut = end + 4 if end >= 0 else block.find(b"\n\n") + 2
    if cut < 2:
        return {}, b""
    headers = {}
    for line in block[:cut].decode("latin-1").splitlines()[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, block[cut:]
