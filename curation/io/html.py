"""Whether a web payload is HTML: by its content type, or by its first bytes when the type
says nothing."""

from __future__ import annotations

import re

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Content types that say nothing about the bytes: the bytes decide.
_UNINFORMATIVE = ("", "application/octet-stream", "text/plain", "unknown", "unk",
                  "application/unknown", "binary/octet-stream")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)


def is_html(mime: str | None) -> bool:
    return (mime or "").split(";")[0].strip().lower() in HTML_TYPES


def sniff_html(body: bytes, mime: str | None) -> bool:
    """A body whose declared type is uninformative but which starts like an HTML page."""
    if (mime or "").split(";")[0].strip().lower() not in _UNINFORMATIVE:
        return False
    return _HTML_START.match(body[:4096].removeprefix(b"\xef\xbb\xbf")) is not None
