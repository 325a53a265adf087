"""`schedule.decay_steps`: a run stopped at `max_steps` continues with a larger one exactly as
if it had never stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.support.training import losses, tiny_run
from training.checkpoint import open_checkpoint
from training.config import OptimSection, ScheduleSection, load_config
from training.schedule import learning_rate
from training.trainer import train


@pytest.mark.parametrize("kind", ["cosine", "wsd"])
def test_the_rate_follows_decay_steps_not_max_steps(kind: str) -> None:
    optim = OptimSection(lr=1.0, min_lr=0.1)
    fixed = ScheduleSection(kind=kind, warmup_steps=10, decay_steps=100)
    assert [learning_rate(s, 60, optim, fixed) for s in range(60)] == \
        [learning_rate(s, 100, optim, fixed) for s in range(60)]
    assert learning_rate(59, 60, optim, fixed) > 0.1  # stopped before the decay ended
    assert learning_rate(99, 100, optim, fixed) == pytest.approx(0.1)
    assert learning_rate(150, 200, optim, fixed) == pytest.approx(0.1)  # past it: min_lr
    plain = ScheduleSection(kind=kind, warmup_steps=10)
    assert learning_rate(59, 60, optim, plain) == pytest.approx(0.1)


def test_a_stopped_run_continues_bit_for_bit_with_a_larger_max_steps(tmp_path: Path) -> None:
    schedule = {"decay_steps": 12, "warmup_steps": 2}
    whole = tiny_run(tmp_path / "whole", run={"max_steps": 12}, schedule=schedule)
    train(load_config(whole), quiet=True)
    part = tiny_run(tmp_path / "part", run={"max_steps": 8}, schedule=schedule)
    train(load_config(part), quiet=True)
    assert open_checkpoint(tmp_path / "part" / "run").step == 8
    train(load_config(part, ["run.max_steps=12"]), resume=True, quiet=True)
    assert losses(tmp_path / "part" / "run") == losses(tmp_path / "whole" / "run")
    ours = load_file(open_checkpoint(tmp_path / "part" / "run").path / "model.safetensors")
    for name, tensor in load_file(open_checkpoint(tmp_path / "whole" / "run").path /
                                  "model.safetensors").items():
        assert torch.equal(tensor, ours[name]), name
