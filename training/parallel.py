"""The one place that applies compile, DDP or FSDP to the model, and moves a sharded
model's full state in and out of checkpoints. The model code knows nothing of parallelism.

DDP keeps a whole copy of weights and optimizer state on every rank and all-reduces
gradients; FSDP (PyTorch's `fully_shard`, per block) keeps 1/N of each on every rank and
gathers a block's weights only while it runs, for models whose optimizer state does not fit
one device. Both skip the gradient exchange on micro-batches before the last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import load_file
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.fsdp import FSDPModule, fully_shard
from torch.nn.parallel import DistributedDataParallel

from training.checkpoint import load_weights, unique_weights
from training.distributed import World
from training.model import GPT

Mode = Literal["ddp", "fsdp"]
FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


def parallelize(model: GPT, world: World, device: torch.device, mode: Mode,
                compile_: bool) -> nn.Module:
    """The module training calls. FSDP shards each block and the root (in place: `model`
    becomes sharded), then compiles; DDP wraps the compiled module."""
    if world.active and mode == "fsdp":
        for block in model.blocks:
            fully_shard(block)
        fully_shard(model)
        return torch.compile(model) if compile_ else model
    compiled = torch.compile(model) if compile_ else model
    if not world.active:
        return compiled
    return DistributedDataParallel(compiled, device_ids=[device.index]
                                   if device.type == "cuda" else None)


@contextlib.contextmanager
def gradient_sync(wrapped: nn.Module, model: nn.Module, sync: bool) -> Iterator[None]:
    """Exchange gradients in this backward pass only when `sync` (the last micro-batch)."""
    if isinstance(model, FSDPModule):
        model.set_requires_gradient_sync(sync)
        yield
    elif isinstance(wrapped, DistributedDataParallel) and not sync:
        with wrapped.no_sync():
            yield
    else:
        yield


def without_ddp(wrapped: nn.Module) -> nn.Module:
    """For evaluation: DDP's wrapper only adds gradient hooks, which no_grad never uses."""
    return wrapped.module if isinstance(wrapped, DistributedDataParallel) else wrapped


def sharded(model: nn.Module) -> bool:
    return isinstance(model, FSDPModule)


def full_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every weight once, on the CPU (a collective under FSDP: every rank calls it; only
    rank 0 gets the tensors)."""
    if not sharded(model):
        return unique_weights(model)
    weights = get_model_state_dict(model, options=FULL)
    if model.config.tie_embeddings:  # stored once, as a plain model's checkpoint has it
        weights.pop("lm_head.weight", None)
    return weights


def full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Under FSDP the gathered state keyed by parameter name (a collective); else the
    optimizer's own state dict."""
    if sharded(model):
        return get_optimizer_state_dict(model, optimizer, options=FULL)
    return optimizer.state_dict()


def load_full(model: nn.Module, optimizer: torch.optim.Optimizer, weights_file: Path,
              optimizer_state: dict[str, Any]) -> None:
    """Load a checkpoint's full weights and optimizer state, sharding them when the model
    is sharded."""
    if not sharded(model):
        load_weights(model, weights_file)
        optimizer.load_state_dict(optimizer_state)
        return
    weights = load_file(weights_file)
    if model.config.tie_embeddings:  # stored once; the sharded state dict names both
        weights.setdefault("lm_head.weight", weights["wte.weight"])
    options = StateDictOptions(full_state_dict=True)
    set_model_state_dict(model, weights, options=options)
    set_optimizer_state_dict(model, optimizer, optimizer_state, options=options)


def local_norm(norm: torch.Tensor) -> torch.Tensor:
    """A gradient norm as a plain tensor (FSDP returns a replicated DTensor)."""
    return norm.full_tensor() if hasattr(norm, "full_tensor") else norm
