"""YAML configs with `key.path=value` overrides and one-line errors, for both halves.

Each half validates its own schema with pydantic; reading the file, applying overrides and
turning pydantic's errors into lines that name the file, the key and the fix happen here,
so a pipeline and a training config fail the same way. Errors are raised as the caller's
exception class (`error=`), which keeps each half's error type.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from gristmill.errors import UserError

# (list, the key's parts, the index of the part that reaches into the list, where) -> the
# node the path continues in, or None for the default (a list index)
ListItem = Callable[[list, list[str], int, str], Any]


def read_text(path: Path, what: str, error: type[UserError]) -> str:
    """The file's text exactly as written (no newline translation)."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as err:
        raise error(f"{path}: cannot read {what} ({err.strerror or err})") from None
    except UnicodeDecodeError as err:
        raise error(f"{path}: cannot read {what} ({err})") from None


def parse_mapping(text: str, where: str, keys: list[str], error: type[UserError]) -> dict:
    """safe_load with the line and column of a syntax error; the top level must be a mapping."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise error(f"{where}{at}: invalid YAML: {problem}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise error(f"{where}: invalid YAML: nested too deeply") from None
    if not isinstance(raw, dict):
        raise error(f"{where}: this file is a mapping of keys ({', '.join(keys)}), not a "
                    f"{type(raw).__name__}")
    return raw


def apply_overrides(raw: dict[str, Any], overrides: list[str], where: str,
                    error: type[UserError], list_item: ListItem | None = None) -> dict[str, Any]:
    """Apply `a.b.c=value` overrides (values parsed as YAML) to a copy of `raw`; list items
    are reached by index, or by whatever `list_item` resolves."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        parts = key.split(".")
        if not sep or not all(parts):
            raise error(f"override {item!r}: write it as key.path=value, e.g. a.b=1")
        try:
            parsed = yaml.safe_load(value)
        except (yaml.YAMLError, RecursionError):
            raise error(f"{where}: override {key}: {value!r} is not a valid YAML value; "
                        f"quote a string: {key}='\"...\"'") from None
        _set_path(raw, parts, parsed, f"{where}: override {key}", error, list_item)
    return raw


def _set_path(node: Any, parts: list[str], value: Any, where: str, error: type[UserError],
              list_item: ListItem | None) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        found = list_item(node, parts, i, where) if isinstance(node, list) and list_item else None
        if found is not None:
            node = found
            continue
        if isinstance(node, list):
            if not (part.isdigit() and int(part) < len(node)):
                raise error(f"{where}: '{part}' is not an index below {len(node)}; "
                            "or set the whole list, e.g. key=[a, b]")
            if last:
                node[int(part)] = value
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise error(f"{where}: '{parts[i - 1]}' holds a value, not a mapping: it has no "
                        f"key '{part}'")
        if last:
            node[part] = value
        else:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]


def validation_message(err: ValidationError, model: type[BaseModel], where: str,
                       prefix: str = "") -> str:
    """One line per problem: file: key.path: what is wrong (and the valid keys)."""
    lines = []
    for problem in err.errors():
        loc = [str(part) for part in problem["loc"]]
        key = ".".join([prefix, *loc] if prefix else loc) or "config"
        if problem["type"] == "extra_forbidden":
            valid = keys_at(model, problem["loc"][:-1])
            match = difflib.get_close_matches(loc[-1], valid, n=1)
            hint = f" (did you mean '{match[0]}'?)" if match else ""
            lines.append(f"{where}: {key}: unknown key '{loc[-1]}'{hint}; valid keys: "
                         f"{', '.join(valid)}")
        elif problem["type"] == "missing":
            lines.append(f"{where}: {key}: required key is missing")
        else:
            lines.append(f"{where}: {key}: {_short(problem)}")
    return "\n".join(lines)


def _short(problem: dict[str, Any]) -> str:
    """pydantic's message, with the offending value unless it is a whole section."""
    given = problem.get("input")
    if isinstance(given, dict):
        return problem["msg"].removeprefix("Value error, ")
    return f"{problem['msg']} (got {given!r})"


def keys_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the (nested) model at a validation-error location."""
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return list(model.model_fields)
