"""Deterministic sampling: a document is in or out by the hash of its id, not by chance."""

from __future__ import annotations

from pydantic import Field

from curation.core.document import Document
from curation.core.registry import register
from curation.steps.base import Step, StepParams
from gristmill.hashing import unit_interval


class SampleParams(StepParams):
    rate: float = Field(gt=0, le=1, description="fraction of documents to keep")
    seed: int = Field(0, description="another seed keeps another subset")


@register
class Sample(Step):
    """Keep a fixed fraction of documents; the same ids survive on every run and machine."""

    name = "sample"
    handles_chat = True  # decides by id
    Params = SampleParams

    def process(self, doc: Document) -> str | None:
        keep = unit_interval(doc.id, salt=f"sample{self.params.seed}") < self.params.rate
        return None if keep else "sampled_out"
