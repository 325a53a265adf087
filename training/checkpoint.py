"""Checkpoints: one directory per step, published by a rename, checked by sha256 on load.

    OUT_DIR/checkpoints/step-00000500/
        model.safetensors   weights (no pickle), keys without any compile/DDP prefix
        state.pt            optimizer, data-loader state and RNG of every rank
        meta.json           step, model and run config, tokenizer fingerprint, file sha256s
        tokenizer.json      the tokenizer the model was trained with

A directory that exists is complete (a killed save leaves only `.tmp-*`, removed on the next
save); `state.pt` is loaded with `weights_only=True`, so it cannot run code.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from safetensors.torch import load_file
from torch import nn

from gristmill.atomic import fsync_dir
from gristmill.hashing import file_sha256
from training.errors import TrainingError
from training.finetune.lora import LoraSpec, add_lora, merge
from training.model import GPT, GPTConfig

FORMAT = 1
STEP_DIR = re.compile(r"step-(\d{8})")
FILES = ("model.safetensors", "state.pt", "tokenizer.json")


@dataclass
class Checkpoint:
    """A checkpoint directory and its verified metadata."""

    path: Path
    meta: dict[str, Any]

    @property
    def step(self) -> int:
        return self.meta["step"]

    @property
    def model_config(self) -> GPTConfig:
        return GPTConfig(**self.meta["model"])

    def load_model(self, device: torch.device | str = "cpu") -> GPT:
        """The model, its LoRA adapters (if it was trained with them) merged."""
        model = GPT(self.model_config)
        if self.meta.get("lora"):
            add_lora(model, LoraSpec(**self.meta["lora"]))
        load_weights(model, self.path / "model.safetensors")
        return merge(model).to(device)

    def load_state(self) -> dict[str, Any]:
        """Tensors, numbers and strings only: anything else is refused, never run."""
        try:
            return torch.load(self.path / "state.pt", map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            first = str(err).strip().splitlines()[0]
            raise TrainingError(f"{self.path / 'state.pt'} holds objects other than tensors "
                                f"and plain values, which are never unpickled ({first})"
                                ) from None


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module under DDP (`.module`) and torch.compile (`._orig_mod`) wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def save(directory: Path, step: int, weights: dict[str, torch.Tensor], state: dict[str, Any],
         meta: dict[str, Any], tokenizer_file: Path, keep_last: int) -> Path:
    """Write checkpoint `step` atomically, then drop all but the newest `keep_last`."""
    final = directory / f"step-{step:08d}"
    tmp = directory / f".tmp-step-{step:08d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _write(tmp / "model.safetensors", safetensors.torch.save(weights))
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _write(tmp / "state.pt", buffer.getvalue())
    _write(tmp / "tokenizer.json", tokenizer_file.read_bytes())
    sums = {name: file_sha256(tmp / name) for name in FILES}
    (tmp / "meta.json").write_text(json.dumps(
        {"format": FORMAT, "step": step, **meta, "sha256": sums}, indent=2) + "\n")
    _fsync_tree(tmp)
    shutil.rmtree(final, ignore_errors=True)  # a step redone after a resume
    os.replace(tmp, final)
    fsync_dir(directory)
    for old in steps(directory)[:-keep_last]:
        shutil.rmtree(old)
    for stale in directory.glob(".tmp-step-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return final


def steps(directory: Path) -> list[Path]:
    """Published checkpoint directories, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if STEP_DIR.fullmatch(p.name))


def open_checkpoint(path: str | Path) -> Checkpoint:
    """A checkpoint directory (or a run's out_dir / checkpoints dir: its newest), verified."""
    path = Path(path)
    if (path / "checkpoints").is_dir():
        path = path / "checkpoints"
    if not (path / "meta.json").exists() and steps(path):
        path = steps(path)[-1]
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError) as err:
        raise TrainingError(f"{path}: not a gristmill checkpoint (no readable meta.json: "
                            f"{err}); give a checkpoint directory or a run's out_dir") from None
    if meta.get("format") != FORMAT:
        raise TrainingError(f"{path}: checkpoint format {meta.get('format')!r}, this "
                            f"gristmill reads format {FORMAT}")
    for name, expected in meta["sha256"].items():
        if not (path / name).exists() or file_sha256(path / name) != expected:
            raise TrainingError(f"{path / name}: missing or corrupt (sha256 differs from "
                                f"meta.json); {_earlier(path)}")
    return Checkpoint(path, meta)


def _earlier(path: Path) -> str:
    """How to go on without a corrupt checkpoint: the others, and how to set it aside."""
    aside = f"mv {path} {path.parent / ('corrupt-' + path.name)}"
    others = [p.name for p in steps(path.parent) if p.name < path.name]
    if not others:
        return (f"there is no earlier checkpoint: set it aside ({aside}) and train again "
                "without --resume")
    return (f"earlier checkpoints: {', '.join(others)}; give one by its path (e.g. "
            f"{path.parent / others[-1]}), or set this one aside ({aside}) and --resume "
            "continues from the newest left")


def latest(directory: Path) -> Checkpoint | None:
    found = steps(directory)
    return open_checkpoint(found[-1]) if found else None


def load_weights(model: nn.Module, path: Path) -> None:
    """Load safetensors weights into the plain module (any compile/DDP wrapper removed);
    a tied weight is stored once, under its first name."""
    plain = unwrap(model)
    missing, unexpected = plain.load_state_dict(load_file(path), strict=False)
    aliases = set(plain.state_dict()) - set(unique_weights(plain))
    missing = [name for name in missing if name not in aliases]
    if missing or unexpected:
        raise TrainingError(f"{path}: weights do not fit the model (missing "
                            f"{sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}); "
                            "use the model config saved with the checkpoint")


def unique_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict of the plain module, each tensor once (tied embeddings share one
    storage), on the CPU."""
    model = unwrap(model)
    seen: set[int] = set()
    unique = {}
    for name, tensor in model.state_dict().items():
        if tensor.data_ptr() not in seen:
            seen.add(tensor.data_ptr())
            unique[name] = tensor.detach().contiguous().cpu()
    return unique


def _write(path: Path, data: bytes) -> None:
    """Plain file writes, so a full disk is an OSError with its errno, not a library's
    wrapped message."""
    with open(path, "wb") as handle:
        handle.write(data)


def _fsync_tree(directory: Path) -> None:
    for path in directory.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    fsync_dir(directory)
