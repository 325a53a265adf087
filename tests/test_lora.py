"""LoRA: only the adapters train, checkpoints hold them, and sampling/export merge them
into a plain model with the same logits."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.support.training import losses, tiny_run
from training.checkpoint import load_weights, open_checkpoint
from training.config import load_config
from training.export import export
from training.finetune.lora import LoraSpec, add_lora, merge
from training.model import GPT, GPTConfig
from training.trainer import train

CONFIG = GPTConfig(vocab_size=64, block_size=16, n_layer=2, n_head=2, n_embd=32)


def test_adapters_start_as_the_base_and_merge_exactly() -> None:
    torch.manual_seed(0)
    model = GPT(CONFIG).eval()
    ids = torch.randint(0, 64, (2, 16))
    before = model(ids)[0]
    trainable = add_lora(model, LoraSpec(rank=4, alpha=8, targets=("attn.qkv", "mlp.fc")))
    assert trainable == 2 * (4 * (32 + 96) + 4 * (32 + 128))
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {
        f"blocks.{i}.{m}.lora_{x}" for i in (0, 1) for m in ("attn.qkv", "mlp.fc")
        for x in "ab"}
    torch.testing.assert_close(model(ids)[0], before)  # B starts at zero
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_b" in name:
                p.normal_(0, 0.1)
    adapted = model(ids)[0]
    assert (adapted - before).abs().max() > 1e-2
    torch.testing.assert_close(merge(model)(ids)[0], adapted, atol=1e-5, rtol=1e-5)
    assert not any("lora" in name for name in model.state_dict())


def test_lora_fine_tuning_freezes_the_base_and_exports_merged(tmp_path: Path) -> None:
    base = tiny_run(tmp_path / "base", model={"dropout": 0.0}, run={"max_steps": 4})
    train(load_config(base), quiet=True)
    base_ckpt = open_checkpoint(tmp_path / "base" / "run")
    tuned = tiny_run(tmp_path / "tuned", model={"dropout": 0.0},
                     run={"max_steps": 3, "init_from": str(base_ckpt.path),
                          "lora": {"rank": 4, "alpha": 8, "targets": ["attn.qkv",
                                                                      "attn.proj"]}},
                     optim={"lr": 3e-2, "min_lr": 3e-3})
    train(load_config(tuned), quiet=True)
    ckpt = open_checkpoint(tmp_path / "tuned" / "run")
    assert ckpt.meta["lora"]["rank"] == 4
    saved, original = load_file(ckpt.path / "model.safetensors"), load_file(
        base_ckpt.path / "model.safetensors")
    assert sum("lora_" in k for k in saved) == 8
    for name, tensor in original.items():
        assert torch.equal(saved[name], tensor), name  # the base stayed frozen
    assert any(saved[k].abs().max() > 0 for k in saved if "lora_b" in k)
    state = ckpt.load_state()["optimizer"]["state"]
    assert len(state) == 8  # Adam moments for the adapters only

    adapted = GPT(ckpt.model_config)
    add_lora(adapted, LoraSpec(**ckpt.meta["lora"]))
    load_weights(adapted, ckpt.path / "model.safetensors")
    ids = torch.randint(0, 60, (1, 32))
    with torch.no_grad():
        ours = adapted.eval()(ids)[0]
        torch.testing.assert_close(ckpt.load_model().eval()(ids)[0], ours)  # merged
        transformers = pytest.importorskip("transformers")
        export(ckpt, tmp_path / "hf")
        hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
        assert (hf(ids).logits - ours).abs().max() <= 1e-4


def test_a_lora_run_resumes_bit_for_bit(tmp_path: Path) -> None:
    lora = {"rank": 2, "alpha": 4, "targets": ["attn.qkv", "mlp.fc"]}
    runs = {}
    for name in ("whole", "again"):
        config = tiny_run(tmp_path / name, run={"max_steps": 4, "checkpoint_every": 2,
                                                "lora": lora})
        train(load_config(config), quiet=True)
        runs[name] = config
    shutil.rmtree(tmp_path / "again" / "run" / "checkpoints" / "step-00000004")
    train(load_config(runs["again"]), resume=True, quiet=True)
    assert losses(tmp_path / "again" / "run") == losses(tmp_path / "whole" / "run")
    ours = load_file(open_checkpoint(tmp_path / "again" / "run").path / "model.safetensors")
    for name, tensor in load_file(open_checkpoint(tmp_path / "whole" / "run").path /
                                  "model.safetensors").items():
        assert torch.equal(tensor, ours[name]), name
