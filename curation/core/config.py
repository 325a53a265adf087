"""Pipeline YAML -> validated config. Every mistake names the file, the key path and the fix."""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curation.core.errors import ConfigError

MiB = 1024 * 1024
WEB_FORMATS = {"warc", "wet", "html"}
WEB_COLUMNS = ("url", "date")


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
    id_field: str | None = Field(
        None, description="field holding a unique id; unset: ids are derived from file:position")
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
        from curation.io.readers import format_of

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
        32 * MiB, ge=0, description="per-file outputs with less text are merged with their "
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
    try:
        text = path.read_bytes().decode("utf-8")  # verbatim: no newline translation
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read pipeline file ({err})") from None
    raw = parse_yaml(text, str(path))
    raw = apply_overrides(raw, overrides, str(path))
    return validate(raw, str(path)), text


def parse_yaml(text: str, where: str) -> dict[str, Any]:
    """safe_load with the line and column of a syntax error in the message."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{where}{at}: invalid YAML: {problem}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ConfigError(f"{where}: invalid YAML: nested too deeply") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a pipeline must be a YAML mapping with keys "
                          f"{', '.join(PipelineConfig.model_fields)}")
    return raw


def validate(raw: dict[str, Any], where: str) -> PipelineConfig:
    """Validate the top level with pydantic and each step against its registered parameters."""
    try:
        config = PipelineConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, PipelineConfig, where)) from None
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
        raise ConfigError(format_validation_error(
            err, cls.Params, where, prefix=f"steps[{index}].{name}")) from None
    return {name: validated.model_dump()}


def format_validation_error(err: ValidationError, model: type[BaseModel], where: str,
                            prefix: str = "") -> str:
    """One line per problem: file: key.path: what is wrong (and the valid keys)."""
    lines = []
    for problem in err.errors():
        loc = [str(part) for part in problem["loc"]]
        key = ".".join([prefix, *loc] if prefix else loc)
        if problem["type"] == "extra_forbidden":
            valid = _keys_at(model, problem["loc"][:-1])
            hint = _close_match(loc[-1], valid)
            lines.append(f"{where}: {key}: unknown key{hint}; valid keys: {', '.join(valid)}")
        elif problem["type"] == "missing":
            lines.append(f"{where}: {key}: required key is missing")
        else:
            lines.append(f"{where}: {key}: {problem['msg']} (got {problem.get('input')!r})")
    return "\n".join(lines)


def _keys_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the (nested) model at a validation-error location."""
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return list(model.model_fields)


def _close_match(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1)
    return f" '{word}' (did you mean '{match[0]}'?)" if match else f" '{word}'"


def apply_overrides(raw: dict[str, Any], overrides: list[str], where: str) -> dict[str, Any]:
    """Apply `a.b.c=value` overrides; list items by index or, for steps, by step name."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: write it as key.path=value")
        try:
            parsed = yaml.safe_load(value)
        except (yaml.YAMLError, RecursionError):
            raise ConfigError(f"{where}: override {key}: {value!r} is not a valid YAML value; "
                              f"quote a string: {key}='\"...\"'") from None
        _set_path(raw, key.split("."), parsed, f"{where}: override {key}")
    return raw


def _set_path(node: Any, parts: list[str], value: Any, where: str) -> None:
    for i, part in enumerate(parts):
        if isinstance(node, list) and i == 1 and parts[0] == "steps":
            node = _step_params(node, part, parts[i + 1] if i + 1 < len(parts) else None, where)
            continue
        if isinstance(node, list):
            if not (part.isdigit() and int(part) < len(node)):
                raise ConfigError(f"{where}: '{part}' is not an index below {len(node)}; "
                                  "or set the whole list, e.g. key=[a, b]")
            if i == len(parts) - 1:
                node[int(part)] = value
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"{where}: '{part}' is below a value that is not a mapping")
        if i == len(parts) - 1:
            node[part] = value
        else:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]


def _step_params(items: list, part: str, following: str | None, where: str) -> Any:
    """A list element by index or, for steps, the parameters of the first step named `part`.

    `steps.0.min_words` and `steps.0.length.min_words` both reach the first step's params;
    a bare `- name` step is turned into `- name: {}` so that it can be overridden.
    """
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
