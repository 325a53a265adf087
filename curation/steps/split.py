"""Train/validation split by id hash, so held-out data never depends on file order."""

from __future__ import annotations

import pyarrow as pa
from pydantic import Field

from curation.core.document import Document
from curation.core.registry import register
from curation.steps.base import Step, StepParams
from gristmill.hashing import unit_interval


class SplitParams(StepParams):
    validation_fraction: float = Field(
        0.01, ge=0, lt=1, description="fraction of documents held out for validation")
    seed: int = Field(0, description="another seed holds out another subset")


@register
class Split(Step):
    """Mark each document train or validation; the writer puts them in train/ and validation/."""

    name = "split"
    handles_chat = True  # decides by id
    Params = SplitParams
    columns = {"split": pa.string()}

    def process(self, doc: Document) -> str | None:
        u = unit_interval(doc.id, salt=f"split{self.params.seed}")
        doc.meta["split"] = "validation" if u < self.params.validation_fraction else "train"
        return None
