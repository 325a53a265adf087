"""Pipeline YAML -> validated config. Every mistake names the file, the key path and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curation.core.errors import ConfigError
from curation.io.formats import WEB_COLUMNS, WEB_FORMATS, format_of
from gristmill.config import apply_overrides, parse_mapping, read_text, validation_message

MiB = 1024 * 1024


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class InputConfig(Strict):
    """Where documents come from and which fields hold what."""

    paths: list[str] = Field(description="files, directories, globs or fsspec URLs")
    format: Literal["auto", "jsonl", "parquet", "text", "hf_disk", "warc", "wet", "html"] = Field(
        "auto", description="auto picks by extension; hf_disk is datasets.save_to_disk output; "
                            "warc/wet/html read web pages (docs/web.md)")
    text_field: str = Field("text", description="field/column holding the text")
    messages_field: str | None = Field(
        None, description="chat rows: the field/column holding [{role, content}] messages; "
                          "text is rendered from it (docs/shard-format.md#chat-rows)")
    id_field: str | None = Field(
        None, description="field holding a unique id; unset: `id` when every input file has "
                          "one, else ids are derived from file:position")
    source_field: str | None = Field(
        "source", description="field naming the source; missing: the file's relative path")
    source: str | None = Field(None, description="a fixed source name for every document")
    metadata: list[str] = Field(
        default_factory=list, description="extra input fields kept as string columns")
    text_mode: Literal["file", "paragraph"] = Field(
        "file", description="plain-text files: one document per file or per blank-line block")

    @field_validator("paths", mode="before")
    @classmethod
    def _one_path_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _web_columns(self) -> InputConfig:
        """Web pages always carry `url` and `date` columns (kept and rejected shards)."""
        formats = {self.format} if self.format != "auto" else {format_of(p) for p in self.paths}
        if formats & WEB_FORMATS:
            self.metadata = list(dict.fromkeys([*self.metadata, *WEB_COLUMNS]))
        return self


class OutputConfig(Strict):
    """Where shards go and how they are laid out (see docs/shard-format.md)."""

    path: str = Field(description="output directory (local)")
    write_rejected: bool = Field(True, description="write dropped documents to rejected/")
    shard_max_bytes: int = Field(
        512 * MiB, gt=0, description="start a new shard after this much uncompressed text")
    merge_below_bytes: int = Field(
        16 * MiB, ge=0, description="per-file outputs with less text are merged with their "
                                    "neighbours at the end (up to shard_max_bytes)")
    row_group_rows: int = Field(100_000, gt=0, description="rows per Parquet row group (max)")
    row_group_bytes: int = Field(128 * MiB, gt=0, description="text bytes per row group (max)")
    compression_level: int = Field(3, ge=1, le=22, description="zstd level")


class ExecutorConfig(Strict):
    """How the work is spread: processes on this machine, or Ray tasks (docs/ray.md)."""

    type: Literal["local", "ray"] = "local"
    workers: int | None = Field(
        None, ge=1, description="processes (local) or CPUs of a Ray started here; unset: "
                                "one per core")
    address: str | None = Field(
        None, description="ray: the cluster to join (auto, ray://host:10001); unset: "
                          "RAY_ADDRESS, else a Ray started on this machine")


class PipelineConfig(Strict):
    """A whole pipeline: input, steps in order, output, executor."""

    name: str = "pipeline"
    input: InputConfig
    output: OutputConfig
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    steps: list[Any] = Field(default_factory=list, description="steps, in order")


def load_pipeline(path: str | Path, overrides: list[str] = ()) -> tuple[PipelineConfig, str]:
    """Read, override and validate a pipeline file; returns the config and the verbatim YAML."""
    path = Path(path)
    text = read_text(path, "pipeline file", ConfigError)
    raw = parse_mapping(text, str(path), list(PipelineConfig.model_fields), ConfigError)
    raw = apply_overrides(raw, list(overrides), str(path), ConfigError, _step_params)
    return validate(raw, str(path)), text


def validate(raw: dict[str, Any], where: str) -> PipelineConfig:
    """Validate the top level with pydantic and each step against its registered parameters."""
    try:
        config = PipelineConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(validation_message(err, PipelineConfig, where)) from None
    config.steps = [normalize_step(item, i, where) for i, item in enumerate(config.steps)]
    return config


def normalize_step(item: Any, index: int, where: str) -> dict[str, Any]:
    """`- name` or `- name: {params}` -> {name: validated params dict}."""
    from curation.core.registry import get_step_class

    if isinstance(item, str):
        name, params = item, {}
    elif isinstance(item, dict) and len(item) == 1 and isinstance(next(iter(item)), str):
        name, params = next(iter(item.items()))
        params = {} if params is None else params
    else:
        raise ConfigError(f"{where}: steps[{index}]: write a step as `- name` or "
                          f"`- name: {{param: value}}`, got {item!r}")
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: steps[{index}].{name}: parameters must be a mapping, "
                          f"got {params!r}")
    cls = get_step_class(name, f"{where}: steps[{index}]")
    try:
        validated = cls.Params.model_validate(params)
    except ValidationError as err:
        raise ConfigError(validation_message(
            err, cls.Params, where, prefix=f"steps[{index}].{name}")) from None
    return {name: validated.model_dump()}


def _step_params(items: list, parts: list[str], i: int, where: str) -> Any:
    """Overrides reach a step by index or by name: the parameters of the first step named
    `parts[i]` (other lists: None, so the default index rule applies).

    `steps.0.min_words` and `steps.0.length.min_words` both reach the first step's params;
    a bare `- name` step is turned into `- name: {}` so that it can be overridden.
    """
    if i != 1 or parts[0] != "steps":
        return None
    part, following = parts[i], parts[i + 1] if i + 1 < len(parts) else None
    for position, item in enumerate(items):
        if isinstance(item, str):
            items[position] = item = {item: {}}
        if isinstance(item, dict) and len(item) == 1 and next(iter(item.values())) is None:
            item[next(iter(item))] = {}
    if part.isdigit() and int(part) < len(items):
        item = items[int(part)]
        if _is_step(item) and following not in item:
            return next(iter(item.values()))
        return item
    for item in items:
        if _is_step(item) and part in item:
            return item[part]
    raise ConfigError(f"{where}: no list item '{part}' (use an index below {len(items)} "
                      "or a step name present in the pipeline)")


def _is_step(item: Any) -> bool:
    return isinstance(item, dict) and len(item) == 1 and isinstance(next(iter(item.values())),
                                                                    dict)
