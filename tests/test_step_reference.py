"""docs/steps.md is generated from the registry; these tests keep it from drifting."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from curation.cli.step_reference import REGENERATE, markdown, parameters, type_name
from curation.core.registry import all_steps
from curation.steps.base import StepParams
from gristmill.launcher import main
from tests.support.curation import REPO


def builtin_steps() -> dict:
    """Plugins installed in the environment are not part of the committed reference."""
    return {name: cls for name, cls in all_steps().items()
            if cls.__module__.startswith("curation.")}


def test_committed_reference_is_current() -> None:
    committed = (REPO / "docs" / "steps.md").read_text(encoding="utf-8")
    assert committed == markdown(builtin_steps()), (
        f"docs/steps.md is out of date; regenerate it with `{REGENERATE}` and commit it")


def test_every_parameter_is_described() -> None:
    missing = [f"{name}.{p.name}" for name, cls in builtin_steps().items()
               for p in parameters(cls) if not p.description]
    assert not missing, f"add Field(description=...) to: {', '.join(missing)}"


def test_cli_prints_the_same_markdown(capsys) -> None:
    assert main(["steps", "length", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown({"length": all_steps()["length"]})


def test_types_defaults_and_constraints() -> None:
    class FakeParams(StepParams):
        rate: float = Field(gt=0, le=1, description="r")
        mode: Literal["a", "b"] | None = Field("a", description="m")
        words: list[str] = Field(default_factory=list, description="w")

    class Fake:
        Params = FakeParams  # all that parameters() reads
    rows = {p.name: (p.type, p.default) for p in parameters(Fake)}
    assert rows == {"rate": ("float > 0, <= 1", "required"),
                    "mode": ('"a" | "b" or null', '"a"'),
                    "words": ("list of string", "[]")}
    bounds = FakeParams.model_fields["rate"].metadata
    assert type_name(int | None, bounds) == "int > 0, <= 1 or null"
