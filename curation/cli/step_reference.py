"""The step reference: each step's parameters (type, default, description) read from the registry.

`gristmill steps` prints it as tables and `gristmill steps --markdown` writes docs/steps.md
from the same rows, so the docs cannot drift from the parameter models.
"""

from __future__ import annotations

import inspect
import json
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic.fields import FieldInfo

from curation.steps.base import FilterParams, GlobalStep, Step

REGENERATE = "gristmill steps --markdown > docs/steps.md"
_SCALARS = {bool: "bool", int: "int", float: "float", str: "string"}


@dataclass(frozen=True)
class ParamDoc:
    """One parameter as the reference shows it; `default` is JSON (also valid YAML)."""

    name: str
    type: str
    default: str
    description: str


def parameters(cls: type[Step]) -> list[ParamDoc]:
    """The rows of a step's parameter table, in declaration order."""
    return [ParamDoc(name, type_name(field.annotation, field.metadata), default_text(field),
                     field.description or "")
            for name, field in cls.Params.model_fields.items()]


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    return json.dumps(field.get_default(call_default_factory=True), ensure_ascii=False)


def type_name(annotation: Any, metadata: Sequence[Any] = ()) -> str:
    """`int | None` with ge=0 -> 'int >= 0 or null'; constraints go on the non-null part."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        parts = [type_name(arg, metadata) for arg in args if arg is not type(None)]
        return " or ".join(parts + ["null"] * (type(None) in args))
    if origin is Literal:
        return " | ".join(json.dumps(value) for value in args)
    if origin is list:
        item = type_name(args[0]) if args else "any"
        return f"list of ({item})" if " " in item else f"list of {item}"
    name = _SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return " ".join([name, *_constraints(metadata)])


def _constraints(metadata: Sequence[Any]) -> list[str]:
    bounds = {at.Ge: ("ge", ">="), at.Gt: ("gt", ">"), at.Le: ("le", "<="), at.Lt: ("lt", "<")}
    out = []
    for item in metadata:
        if type(item) in bounds:
            attr, symbol = bounds[type(item)]
            out.append(f"{symbol} {getattr(item, attr)}")
        elif isinstance(item, at.MinLen):
            out.append(f"length >= {item.min_length}")
        elif isinstance(item, at.MaxLen):
            out.append(f"length <= {item.max_length}")
    return [", ".join(out)] if out else []


def kind(cls: type[Step]) -> str:
    """'map' or 'global', plus 'filter' when the step takes `mode: annotate`."""
    where = "global" if issubclass(cls, GlobalStep) else "map"
    return f"{where} filter" if issubclass(cls.Params, FilterParams) else where


def markdown(steps: dict[str, type[Step]]) -> str:
    """docs/steps.md: a summary table, then one section per step."""
    lines = [
        "# Step reference",
        "",
        f"<!-- Generated from the step registry by `{REGENERATE}`; do not edit by hand.",
        "     tests/test_step_reference.py fails when this file is out of date. -->",
        "",
        "Every step, every parameter, its type, default and what it does, read from the",
        "parameter models in `curation/steps/*.py` (the same data as `gristmill steps`).",
        "How to write steps in a pipeline and `mode: annotate`:",
        "[pipeline-yaml.md](pipeline-yaml.md#steps). How each step works, its rejection",
        "reasons and measured numbers: the step pages listed in [index.md](index.md).",
        "",
        "Kind: a *map* step sees one document at a time; a *global* step needs the whole",
        "corpus, so it splits the run into stages. A *filter* takes `mode: annotate`, which",
        "records its columns and flags but drops nothing. Defaults are written as JSON, which",
        "is also valid YAML.",
        "",
        "| step | kind | what it does |",
        "|---|---|---|",
    ]
    lines += [_row(f"[`{name}`](#{name})", kind(cls), _summary(cls))
              for name, cls in sorted(steps.items())]
    for name, cls in sorted(steps.items()):
        lines += ["", *_section(name, cls)]
    return "\n".join(lines) + "\n"


def _section(name: str, cls: type[Step]) -> list[str]:
    lines = [f"## `{name}`", "", inspect.getdoc(cls) or "", "", f"Kind: {kind(cls)}."]
    if cls.columns:
        columns = ", ".join(f"`{col}` ({dtype})" for col, dtype in cls.columns.items())
        lines.append(f"Columns: {columns}.")
    lines += ["", "| parameter | type | default | what it does |", "|---|---|---|---|"]
    lines += [_row(f"`{p.name}`", p.type, f"`{p.default}`", p.description)
              for p in parameters(cls)]
    return lines


def _summary(cls: type[Step]) -> str:
    """The docstring's first paragraph, on one line."""
    return " ".join((inspect.getdoc(cls) or "").split("\n\n")[0].split())


def _row(*cells: str) -> str:
    """A table row; `|` is escaped so that Literal types and code spans keep their cells."""
    return "| " + " | ".join(" ".join(c.split()).replace("|", "\\|") for c in cells) + " |"
