"""The implicit first step when ids come from the input (`input.id_field`): an id must name
one document, so later repeats are rejected (the pipeline adds it; it is not written in YAML)."""

from __future__ import annotations

from curation.core.document import Document
from curation.core.registry import register
from curation.dedup.keyed import KeyedDedup
from curation.steps.base import Decision
from gristmill.hashing import hash64


@register
class UniqueIds(KeyedDedup):
    """Implicit first step when ids come from the input: later repeats of an id are rejected."""

    name = "unique_ids"
    handles_chat = True  # decides by id
    rule = "duplicate_id"

    def key(self, doc: Document) -> int:
        return hash64(doc.id)

    def apply(self, doc: Document, decision: Decision | None) -> str | None:
        return decision.rule if decision else None
