"""Training YAML validation and overrides, the learning-rate schedule, optimizer groups."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from training.config import OptimSection, ScheduleSection, load_config
from training.errors import TrainingError
from training.model import GPT, GPTConfig
from training.optim import make_optimizer
from training.schedule import learning_rate

BASE = {"data": {"sources": ["shards"], "tokenizer": "tok.json"},
        "run": {"out_dir": "out", "max_steps": 10}}


def write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def error(tmp_path: Path, raw: object, overrides: list[str] = ()) -> str:
    with pytest.raises(TrainingError) as caught:
        load_config(write(tmp_path, raw), list(overrides))
    return str(caught.value)


def test_defaults_and_overrides(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE), ["model.n_layer=2", "optim.lr=1e-3",
                                                 "run.compile=true", "data.sources=[a, b]"])
    assert (config.model.n_layer, config.optim.lr, config.run.compile) == (2, 1e-3, True)
    assert config.data.sources == ["a", "b"]
    assert config.model.n_embd == 384 and config.schedule.kind == "cosine"


def test_unknown_key_names_it_and_the_valid_ones(tmp_path: Path) -> None:
    message = error(tmp_path, {**BASE, "model": {"n_layers": 4}})
    assert "model.n_layers: unknown key 'n_layers' (did you mean 'n_layer'?)" in message
    assert "valid keys: vocab_size, n_layer, n_head" in message
    assert "train.yaml" in message


def test_wrong_values_and_missing_keys_are_named(tmp_path: Path) -> None:
    assert "run.max_steps: required key is missing" in error(
        tmp_path, {"data": BASE["data"], "run": {"out_dir": "x"}})
    assert "schedule.kind" in error(tmp_path, {**BASE, "schedule": {"kind": "linear"}})
    assert "multiple of model.n_head" in error(tmp_path, {**BASE, "model": {"n_embd": 100}})
    assert "write it as key.path=value" in error(tmp_path, BASE, ["run.max_steps"])
    assert "'max_steps' holds a value, not a mapping" in error(tmp_path, BASE,
                                                               ["run.max_steps.x=1"])
    (tmp_path / "bad.yaml").write_text("run: [1,\n")
    with pytest.raises(TrainingError, match=r"bad.yaml:\d+:\d+: invalid YAML"):
        load_config(tmp_path / "bad.yaml")
    assert "is a mapping" in error(tmp_path, [1, 2])


def test_override_value_that_is_not_yaml_is_one_line(tmp_path: Path) -> None:
    """`run.out_dir=[x` used to end in a yaml traceback; now the curation parser's guard."""
    message = error(tmp_path, BASE, ["run.out_dir=[x"])
    assert message == (f"{tmp_path / 'train.yaml'}: override run.out_dir: '[x' is not a valid "
                       "YAML value; quote a string: run.out_dir='\"...\"'")


override_keys = st.lists(st.sampled_from(["model", "data", "run", "sources", "n_layer", "0",
                                          "max_steps", "x", ""]),
                         min_size=1, max_size=4).map(".".join)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overrides=st.lists(st.tuples(override_keys, st.text(max_size=15)), max_size=3))
def test_random_overrides_succeed_or_name_the_file(tmp_path: Path,
                                                   overrides: list[tuple[str, str]]) -> None:
    """Any override either loads or fails with a TrainingError naming the file or override."""
    assume(all("=" not in key for key, _ in overrides))
    path = write(tmp_path, BASE)
    try:
        load_config(path, [f"{key}={value}" for key, value in overrides])
    except TrainingError as err:
        assert str(err).startswith((str(path), "override")), str(err)


def lr(step: int, kind: str, warmup: int = 10, max_steps: int = 100) -> float:
    return learning_rate(step, max_steps, OptimSection(lr=1.0, min_lr=0.1),
                         ScheduleSection(kind=kind, warmup_steps=warmup, decay_fraction=0.2))


def test_warmup_then_cosine_to_min_lr() -> None:
    assert [lr(s, "cosine") for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert lr(10, "cosine") < 1.0
    assert lr(54, "cosine") == pytest.approx(0.55)  # halfway: the mean of peak and floor
    assert lr(99, "cosine") == pytest.approx(0.1)  # the last step runs at min_lr
    decay = [lr(s, "cosine") for s in range(9, 100)]
    assert decay == sorted(decay, reverse=True)


def test_warmup_stable_decay_and_constant() -> None:
    assert [lr(s, "wsd") for s in (10, 50, 78, 79)] == pytest.approx([1.0] * 4)
    assert lr(80, "wsd") < 1.0
    assert lr(89, "wsd") == pytest.approx(0.55)
    assert lr(99, "wsd") == pytest.approx(0.1)
    assert lr(99, "constant") == 1.0 and lr(0, "constant", warmup=0) == 1.0


def test_weight_decay_only_on_matrices() -> None:
    model = GPT(GPTConfig(vocab_size=50, block_size=8, n_layer=2, n_head=2, n_embd=16))
    optimizer = make_optimizer(model, OptimSection(weight_decay=0.1), torch.device("cpu"))
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(p.dim() == 2 for p in decayed["params"])
    assert {names[id(p)] for p in plain["params"]} >= {"wte.weight", "wpe.weight",
                                                       "norm_f.weight", "norm_f.bias"}
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == \
        model.num_params()
    assert math.isclose(optimizer.defaults["lr"], 6e-4)
