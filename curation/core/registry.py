"""Step registry: YAML names -> step classes, built-in and from installed plugins."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from curation import steps as steps_package
from curation.core.errors import ConfigError

if TYPE_CHECKING:
    from curation.steps.base import Step

_STEPS: dict[str, type[Step]] = {}
_loaded = False


def register(cls: type[Step]) -> type[Step]:
    """Class decorator: make a step available under `cls.name` in pipeline YAML."""
    if cls.name in _STEPS and _STEPS[cls.name] is not cls:
        raise ValueError(f"step name {cls.name!r} is registered twice")
    _STEPS[cls.name] = cls
    return cls


def all_steps() -> dict[str, type[Step]]:
    """Every registered step: each module of `curation.steps`, then plugins (entry point
    `gristmill.steps`), so adding a step never means editing a list."""
    global _loaded
    if not _loaded:
        for module in pkgutil.iter_modules(steps_package.__path__):
            importlib.import_module(f"{steps_package.__name__}.{module.name}")
        for plugin in entry_points(group="gristmill.steps"):
            register(plugin.load())
        _loaded = True
    return _STEPS


def get_step_class(name: str, where: str) -> type[Step]:
    """The class for a step name, or an error listing the valid names."""
    steps = all_steps()
    if name in steps:
        return steps[name]
    close = difflib.get_close_matches(name, list(steps), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ConfigError(f"{where}: unknown step '{name}'{hint}; valid steps: "
                      f"{', '.join(sorted(steps))}")
