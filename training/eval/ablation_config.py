"""The ablation YAML: variants of the data, seeds, one training recipe, a token budget,
and what to evaluate on; validated with one-line errors naming the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from training.errors import TrainingError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariantSection(Section):
    path: str = Field(description="a curated output or any Parquet directory")
    tokenizer: str | None = Field(None, description="only to check it is the shared one")


class PipelineVariant(Section):
    pipeline: str = Field(description="a curation pipeline YAML (gristmill curate)")
    input: str | list[str] = Field(description="its input paths or globs")
    overrides: list[str] = Field(default_factory=list,
                                 description="gristmill curate's key.path=value overrides")
    tokenizer: str | None = Field(None, description="only to check it is the shared one")


class TrainPart(Section):
    config: str = Field(description="a training YAML (gristmill train)")
    overrides: dict[str, object] = Field(default_factory=dict,
                                         description="training config keys, e.g. model.n_layer")
    tokens: int = Field(ge=1, description="tokens each run trains on, exactly")
    evals: int = Field(8, ge=1, description="evaluations along each run (the curve's points)")
    allow_repeats: bool = Field(False, description="allow a budget above a variant's data")


class TokenizerPart(Section):
    vocab_size: int = Field(ge=257, description="BPE trained once on an equal mix")
    chars_per_variant: int = Field(2_000_000, ge=1)


class EvalPart(Section):
    sets: dict[str, str] = Field(default_factory=dict, description="name: Parquet directory")
    tasks: list[str] = Field(default_factory=list)
    task_limit: int | None = Field(500, ge=1)
    task_data: str | None = None
    decontaminate: Literal["report", "remove"] = "report"
    ngram: int = Field(13, ge=1, description="words per n-gram for the overlap check")


class AblationConfig(Section):
    variants: dict[str, str | VariantSection | PipelineVariant] = Field(min_length=2)
    seeds: list[int] = Field(min_length=2)
    train: TrainPart
    tokenizer: str | TokenizerPart | None = Field(
        None, description="a tokenizer.json, or {vocab_size} to train one; default: the "
                          "training config's data.tokenizer")
    eval: EvalPart = Field(default_factory=EvalPart)

    def variant_paths(self, out: Path) -> dict[str, str]:
        """Each variant's data: its directory, or OUT/variants/NAME for a pipeline."""
        return {name: v if isinstance(v, str) else
                v.path if isinstance(v, VariantSection) else str(out / "variants" / name)
                for name, v in self.variants.items()}


def load_ablation(path: str | Path) -> AblationConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise TrainingError(f"{path}: cannot read the ablation file ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise TrainingError(f"{path}: invalid YAML: {getattr(err, 'problem', err)}") from None
    if not isinstance(raw, dict):
        raise TrainingError(f"{path}: an ablation file is a mapping with keys "
                            f"{', '.join(AblationConfig.model_fields)}")
    try:
        config = AblationConfig.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "file"
        hint = {"extra_forbidden": "unknown key", "missing": "required key is missing"}
        raise TrainingError(f"{path}: {key}: {hint.get(first['type'], first['msg'])}"
                            + ("" if first["type"] in hint else
                               f" (got {first.get('input')!r})")) from None
    if len(set(config.seeds)) != len(config.seeds):
        raise TrainingError(f"{path}: seeds: repeated seed in {config.seeds}")
    return config
