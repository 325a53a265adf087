"""The optimizers: AdamW (weight decay on matrices only, fused on CPU and CUDA), or Muon for
the blocks' matrices with that AdamW for everything else (embeddings, head, norms, biases).

Muon (Keller Jordan, 2024) takes SGD momentum and replaces each matrix's update by its
nearest semi-orthogonal matrix (a few Newton-Schulz iterations), so every direction of the
matrix moves at the same rate; modded-nanogpt and nanochat train with it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch
from torch import nn

from training.config import OptimSection
from training.device import _cpu_has_bf16

# Newton-Schulz coefficients of torch.optim.Muon (Keller Jordan's quintic)
NS_COEFFICIENTS = (3.4445, -4.775, 2.0315)


def make_optimizer(model: nn.Module, optim: OptimSection, device: torch.device
                   ) -> torch.optim.AdamW | MuonAdamW:
    """`optim.name` adamw: one AdamW; muon: Muon for 2-D weights inside the blocks."""
    if optim.name == "muon":
        matrices = [p for name, p in model.named_parameters()
                    if p.requires_grad and p.dim() == 2 and name.startswith("blocks.")]
        chosen = {id(p) for p in matrices}
        return MuonAdamW(_adamw(model, optim, device, skip=chosen), _muon(matrices, optim))
    return _adamw(model, optim, device)


def _adamw(model: nn.Module, optim: OptimSection, device: torch.device,
           skip: set[int] = frozenset()) -> torch.optim.AdamW:
    """Decay linear weights; never norms, biases or embeddings (decaying those only hurts).

    Tied weights appear once (`named_parameters` deduplicates them)."""
    decay, keep = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad or id(param) in skip:
            continue
        is_matrix = param.dim() >= 2 and not _is_embedding(model, name)
        (decay if is_matrix else keep).append(param)
    groups = [{"params": decay, "weight_decay": optim.weight_decay},
              {"params": keep, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=optim.lr, betas=(optim.beta1, optim.beta2),
                             eps=optim.eps, fused=device.type in ("cpu", "cuda") or None)


def _muon(matrices: list[nn.Parameter], optim: OptimSection) -> Muon:
    """`lr_scale` keeps Muon's rate at muon_lr / lr times AdamW's through the schedule; its
    weight decay is scaled so each step shrinks the matrices by the same fraction
    (lr x weight_decay) AdamW's would."""
    scale = optim.muon_lr / optim.lr
    muon = Muon(matrices, lr=optim.muon_lr, weight_decay=optim.weight_decay / scale,
                momentum=optim.muon_momentum)
    for group in muon.param_groups:
        group["lr_scale"] = scale
    return muon


def _is_embedding(model: nn.Module, name: str) -> bool:
    module = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
    return isinstance(module, nn.Embedding)


class Muon(torch.optim.Muon):
    """torch.optim.Muon (same state, same update), but orthogonalising in float32 where the
    device has no fast bfloat16: torch's always uses bfloat16, which on a CPU without
    native bf16 runs tens of times slower than float32."""

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        for group in self.param_groups:
            lr, decay, momentum = group["lr"], group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p.grad)
                buf = state["momentum_buffer"]
                buf.lerp_(p.grad, 1 - momentum)
                update = p.grad.lerp(buf, momentum) if group["nesterov"] else buf
                update = orthogonalize(update, group["ns_steps"], group["eps"])
                rows, cols = p.shape  # Keller Jordan's scale: taller matrices move more
                p.mul_(1 - lr * decay)
                p.add_(update.to(p.dtype), alpha=-lr * max(1.0, rows / cols) ** 0.5)


def orthogonalize(g: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """About U V^T of g's SVD (singular values pushed into ~[0.7, 1.2]) by Newton-Schulz."""
    x = g.to(_ns_dtype(g.device.type))
    tall = x.size(0) > x.size(1)
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=eps)
    a, b, c = NS_COEFFICIENTS
    for _ in range(steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if tall else x


@cache
def _ns_dtype(device_type: str) -> torch.dtype:
    fast = device_type == "cuda" or (device_type == "cpu" and _cpu_has_bf16())
    return torch.bfloat16 if fast else torch.float32


class MuonAdamW:
    """Two optimizers stepped as one: the trainer sets each group's rate (times its
    `lr_scale`), steps, zeroes and saves them together."""

    def __init__(self, adamw: torch.optim.AdamW, muon: Muon):
        self.adamw, self.muon = adamw, muon

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """AdamW's first; fresh each time, since load_state_dict replaces the groups."""
        return self.adamw.param_groups + self.muon.param_groups

    def step(self) -> None:
        self.adamw.step()
        self.muon.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.adamw.zero_grad(set_to_none)
        self.muon.zero_grad(set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {"adamw": self.adamw.state_dict(), "muon": self.muon.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.adamw.load_state_dict(state["adamw"])
        self.muon.load_state_dict(state["muon"])
