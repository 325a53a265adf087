"""Bytes of a web page -> text, without mojibake when the page's declaration lies.

Order: a BOM; then valid UTF-8 (a page that decodes as UTF-8 and holds non-ASCII bytes is
UTF-8 whatever it declares); then the declared charset (HTTP header, else the meta tag) if it
decodes and the result does not read as mojibake; else charset-normalizer's detection (MIT;
cchardet is avoided for its MPL/GPL/LGPL licence). Legacy names map to the supersets browsers
use (WHATWG encoding standard): ISO-8859-1 is read as windows-1252, Shift_JIS as cp932.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer
from charset_normalizer.md import mess_ratio

_META = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""",
                   re.IGNORECASE)
_BOMS = [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be")]
_SUPERSETS = {"latin-1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252",
              "shift_jis": "cp932", "euc_kr": "cp949", "gb2312": "gb18030", "gbk": "gb18030",
              "iso8859-9": "cp1254", "iso8859-11": "cp874", "tis-620": "cp874"}
# Text in its real charset scores about 0-0.03 on charset-normalizer's mess detector; a
# single-byte decoding of another script scores 0.4 and up.
MAX_MESS = 0.1
SAMPLE_CHARS = 65_536


def canonical(name: str | bytes | None) -> str | None:
    """Python's codec name for a declared charset (its browser superset); None if unknown."""
    if not name:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "ignore")
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    return _SUPERSETS.get(codec, codec)


def meta_charset(head: bytes) -> str | None:
    """The charset a `<meta charset>` or `http-equiv` tag declares in the page's first 4 KB."""
    match = _META.search(head[:4096])
    return canonical(match.group(1)) if match else None


def decode_html(raw: bytes, declared: str | None = None) -> tuple[str, str] | None:
    """(text, charset used), or None when no charset gives readable text.

    `declared` is the HTTP header's charset; the meta tag is read here.
    """
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom):].decode(name, "replace"), name
    if raw.isascii():
        return raw.decode("ascii"), "ascii"
    try:  # a payload cut at a size limit may end inside a character
        return codecs.getincrementaldecoder("utf-8")().decode(raw, final=False), "utf-8"
    except UnicodeDecodeError:
        pass
    for name in (canonical(declared), meta_charset(raw)):
        if name and name != "utf-8":
            text = _plausible(raw, name)
            if text is not None:
                return text, name
    return _detect(raw)


def _plausible(raw: bytes, name: str) -> str | None:
    try:
        text = raw.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None
    return text if mess_ratio(text[:SAMPLE_CHARS], MAX_MESS) < MAX_MESS else None


def _detect(raw: bytes) -> tuple[str, str] | None:
    best = charset_normalizer.from_bytes(raw).best()
    if best is None:
        return None
    name = canonical(best.encoding) or best.encoding
    return raw.decode(name, "replace"), name
