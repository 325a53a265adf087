"""`gristmill export` to transformers (same logits) and `gristmill sample` (streamed text)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.support.training import tiny_run
from training.checkpoint import open_checkpoint
from training.config import load_config
from training.errors import TrainingError
from training.export import export
from training.trainer import train

transformers = pytest.importorskip("transformers")

SHAPES = {
    "gpt2": ({}, "GPT2LMHeadModel"),
    "llama": ({"positions": "rope", "norm": "rmsnorm", "mlp": "swiglu", "bias": False},
              "LlamaForCausalLM"),
    "llama-untied": ({"positions": "rope", "norm": "rmsnorm", "mlp": "swiglu", "bias": False,
                      "tie_embeddings": False}, "LlamaForCausalLM"),
}


def trained(root: Path, **model: object) -> Path:
    config = tiny_run(root, model={"dropout": 0.0, **model}, run={"max_steps": 3})
    train(load_config(config), quiet=True)
    return root / "run"


@pytest.mark.parametrize("shape", SHAPES)
def test_export_gives_the_same_logits_in_transformers(tmp_path: Path, shape: str) -> None:
    model_args, architecture = SHAPES[shape]
    ckpt = open_checkpoint(trained(tmp_path, **model_args))
    assert export(ckpt, tmp_path / "hf") == architecture
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    ids = tokenizer("To be, or not to be: that is the question.", return_tensors="pt")
    ids = ids["input_ids"][:, :32]
    ours = ckpt.load_model().eval()
    with torch.no_grad():
        torch.testing.assert_close(hf(ids).logits, ours(ids)[0], atol=2e-5, rtol=1e-4)
    assert tokenizer.eos_token == "<|endoftext|>"
    assert type(hf).__name__ == architecture


def test_a_shape_transformers_lacks_is_refused(tmp_path: Path) -> None:
    ckpt = open_checkpoint(trained(tmp_path, mlp="relu2"))
    with pytest.raises(TrainingError, match="no transformers architecture"):
        export(ckpt, tmp_path / "hf")


def gristmill(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gristmill.launcher", *args],
                          capture_output=True, text=True, timeout=300)


def test_sample_and_export_commands(tmp_path: Path) -> None:
    out = trained(tmp_path)
    first = gristmill("sample", str(out), "--prompt", "ROMEO:", "--max-new-tokens", "40",
                      "--seed", "3")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("ROMEO:") and len(first.stdout) > len("ROMEO:") + 20
    again = gristmill("sample", str(out), "--prompt", "ROMEO:", "--max-new-tokens", "40",
                      "--seed", "3")
    assert again.stdout == first.stdout
    greedy = gristmill("sample", str(out), "--temperature", "0", "--max-new-tokens", "10")
    assert greedy.returncode == 0 and greedy.stdout.strip()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    refused = gristmill("export", str(out), "--out", str(tmp_path / "taken"))
    assert refused.returncode == 2 and refused.stderr.startswith("error: ")
    done = gristmill("export", str(out), "--out", str(tmp_path / "hf"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "hf" / "model.safetensors").exists()
    missing = gristmill("sample", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "not a gristmill checkpoint" in missing.stderr
