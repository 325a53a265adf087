"""The modern-recipe switches: QK-norm, zero-initialised projections, logit soft-cap, Muon
(with exact resume), and export's refusal of what transformers cannot express."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.support.training import losses, tiny_run
from training.checkpoint import open_checkpoint, steps
from training.config import OptimSection, load_config
from training.errors import TrainingError
from training.model import GPT, GPTConfig
from training.optim import MuonAdamW, make_optimizer, orthogonalize
from training.trainer import train

SMALL = {"vocab_size": 50, "block_size": 8, "n_layer": 2, "n_head": 2, "n_embd": 16}


def model(**options: object) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(**SMALL, **options))


def test_qk_norm_makes_attention_blind_to_the_scale_of_queries_and_keys() -> None:
    ids = torch.randint(0, 50, (2, 8))
    for qk_norm, same in ((True, True), (False, False)):
        net = model(qk_norm=qk_norm).eval()
        before = net(ids)[0]
        with torch.no_grad():  # queries and keys are the first 2 x 16 rows of qkv
            for block in net.blocks:
                block.attn.qkv.weight[:32] *= 8.0
        assert torch.allclose(net(ids)[0], before, atol=1e-5) == same


def test_zero_init_starts_every_block_as_the_identity() -> None:
    net = model(zero_init=True).eval()
    projections = [b.attn.proj.weight for b in net.blocks] + [b.mlp.proj.weight
                                                              for b in net.blocks]
    assert all(not w.any() for w in projections)
    assert net.blocks[0].attn.qkv.weight.std().item() == pytest.approx(0.02, rel=0.2)
    ids = torch.randint(0, 50, (1, 8))
    x = net.wte(ids) + net.wpe(torch.arange(8))
    torch.testing.assert_close(net(ids)[0], net.lm_head(net.norm_f(x)))


def test_logit_softcap_bounds_the_logits() -> None:
    ids = torch.randint(0, 50, (1, 8))
    for cap in (None, 5.0):
        net = model(logit_softcap=cap).eval()
        with torch.no_grad():
            net.lm_head.weight.mul_(1000.0)
        largest = net(ids)[0].abs().max().item()
        assert (largest <= 5.0) == (cap is not None)  # tanh rounds to 1 in float32


def test_muon_takes_the_blocks_matrices_and_adamw_the_rest() -> None:
    net = model(tie_embeddings=False)
    optim = OptimSection(name="muon", lr=1e-3, muon_lr=0.02, weight_decay=0.1)
    optimizer = make_optimizer(net, optim, torch.device("cpu"))
    assert isinstance(optimizer, MuonAdamW)
    names = {id(p): n for n, p in net.named_parameters()}
    muon = {names[id(p)] for g in optimizer.muon.param_groups for p in g["params"]}
    assert muon == {f"blocks.{i}.{m}.weight" for i in range(2)
                    for m in ("attn.qkv", "attn.proj", "mlp.fc", "mlp.proj")}
    adamw = {names[id(p)] for g in optimizer.adamw.param_groups for p in g["params"]}
    assert {"wte.weight", "wpe.weight", "lm_head.weight", "norm_f.weight"} <= adamw
    assert not muon & adamw
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == \
        net.num_params()
    group = optimizer.muon.param_groups[0]
    assert group["lr_scale"] == pytest.approx(20.0)
    # the same shrink per step as AdamW's: lr x weight_decay
    assert group["lr"] * group["weight_decay"] == pytest.approx(1e-3 * 0.1)


def test_orthogonalize_flattens_the_singular_values() -> None:
    torch.manual_seed(0)
    g = torch.randn(48, 16) @ torch.diag(torch.logspace(-1, 1, 16))
    singular = torch.linalg.svdvals(orthogonalize(g).float())
    assert singular.min() > 0.5 and singular.max() < 1.3
    # torch.optim.Muon's (bfloat16) iteration gives the same matrix to bf16 precision
    from torch.optim._muon import _zeropower_via_newtonschulz
    theirs = _zeropower_via_newtonschulz(g, (3.4445, -4.775, 2.0315), 5, 1e-7).float()
    torch.testing.assert_close(orthogonalize(g).float(), theirs, atol=3e-2, rtol=0)


def test_muon_run_learns_and_resumes_bit_for_bit(tmp_path: Path) -> None:
    muon = {"name": "muon", "lr": 3e-3, "min_lr": 3e-4, "muon_lr": 0.02}
    sections = {"model": {"qk_norm": True, "zero_init": True, "logit_softcap": 15.0},
                "optim": muon,
                "run": {"max_steps": 10, "checkpoint_every": 5, "keep_last": 4}}
    config = tiny_run(tmp_path / "a", **sections)
    train(load_config(config), quiet=True)
    out = tmp_path / "a" / "run"
    seen = losses(out)
    assert seen[10] < seen[1] - 0.3
    state = open_checkpoint(out).load_state()
    buffers = state["optimizer"]["muon"]["state"]
    assert len(buffers) == 8 and all("momentum_buffer" in s for s in buffers.values())
    first = load_file(open_checkpoint(out).path / "model.safetensors")
    shutil.rmtree(steps(out / "checkpoints")[-1])  # as if killed after step 5
    resumed = tmp_path / "b"
    shutil.copytree(out, resumed)
    train(load_config(config, [f"run.out_dir={resumed}"]), resume=True, quiet=True)
    assert losses(resumed) == seen
    again = load_file(open_checkpoint(resumed).path / "model.safetensors")
    assert all(torch.equal(t, again[k]) for k, t in first.items())


def test_muon_with_fsdp_is_a_one_line_error(tmp_path: Path) -> None:
    config = tiny_run(tmp_path)
    with pytest.raises(TrainingError, match=r"optim.name=muon .* run.distributed=ddp"):
        load_config(config, ["optim.name=muon", "run.distributed=fsdp"])


@pytest.mark.parametrize(("option", "value"), [("qk_norm", True), ("logit_softcap", 30.0)])
def test_export_refuses_what_transformers_cannot_express(tmp_path: Path, option: str,
                                                         value: object) -> None:
    pytest.importorskip("transformers")
    from training.export import export

    config = tiny_run(tmp_path, model={option: value}, run={"max_steps": 1})
    train(load_config(config), quiet=True)
    with pytest.raises(TrainingError, match=f"model.{option}=.*no equivalent"):
        export(open_checkpoint(tmp_path / "run"), tmp_path / "hf")
    assert not (tmp_path / "hf").exists()
