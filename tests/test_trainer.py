"""The trainer end to end on a tiny model: learning, checkpoints, exact resume, fine-tuning,
evaluation numbers, and the errors a user meets."""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.support.training import bpe_tokenizer, losses, tiny_run
from training.checkpoint import open_checkpoint, steps
from training.config import load_config
from training.errors import TrainingError
from training.trainer import train


def run(config: Path, *overrides: str, resume: bool = False) -> dict:
    return train(load_config(config, list(overrides)), resume=resume, quiet=True)


def weights(out_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(open_checkpoint(out_dir).path / "model.safetensors")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """12 uninterrupted steps with dropout, logged every step, a checkpoint every 4."""
    config = tiny_run(tmp_path_factory.mktemp("ref"), run={"max_steps": 12})
    run(config)
    return config


def test_loss_goes_down_and_checkpoints_keep_the_last_two(reference: Path) -> None:
    out = reference.parent / "run"
    seen = losses(out)
    assert sorted(seen) == list(range(1, 13))
    assert seen[12] < seen[1] - 0.5
    assert [p.name for p in steps(out / "checkpoints")] == ["step-00000008", "step-00000012"]
    meta = json.loads((out / "checkpoints" / "step-00000012" / "meta.json").read_text())
    assert meta["step"] == 12 and meta["model"]["n_layer"] == 2
    vocab = open_checkpoint(out).model_config.vocab_size
    assert vocab % 64 == 0 and vocab - 64 < meta["tokenizer"]["vocab_size"] <= vocab


def test_evaluation_reports_loss_perplexity_and_bits_per_byte(reference: Path) -> None:
    records = [json.loads(line) for line in
               (reference.parent / "run" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "val_loss" in r]
    assert [r["step"] for r in evals] == [4, 8, 12]
    last = evals[-1]
    assert last["val_ppl"] == pytest.approx(math.exp(last["val_loss"]))
    # Characters of this ASCII text are one byte each; only the end-of-text tokens (no
    # bytes) separate nats per token from nats per byte.
    assert last["val_bpb"] == pytest.approx(last["val_loss"] / math.log(2), rel=0.05)
    assert evals[-1]["val_loss"] < evals[0]["val_loss"]


def test_dtype_auto_follows_the_cpu(tmp_path: Path) -> None:
    """The one tiny run left on `dtype: auto`: bf16 exactly where the CPU has it natively,
    and training works either way."""
    from training.device import _cpu_has_bf16, pick_dtype

    expected = torch.bfloat16 if _cpu_has_bf16() else torch.float32
    assert pick_dtype("auto", torch.device("cpu")) == expected
    out = tmp_path / "run"
    run(tiny_run(tmp_path, run={"dtype": "auto", "max_steps": 6}))
    seen = losses(out)
    assert all(math.isfinite(v) for v in seen.values()) and seen[6] < seen[1]


def forget_after(out_dir: Path, step: int) -> None:
    """The state a run killed after checkpoint `step` leaves (its metrics run further)."""
    for path in steps(out_dir / "checkpoints"):
        if int(path.name.split("-")[1]) > step:
            shutil.rmtree(path)


def test_resume_continues_bit_for_bit(reference: Path, tmp_path: Path) -> None:
    config = tiny_run(tmp_path, run={"max_steps": 12, "checkpoint_every": 3, "keep_last": 9})
    run(config)
    forget_after(tmp_path / "run", 6)
    (tmp_path / "run" / "metrics.jsonl").open("a").write('{"step": 13, "loss": 1')  # torn
    run(config, resume=True)
    assert losses(tmp_path / "run") == losses(reference.parent / "run")
    for name, tensor in weights(reference.parent / "run").items():
        assert torch.equal(tensor, weights(tmp_path / "run")[name]), name


def test_a_second_run_into_the_same_out_dir_needs_resume(reference: Path) -> None:
    with pytest.raises(TrainingError, match="pass --resume"):
        run(reference)
    with pytest.raises(TrainingError, match=r"model.n_layer was 2, now 3"):
        run(reference, "model.n_layer=3", "run.max_steps=13", resume=True)


def test_corrupt_or_unsafe_checkpoints_are_refused(reference: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ckpt"
    shutil.copytree(open_checkpoint(reference.parent / "run").path, copy)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-10] ^= 0xFF
    (copy / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(TrainingError, match=r"model\.safetensors: missing or corrupt"):
        open_checkpoint(copy)
    # A state.pt with a pickled object, its checksum updated by whoever planted it.
    shutil.copyfile(open_checkpoint(reference.parent / "run").path / "model.safetensors",
                    copy / "model.safetensors")
    (copy / "state.pt").write_bytes(pickle.dumps({"x": Path("/")}))
    meta = json.loads((copy / "meta.json").read_text())
    meta["sha256"]["state.pt"] = hashlib.sha256((copy / "state.pt").read_bytes()).hexdigest()
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(TrainingError, match="never unpickled"):
        open_checkpoint(copy).load_state()


def test_fine_tuning_starts_from_the_weights_with_a_fresh_optimizer(reference: Path,
                                                                     tmp_path: Path) -> None:
    config = tiny_run(tmp_path, run={"max_steps": 2, "checkpoint_every": 1, "keep_last": 5,
                                     "init_from": str(reference.parent / "run")},
                      optim={"lr": 1e-9, "min_lr": 0.0}, schedule={"warmup_steps": 0})
    run(config)
    first = open_checkpoint(tmp_path / "run" / "checkpoints" / "step-00000001")
    assert first.load_state()["optimizer"]["state"][0]["step"].item() == 1
    base = weights(reference.parent / "run")
    for name, tensor in load_file(first.path / "model.safetensors").items():
        assert torch.allclose(tensor, base[name], atol=1e-5), name
    assert losses(tmp_path / "run")[1] < losses(reference.parent / "run")[1] - 0.5


def test_fine_tuning_refuses_another_tokenizer(reference: Path, tmp_path: Path) -> None:
    config = tiny_run(tmp_path, run={"init_from": str(reference.parent / "run")})
    bpe_tokenizer(300).save(str(tmp_path / "bpe.json"))
    with pytest.raises(TrainingError, match="tokenizer mismatch"):
        run(config, f"data.tokenizer={tmp_path / 'bpe.json'}")


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    config = tiny_run(tmp_path)
    result = subprocess.run([sys.executable, "-m", "gristmill.launcher", "train", str(config),
                             "model.n_heads=3"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "did you mean 'n_head'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_compiled_checkpoints_load_without_compile_and_back(tmp_path: Path) -> None:
    config = tiny_run(tmp_path, run={"max_steps": 6, "checkpoint_every": 2, "compile": True})
    run(config, "run.max_steps=2")
    run(config, "run.compile=false", "run.max_steps=4", resume=True)
    run(config, resume=True)
    assert sorted(losses(tmp_path / "run")) == list(range(1, 7))
    assert not any(k.startswith("_orig_mod") for k in weights(tmp_path / "run"))


def torchrun(config: Path, *args: str) -> subprocess.CompletedProcess:
    gristmill = Path(sys.executable).parent / "gristmill"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                           "--standalone", "--no-python", str(gristmill), "train",
                           str(config), "--quiet", *args],
                          capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory) -> Path:
    """Six steps on two CPU processes with DDP, two micro-batches per step."""
    root = tmp_path_factory.mktemp("ddp")
    config = tiny_run(root, run={"max_steps": 6, "grad_accum": 2, "checkpoint_every": 3})
    result = torchrun(config)
    assert result.returncode == 0, result.stderr[-3000:]
    return config


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_trains_and_resumes_exactly(ddp_run: Path,
                                                              tmp_path: Path) -> None:
    out = ddp_run.parent / "run"
    state = open_checkpoint(out).load_state()
    assert len(state["loader"]) == 2 and state["loader"][1]["rank"] == 1
    assert state["tokens"] == 6 * 2 * 2 * 4 * 32  # steps x accum x ranks x batch x block
    shutil.copytree(out, tmp_path / "b")
    forget_after(tmp_path / "b", 3)
    result = torchrun(ddp_run, f"run.out_dir={tmp_path / 'b'}", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert losses(tmp_path / "b") == losses(out)
    with pytest.raises(TrainingError, match="saved by 2 ranks, this run has 1"):
        run(ddp_run, f"run.out_dir={tmp_path / 'b'}", "run.max_steps=7", resume=True)


@pytest.mark.slow
def test_fsdp_trains_like_ddp_and_resumes_exactly(ddp_run: Path, tmp_path: Path) -> None:
    sharded = ["run.distributed=fsdp", f"run.out_dir={tmp_path / 'a'}"]
    result = torchrun(ddp_run, *sharded)
    assert result.returncode == 0, result.stderr[-3000:]
    fsdp, ddp = losses(tmp_path / "a"), losses(ddp_run.parent / "run")
    assert fsdp.keys() == ddp.keys()
    assert all(abs(fsdp[k] - ddp[k]) < 1e-4 for k in ddp)  # same math, other reductions
    reference = weights(ddp_run.parent / "run")
    assert all(torch.allclose(t, reference[k], atol=1e-4)
               for k, t in weights(tmp_path / "a").items())
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    forget_after(tmp_path / "b", 3)
    result = torchrun(ddp_run, "run.distributed=fsdp", f"run.out_dir={tmp_path / 'b'}",
                      "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert losses(tmp_path / "b") == fsdp
    refused = torchrun(ddp_run, f"run.out_dir={tmp_path / 'b'}", "run.max_steps=7",
                       "--resume")
    assert refused.returncode != 0 and "same run.distributed" in refused.stderr


def test_tensorboard_asked_for_but_missing_is_a_clear_error(tmp_path: Path) -> None:
    try:
        import tensorboard  # noqa: F401
        pytest.skip("tensorboard is installed")
    except ImportError:
        pass
    with pytest.raises(TrainingError, match="pip install tensorboard"):
        run(tiny_run(tmp_path), "run.tensorboard=true")


def test_several_sources_get_their_own_validation_loss(tmp_path: Path, capsys) -> None:
    """Per-source `val_loss/NAME` and `val_bpb/NAME` equal each set evaluated alone; the
    overall loss is their average weighted by target tokens; the eval line names them."""
    from dataclasses import replace

    from tests.support.training import curated, word_docs
    from training.device import pick_device
    from training.distributed import World
    from training.trainer import evaluate, setup

    words = curated(tmp_path / "words", word_docs(300, seed=1), word_docs(40, seed=2))
    config = tiny_run(tmp_path, data={"sources": [str(tmp_path / "corpus"), str(words)]},
                      run={"max_steps": 2, "eval_every": 2})
    loaded = load_config(config)
    run_ = setup(loaded, World(), pick_device("cpu", 0), resume=False)
    metrics = evaluate(run_)
    assert sorted(metrics) == ["val_bpb", "val_bpb/corpus", "val_bpb/words", "val_loss",
                               "val_loss/corpus", "val_loss/words", "val_ppl"]
    tokens = {}
    for path, name in ((str(tmp_path / "corpus"), "corpus"), (str(words), "words")):
        alone = evaluate(replace(run_, validation={path: run_.validation[path]}))
        assert alone["val_loss"] == pytest.approx(metrics[f"val_loss/{name}"], rel=1e-9)
        assert alone["val_bpb"] == pytest.approx(metrics[f"val_bpb/{name}"], rel=1e-9)
        tokens[name] = run_.validation[path].tokens
    weighted = sum(metrics[f"val_loss/{n}"] * t for n, t in tokens.items()) / sum(tokens.values())
    assert metrics["val_loss"] == pytest.approx(weighted, rel=1e-9)
    assert metrics["val_loss/corpus"] != pytest.approx(metrics["val_loss/words"], rel=1e-3)
    capsys.readouterr()
    train(loaded)
    out = capsys.readouterr().out
    assert "; corpus " in out and "; words " in out
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"val_loss/corpus", "val_bpb/words"} <= set(last)


def test_source_labels_are_short_and_unique() -> None:
    from training.data.validation import source_labels

    assert source_labels(["runs/web/", "s3://b/books"]) == {"runs/web/": "web",
                                                            "s3://b/books": "books"}
    assert source_labels(["a/web", "b/web", "c"]) == {"a/web": "a/web", "b/web": "b/web",
                                                      "c": "c"}
