"""Exact duplicate removal across the whole run (not only within one file)."""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field

from curation.core.document import Document
from curation.core.registry import register
from curation.dedup.keyed import KeyedDedup
from curation.steps.base import Decision, FilterParams
from curation.text.normalize import normalize_for_dedup
from gristmill.hashing import hash64


class ExactDedupParams(FilterParams):
    normalize: bool = Field(
        True, description="compare case-folded text with punctuation and spacing collapsed")


@register
class ExactDedup(KeyedDedup):
    """Keep the first copy of each text (by input order); later copies go to rejected/.

    `exact_dup_of` names the first copy, so `mode: annotate` output can be deduplicated
    later by dropping rows where it is set."""

    name = "exact_dedup"
    handles_chat = True  # on the rendered conversation (docs/shard-format.md#chat-rows)
    Params = ExactDedupParams
    columns = {"exact_dup_copies": pa.int32(), "exact_dup_of": pa.string()}

    def key(self, doc: Document) -> int:
        text = normalize_for_dedup(doc.text) if self.params.normalize else doc.text
        return hash64(text, salt="exact_dedup")

    def apply(self, doc: Document, decision: Decision | None) -> str | None:
        doc.meta["exact_dup_copies"] = decision.copies if decision else 1
        doc.meta["exact_dup_of"] = decision.duplicate_of if decision else None
        return decision.rule if decision else None
