"""A small corpus whose statistics are known by construction (stats tests check them)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def doc(words: int) -> str:
    """`words` words of 4 letters; a newline after every 5th word, spaces otherwise.
    chars = bytes = 5 * words - 1, lines = ceil(words / 5)."""
    parts = []
    for i in range(words):
        parts.append("word")
        if i < words - 1:
            parts.append("\n" if i % 5 == 4 else " ")
    return "".join(parts)


def known_rows() -> list[dict]:
    rows = []
    for _ in range(10):  # 10 docs of 5 words
        rows.append({"text": doc(5), "lang": "en", "source": "s1",
                     "url": "https://www.Example.com/a", "quality_score": 0.05,
                     "pii_email_address": 0, "dup_cluster_size": 1})
    for i in range(20):  # 20 docs of 50 words
        rows.append({"text": doc(50), "lang": "en", "source": "s2",
                     "url": "http://other.org:8080/x?q=1", "quality_score": 0.45 + i * 0.01,
                     "pii_email_address": 2 if i < 3 else 0, "dup_cluster_size": 3})
    for _ in range(5):  # 5 docs of 1000 words
        rows.append({"text": doc(1000), "lang": "fr", "source": "s2",
                     "url": "news.site.net/page", "quality_score": 0.95,
                     "pii_email_address": 0, "dup_cluster_size": 1})
    for _ in range(3):  # 3 docs of 10 two-byte characters, one word
        rows.append({"text": "é" * 10, "lang": None, "source": "s1", "url": None,
                     "quality_score": None, "pii_email_address": 1, "dup_cluster_size": 1})
    rows.append({"text": "", "lang": None, "source": "s1", "url": None,
                 "quality_score": None, "pii_email_address": 0, "dup_cluster_size": 1})
    for i, row in enumerate(rows):
        row["id"] = f"doc-{i:03d}"
    return rows


SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("lang", pa.string()),
                    ("source", pa.string()), ("url", pa.string()),
                    ("quality_score", pa.float32()), ("pii_email_address", pa.int32()),
                    ("dup_cluster_size", pa.int32())])


def write_corpus(folder: Path, rows: list[dict], files: int = 2, row_group: int = 7) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(rows) // files)
    for n in range(files):
        part = rows[n * size:(n + 1) * size]
        table = pa.Table.from_pylist(part, schema=SCHEMA)
        pq.write_table(table, folder / f"part-{n:05d}.parquet", row_group_size=row_group)
    return folder
