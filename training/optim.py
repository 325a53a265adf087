"""AdamW with weight decay on matrices only, fused (one kernel for all parameters) on CPU
and CUDA, which PyTorch has fused kernels for."""

from __future__ import annotations

import torch
from torch import nn

from training.config import OptimSection


def make_optimizer(model: nn.Module, optim: OptimSection, device: torch.device
                   ) -> torch.optim.AdamW:
    """Decay linear weights; never norms, biases or embeddings (decaying those only hurts).

    Tied weights appear once (`named_parameters` deduplicates them)."""
    decay, keep = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        is_matrix = param.dim() >= 2 and not _is_embedding(model, name)
        (decay if is_matrix else keep).append(param)
    groups = [{"params": decay, "weight_decay": optim.weight_decay},
              {"params": keep, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=optim.lr, betas=(optim.beta1, optim.beta2),
                             eps=optim.eps, fused=device.type in ("cpu", "cuda") or None)


def _is_embedding(model: nn.Module, name: str) -> bool:
    module = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
    return isinstance(module, nn.Embedding)
