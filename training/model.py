"""A GPT in one file: embeddings, causal self-attention, MLP, norms, a KV cache.

The defaults (learned positions, LayerNorm, GELU, biases, tied embeddings) are GPT-2, so a
model with them exports to `transformers`' GPT2LMHeadModel with the same logits; rotary
positions, RMSNorm, SwiGLU and no biases make it Llama-shaped instead. Three switches from
the speedruns (modded-nanogpt, nanochat) have no transformers equivalent: QK-norm,
zero-initialised output projections (an init only: such a model still exports) and a
logit soft-cap.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

Positions = Literal["learned", "rope"]
Norm = Literal["layernorm", "rmsnorm"]
Activation = Literal["gelu", "swiglu", "relu2"]
IGNORE = -100  # a target no loss is taken on (chat: every token the assistant did not write)


@dataclass(frozen=True)
class GPTConfig:
    """The architecture; saved in every checkpoint so a model rebuilds without the YAML."""

    vocab_size: int
    block_size: int = 256
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.0
    bias: bool = True
    positions: Positions = "learned"
    norm: Norm = "layernorm"
    mlp: Activation = "gelu"
    mlp_ratio: float = 4.0
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True
    n_kv_head: int | None = None  # grouped-query attention: key/value heads; None: n_head
    mlp_hidden: int | None = None  # an imported model's exact MLP width; None: from mlp_ratio
    qk_norm: bool = False  # queries and keys RMS-normalised per head before attention
    zero_init: bool = False  # layers that write into the residual stream start at zero
    logit_softcap: float | None = None  # logits become cap * tanh(logits / cap)

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head "
                             f"({self.n_head})")
        if self.n_head % self.kv_heads:
            raise ValueError(f"n_head ({self.n_head}) must be a multiple of n_kv_head "
                             f"({self.kv_heads})")
        if self.positions == "rope" and (self.n_embd // self.n_head) % 2:
            raise ValueError("rotary positions need an even head size (n_embd / n_head)")

    @property
    def kv_heads(self) -> int:
        return self.n_kv_head or self.n_head

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @property
    def hidden(self) -> int:
        """MLP width; SwiGLU gets 2/3 of it so its three matrices cost what GELU's two do."""
        if self.mlp_hidden:
            return self.mlp_hidden
        width = int(self.mlp_ratio * self.n_embd)
        return int(2 * width / 3) if self.mlp == "swiglu" else width

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


def make_norm(config: GPTConfig) -> nn.Module:
    if config.norm == "rmsnorm":
        return RMSNorm(config.n_embd, config.norm_eps)
    return nn.LayerNorm(config.n_embd, eps=config.norm_eps, bias=config.bias)


def rope_tables(config: GPTConfig, device: torch.device | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin, (block_size, head_size), in the half-split layout Llama uses."""
    head = config.n_embd // config.n_head
    inv = 1.0 / config.rope_theta ** (torch.arange(0, head, 2, device=device).float() / head)
    angles = torch.outer(torch.arange(config.block_size, device=device).float(), inv)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return (x * cos + rotated * sin).to(x.dtype)


class KVCache:
    """Keys and values of every layer for the positions generated so far."""

    def __init__(self, config: GPTConfig, batch: int, device: torch.device, dtype: torch.dtype):
        shape = (batch, config.kv_heads, config.block_size, config.head_size)
        self.keys = [torch.zeros(shape, device=device, dtype=dtype)
                     for _ in range(config.n_layer)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype)
                       for _ in range(config.n_layer)]
        self.length = 0

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store this step's keys and values; return all of them so far."""
        end = self.length + k.shape[2]
        self.keys[layer][:, :, self.length:end] = k
        self.values[layer][:, :, self.length:end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]


class Attention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.n_kv, self.dropout = config.n_head, config.kv_heads, config.dropout
        self.head, self.qk_norm = config.head_size, config.qk_norm
        self.qkv = nn.Linear(config.n_embd, (self.n_head + 2 * self.n_kv) * self.head,
                             bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.proj.residual = True
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None,
                cache: KVCache | None, layer: int, mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split([C, self.n_kv * self.head, self.n_kv * self.head], dim=2)
        q = q.view(B, T, self.n_head, self.head).transpose(1, 2)
        k, v = (t.view(B, T, self.n_kv, self.head).transpose(1, 2) for t in (k, v))
        if self.qk_norm:  # bounds the attention logits: no spikes at a high learning rate
            q, k = F.rms_norm(q, (self.head,)), F.rms_norm(k, (self.head,))
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        causal = mask is None
        if cache is not None:
            causal = cache.length == 0  # later steps add one query that sees every key
            k, v = cache.update(layer, k, v)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                           dropout_p=self.dropout if self.training else 0.0,
                                           enable_gqa=self.n_kv != self.n_head)
        return self.resid_dropout(self.proj(y.transpose(1, 2).contiguous().view(B, T, C)))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.kind = config.mlp
        width = config.hidden * (2 if config.mlp == "swiglu" else 1)
        self.fc = nn.Linear(config.n_embd, width, bias=config.bias)
        self.proj = nn.Linear(config.hidden, config.n_embd, bias=config.bias)
        self.proj.residual = True
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x)
        if self.kind == "swiglu":
            gate, up = h.chunk(2, dim=-1)
            h = F.silu(gate) * up
        elif self.kind == "relu2":
            h = F.relu(h).square()
        else:  # the tanh approximation, as GPT-2 was trained
            h = F.gelu(h, approximate="tanh")
        return self.dropout(self.proj(h))


