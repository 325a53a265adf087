"""An input record becomes a Document, or a Rejected row naming the field problem: the
rules every reader shares (text or chat messages, id, source, metadata kept as text)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.core.config import InputConfig
from curation.core.document import Document, Rejected
from curation.io import chat
from gristmill.messages import problem

Record = Document | Rejected


@dataclass
class DocBatch:
    """Documents as Arrow columns: id, text, source, then the rest (kept metadata, and in a
    later stage the columns of the steps before it), with each text's UTF-8 size."""

    batch: pa.RecordBatch
    text_bytes: np.ndarray  # UTF-8 size of each text

    @classmethod
    def of(cls, batch: pa.RecordBatch) -> DocBatch:
        """Sizes measured by Arrow, so that no text is encoded again to count its bytes."""
        return cls(batch, pc.binary_length(batch.column(1)).to_numpy())

    @property
    def num_rows(self) -> int:
        return self.batch.num_rows

    def documents(self) -> Iterator[Document]:
        """The rows as Python documents, for the steps that need them."""
        columns = [column.to_pylist() for column in self.batch.columns]
        names = self.batch.schema.names[3:]
        sizes = self.text_bytes.tolist()
        for size, (doc_id, text, source, *meta) in zip(sizes, zip(*columns, strict=True),
                                                      strict=True):
            yield Document(doc_id, text, source, dict(zip(names, meta, strict=True)), _nbytes=size)


@dataclass(frozen=True)
class InputFile:
    """One unit of work: a file, its format, and the relative path that derived ids use."""

    index: int
    url: str
    relpath: str
    format: str
    size: int


def to_document(record: dict[str, Any], where: str, f: InputFile, cfg: InputConfig,
                raw: bytes | None = None) -> Record:
    """Map an input record to a Document, or reject it with the field problem named."""
    messages = None
    if cfg.messages_field is not None:
        messages = record.get(cfg.messages_field)
        found = problem(messages)
        if found is not None:
            return reject(where, found.rule, f, raw, chat.as_text(messages))
        messages = chat.normalized(messages)
        text = chat.render(messages)
    else:
        text = record.get(cfg.text_field)
        if text is None:
            return reject(where, "missing_text", f, raw)
        if not isinstance(text, str):
            return reject(where, "text_not_string", f, raw)
    doc_id = where
    if cfg.id_field is not None:
        value = record.get(cfg.id_field)
        if value is None or isinstance(value, (dict, list, bool)) or value == "":
            return reject(where, "missing_id", f, raw, text)
        doc_id = str(value)
    source = cfg.source or (record.get(cfg.source_field) if cfg.source_field else None) or \
        f.relpath
    meta = {field: as_string(record.get(field)) for field in cfg.metadata}
    if messages is not None:
        meta[chat.MESSAGES] = messages
    doc = Document(doc_id, text, str(source), meta)
    if not text.strip():
        return Rejected(doc, "read:empty", raw=raw)
    return doc


def as_string(value: Any) -> str | None:
    """Kept metadata is stored as text so every shard has the same schema."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def reject(where: str, rule: str, f: InputFile, raw: bytes | None, text: str = "") -> Rejected:
    return Rejected(Document(where, text, f.relpath), f"read:{rule}", raw=raw)


def truncated_row(f: InputFile, offset: int, problem: str) -> Rejected:
    """The row for an archive cut (or broken) at `offset`: the records before it were read."""
    where = f"{f.relpath}@{offset}"
    doc = Document(where, f"{where}: {problem}; the records before it were read", f.relpath)
    return Rejected(doc, "read:truncated")
