"""LoRA (Hu et al., 2021): train a low-rank update of chosen linear layers, the base frozen.

A target layer `W` computes `x W^T + (alpha / rank) x A^T B^T`, with `A` (rank x in)
random and `B` (out x rank) zero, so training starts from the base model exactly. Only `A`
and `B` train, so gradients and optimizer state exist for them alone. The adapted layer
keeps its weight's name (`blocks.0.attn.qkv.weight`) and adds `.lora_a` and `.lora_b`, so a
checkpoint holds the base and the adapters; `merge` folds `B A` into `W` for sampling and
export, which then see a plain model with the same outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from training.errors import TrainingError

TARGETS = ("attn.qkv", "attn.proj", "mlp.fc", "mlp.proj")


@dataclass(frozen=True)
class LoraSpec:
    rank: int = 8
    alpha: float = 16.0
    targets: tuple[str, ...] = field(default=("attn.qkv", "attn.proj"))


class LoRALinear(nn.Linear):
    """A linear layer plus a trainable low-rank update."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float):
        super().__init__(base.in_features, base.out_features, bias=base.bias is not None,
                         device=base.weight.device, dtype=base.weight.dtype)
        self.weight, self.bias = base.weight, base.bias
        self.residual = getattr(base, "residual", False)
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features, device=base.weight.device))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank,
                                               device=base.weight.device))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))  # as nn.Linear initialises

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = (x @ self.lora_a.to(x.dtype).t()) @ self.lora_b.to(x.dtype).t()
        return super().forward(x) + self.scale * update

    def merged(self) -> nn.Linear:
        plain = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None,
                          device=self.weight.device, dtype=self.weight.dtype)
        with torch.no_grad():
            plain.weight.copy_(self.weight + self.scale * self.lora_b @ self.lora_a)
            if self.bias is not None:
                plain.bias.copy_(self.bias)
        plain.residual = self.residual
        return plain


def add_lora(model: nn.Module, spec: LoraSpec) -> int:
    """Freeze `model` and adapt every linear layer whose name ends with a target; returns
    the number of trainable parameters."""
    unknown = sorted(set(spec.targets) - set(TARGETS))
    if unknown or not spec.targets:
        raise TrainingError(f"run.lora.targets: {unknown or 'none'} not known; choose from "
                            f"{', '.join(TARGETS)}")
    for param in model.parameters():
        param.requires_grad_(False)
    chosen = [name for name, module in model.named_modules()
              if isinstance(module, nn.Linear) and name.endswith(tuple(spec.targets))]
    for name in chosen:
        parent, _, leaf = name.rpartition(".")
        holder = model.get_submodule(parent)
        setattr(holder, leaf, LoRALinear(getattr(holder, leaf), spec.rank, spec.alpha))
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def merge(model: nn.Module) -> nn.Module:
    """Fold every adapter into its layer, in place; the model becomes a plain one."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            parent, _, leaf = name.rpartition(".")
            setattr(model.get_submodule(parent), leaf, module.merged())
    for param in model.parameters():
        param.requires_grad_(True)
    return model
