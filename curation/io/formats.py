"""Input formats by file name: which reader a file gets, and which formats are web pages
(those always carry `url` and `date` columns). The config and the readers both ask."""

from __future__ import annotations

import posixpath

FORMATS_BY_EXTENSION = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
                        ".parquet": "parquet", ".txt": "text", ".text": "text", ".md": "text",
                        ".arrow": "hf_disk", ".warc": "warc", ".arc": "warc", ".wet": "wet",
                        ".html": "html", ".htm": "html"}
COMPRESSIONS = (".gz", ".zst", ".zstd", ".bz2", ".xz")
WEB_FORMATS = {"warc", "wet", "html"}
WEB_COLUMNS = ("url", "date")


def format_of(url: str) -> str | None:
    """The reader for a file name, ignoring a compression suffix; None if unknown."""
    name = url.lower()
    for suffix in COMPRESSIONS:
        name = name.removesuffix(suffix)
    return FORMATS_BY_EXTENSION.get(posixpath.splitext(name)[1])
