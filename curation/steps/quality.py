"""Quality filter: one 0-1 score per document from a hashed n-gram linear classifier.

`model: null` uses the bundled default (curation/quality/default.json: trained on public-domain
books against synthetic web junk; see docs/steps-toxicity-quality.md for what it measures and
what it misses). Any model made by `gristmill quality train` can be named instead. Models are
loaded once per worker process, from JSON and a `.npz` read without pickle.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import pyarrow as pa
from pydantic import Field

from curation.core.document import Document
from curation.core.registry import register
from curation.steps.base import FilterParams, Step

# Package data, found wherever the package is installed (its .npz lies beside it).
DEFAULT_MODEL = Path(str(files("curation.quality") / "default.json"))


@lru_cache(maxsize=8)
def load_model(path: str):
    """The model at `path` (cached per process: a worker loads each model once)."""
    from curation.quality.model import QualityModel

    return QualityModel.load(path)


class QualityParams(FilterParams):
    model: str | None = Field(
        None, description="model JSON written by `gristmill quality train`; null: the "
                          "bundled default")
    min_score: float = Field(
        0.3, ge=0.0, le=1.0,
        description="drop documents scoring below this (quality:low_score); 0.3 keeps 95% or "
                    "more of held-out books, WikiText and filtered web text with the default "
                    "model (docs/steps-toxicity-quality.md)")


@register
class Quality(Step):
    """Score each document 0-1 with a hashed n-gram classifier; drop low scores."""

    name = "quality"
    Params = QualityParams
    columns = {"quality_score": pa.float32()}

    def __init__(self, params=None):
        super().__init__(params)
        self.model_path = str(Path(self.params.model).expanduser().resolve()
                              if self.params.model else DEFAULT_MODEL)
        load_model(self.model_path)  # a missing or damaged model fails before any work

    def process(self, doc: Document) -> str | None:
        score = doc.meta["quality_score"] = load_model(self.model_path).score(doc.text)
        return "low_score" if score < self.params.min_score else None