class Block(nn.Module):
    """Pre-norm residual block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.norm1, self.attn = make_norm(config), Attention(config)
        self.norm2, self.mlp = make_norm(config), MLP(config)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None,
                cache: KVCache | None = None, layer: int = 0,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), rope, cache, layer, mask)
        return x + self.mlp(self.norm2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.gradient_checkpointing = False
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = (nn.Embedding(config.block_size, config.n_embd)
                    if config.positions == "learned" else None)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm_f = make_norm(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.wte.weight
        if config.positions == "rope":
            cos, sin = rope_tables(config)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)

    def _init(self, module: nn.Module) -> None:
        """N(0, 0.02); layers that write into the residual stream scaled by 1/sqrt(2 L), so
        its variance does not grow with depth (GPT-2), or zero with `zero_init`, so every
        block starts as the identity (modded-nanogpt)."""
        if isinstance(module, nn.Linear):
            std = 0.02
            if getattr(module, "residual", False):
                std = 0.0 if self.config.zero_init else std / math.sqrt(2 * self.config.n_layer)
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, 0.0, 0.02)

    def num_params(self, embeddings: bool = True) -> int:
        """Parameters (tied weights once); without position embeddings when not
        `embeddings`, the count FLOP estimates use."""
        total = sum(p.numel() for p in self.parameters())
        if not embeddings and self.wpe is not None:
            total -= self.wpe.weight.numel()
        return total

    def flops_per_token(self) -> float:
        """Training FLOPs per token (forward + backward): 6 N plus attention's 12 L H Q T."""
        c = self.config
        return 6 * self.num_params(False) + 12 * c.n_layer * c.n_embd * c.block_size

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                cache: KVCache | None = None, positions: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, T, vocab) and, given targets, the mean cross-entropy. With a cache,
        `idx` continues the cached positions and only the last logits are computed.
        `positions` and `mask` are for `hidden_states`."""
        x = self.hidden_states(idx, cache, positions, mask)
        if cache is not None:
            cache.length += idx.shape[1]
            return self.logits(x[:, -1:]), None
        logits = self.logits(x)
        if targets is None:
            return logits, None
        # Summed over the targets that count, so a batch without any is 0, not NaN.
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.view(-1),
                               ignore_index=IGNORE, reduction="sum")
        return logits, loss / (targets != IGNORE).sum().clamp(min=1)


    def hidden_states(self, idx: torch.Tensor, cache: KVCache | None = None,
                      positions: torch.Tensor | None = None, mask: torch.Tensor | None = None
                      ) -> torch.Tensor:
        """The final normed hidden states (B, T, C). `positions` (B, T) and an attention
        `mask` (B, 1, T, T, True where a query sees a key) let one row hold several
        sequences that share a prefix: cloze scoring runs a context once for its choices."""
        start = cache.length if cache is not None else 0
        T = idx.shape[1]
        if positions is None:
            if start + T > self.config.block_size:
                raise ValueError(f"{start + T} positions exceed block_size "
                                 f"{self.config.block_size}")
            positions = torch.arange(start, start + T, device=idx.device)
        x = self.wte(idx)
        rope = None
        if self.wpe is not None:
            x = x + self.wpe(positions)
        else:  # (T, head) tables, or (B, 1, T, head) to broadcast over the heads
            cos, sin = self.rope_cos[positions], self.rope_sin[positions]
            rope = (cos, sin) if positions.dim() == 1 else (cos[:, None], sin[:, None])
        x = self.drop(x)
        for layer, block in enumerate(self.blocks):
            if self.gradient_checkpointing and self.training:
                x = checkpoint(block, x, rope, use_reentrant=False)
            else:
                x = block(x, rope, cache, layer, mask)
        return self.norm_f(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The head; soft-capped logits stay in (-cap, cap), so no token's grows without
        bound (Gemma 2, modded-nanogpt)."""
        logits = self.lm_head(x)
        cap = self.config.logit_softcap
        return logits if cap is None else cap * torch.tanh(logits / cap)


def grow_vocab(model: GPT, size: int) -> GPT:
    """`model` with `size` token embeddings (and output rows); the new ones start at the
    mean of the old, a neutral point for tokens added for fine-tuning (chat markers)."""
    grown = GPT(replace(model.config, vocab_size=size))
    state = model.state_dict()
    for name in ("wte.weight", "lm_head.weight"):
        old = state[name]
        state[name] = torch.cat([old, old.mean(0, keepdim=True).expand(size - len(old), -1)])
    grown.load_state_dict(state)
    return grown
