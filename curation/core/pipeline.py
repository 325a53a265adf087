"""A validated config turned into step instances, stages and the output schema.

Global steps cut the step list into stages: stage k runs the map steps up to the next
global step and computes that step's keys; the reduce decides; stage k+1 applies the
decisions first. Units (input files) keep their identity through every stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from curation.core.config import PipelineConfig
from curation.core.errors import ConfigError
from curation.core.registry import all_steps
from curation.io.chat import MESSAGES_FIELD
from curation.io.shards import BASE_FIELDS, REJECT_FIELDS, build_schema, rejected_schema
from curation.steps.base import GlobalStep, Step

READ = "read"


@dataclass
class Stage:
    """Steps one worker runs over one unit in one pass; positions index `Pipeline.steps`."""

    index: int
    entry: int | None = None
    maps: list[int] = field(default_factory=list)
    exit: int | None = None


class Pipeline:
    """Steps in order (position 0 is the reader), stages, and schemas."""

    def __init__(self, config: PipelineConfig, yaml_text: str = "", overrides: list[str] = ()):
        self.config, self.yaml_text, self.overrides = config, yaml_text, list(overrides)
        registry = all_steps()
        steps: list[Step] = []
        if config.input.id_field is not None:
            steps.append(registry["unique_ids"]())
        for spec in config.steps:
            (name, params), = spec.items()
            steps.append(registry[name](params))
        self.steps: list[Step | None] = [None, *steps]
        self.names = [READ, *(s.name for s in steps)]
        self.stages = self._plan()
        self.schema = build_schema(config.input.metadata, self._step_columns())
        if config.input.messages_field is not None:
            self._check_chat_steps()
            self.schema = self.schema.insert(len(BASE_FIELDS), MESSAGES_FIELD)
        self.rejected_schema = rejected_schema(self.schema)

    def _plan(self) -> list[Stage]:
        stages = [Stage(0)]
        for position, step in enumerate(self.steps[1:], start=1):
            if isinstance(step, GlobalStep):
                stages[-1].exit = position
                stages.append(Stage(len(stages), entry=position))
            else:
                stages[-1].maps.append(position)
        return stages

    def _check_chat_steps(self) -> None:
        """Chat rows reach only the steps that handle them; the others need plain text."""
        plain = list(dict.fromkeys(s.name for s in self.steps[1:] if not s.handles_chat))
        if plain:
            able = sorted(name for name, cls in all_steps().items() if cls.handles_chat)
            which = f"step '{plain[0]}' needs" if len(plain) == 1 else \
                f"steps {', '.join(repr(name) for name in plain)} need"
            raise ConfigError(f"{which} plain text, but input.messages_field makes the input "
                              f"chat rows; chat rows take only {', '.join(able)} "
                              "(docs/shard-format.md#chat-rows)")

    def _step_columns(self) -> dict[str, pa.DataType]:
        reserved = {f.name for f in [*BASE_FIELDS, *REJECT_FIELDS]}
        if self.config.input.messages_field is not None:
            reserved.add(MESSAGES_FIELD.name)
        for name in self.config.input.metadata:
            if name in reserved:
                raise ConfigError(f"input.metadata: '{name}' is a reserved column name "
                                  f"({', '.join(sorted(reserved))}); drop it from the list")
        columns: dict[str, pa.DataType] = {}
        for step in self.steps[1:]:
            for name, kind in step.columns.items():
                if name in reserved or name in self.config.input.metadata:
                    raise ConfigError(f"step '{step.name}' writes column '{name}', which the "
                                      "input metadata or the shard format already uses")
                columns.setdefault(name, kind)
        return columns

    @property
    def has_split(self) -> bool:
        return "split" in self.schema.names

    def step(self, position: int) -> Step:
        step = self.steps[position]
        assert step is not None, "position 0 is the reader"
        return step
