"""Length filter: documents outside [min, max] characters or words are dropped."""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field

from curation.core.document import Document
from curation.core.registry import register
from curation.steps.base import FilterParams, Step


class LengthParams(FilterParams):
    min_chars: int | None = Field(None, ge=0, description="drop below this many characters")
    max_chars: int | None = Field(None, ge=0, description="drop above this many characters")
    min_words: int | None = Field(None, ge=0, description="drop below this many words")
    max_words: int | None = Field(None, ge=0, description="drop above this many words")


@register
class Length(Step):
    """Record character and whitespace-word counts; drop documents outside the bounds."""

    name = "length"
    handles_chat = True  # on the rendered conversation (docs/shard-format.md#chat-rows)
    Params = LengthParams
    columns = {"n_chars": pa.int64(), "n_words": pa.int64()}

    def process(self, doc: Document) -> str | None:
        p = self.params
        chars = doc.meta["n_chars"] = len(doc.text)
        words = doc.meta["n_words"] = len(doc.text.split())
        if p.min_chars is not None and chars < p.min_chars:
            return "too_few_chars"
        if p.max_chars is not None and chars > p.max_chars:
            return "too_many_chars"
        if p.min_words is not None and words < p.min_words:
            return "too_few_words"
        if p.max_words is not None and words > p.max_words:
            return "too_many_words"
        return None
