#!/usr/bin/env python3
"""Trainable parameters and optimizer memory of LoRA against full fine-tuning, GPT-2 124M.

Builds the model (GPT-2 small: 12 layers, 768 wide, vocab 50257, context 1024), adds
adapters as `run.lora` does, and counts what training keeps per trainable parameter in
fp32: its gradient and AdamW's two moments (12 bytes). Weights themselves are the same
either way (the base stays in memory, frozen). One optimizer step on a short batch checks
the count against the optimizer's real state.

    python benchmarks/lora_memory.py
"""

from __future__ import annotations

import torch

from training.config import OptimSection
from training.finetune.lora import LoraSpec, add_lora
from training.model import GPT, GPTConfig
from training.optim import make_optimizer

GPT2_SMALL = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
SETUPS = {"full fine-tune": None,
          "LoRA r=8 attn.qkv+attn.proj": LoraSpec(8, 16.0, ("attn.qkv", "attn.proj")),
          "LoRA r=8 all four": LoraSpec(8, 16.0, ("attn.qkv", "attn.proj", "mlp.fc",
                                                  "mlp.proj")),
          "LoRA r=16 attn.qkv+attn.proj": LoraSpec(16, 32.0, ("attn.qkv", "attn.proj"))}


def optimizer_bytes(model: GPT) -> int:
    """Bytes of AdamW state after one real step."""
    optimizer = make_optimizer(model, OptimSection(), torch.device("cpu"))
    ids = torch.randint(0, 50257, (1, 8))
    model(ids, ids)[1].backward()
    optimizer.step()
    return sum(t.numel() * t.element_size() for s in optimizer.state.values()
               for t in s.values() if torch.is_tensor(t) and t.dim() > 0)


def main() -> None:
    torch.manual_seed(0)
    print(f"{'setup':32} {'trainable':>12} {'share':>7} {'Adam state':>11} "
          f"{'+ grads':>9}")
    full = None
    for name, spec in SETUPS.items():
        model = GPT(GPT2_SMALL)
        total = model.num_params()
        trainable = add_lora(model, spec) if spec else total
        measured = optimizer_bytes(model)
        assert measured == 8 * trainable, (measured, trainable)
        full = full or measured
        print(f"{name:32} {trainable:>12,} {trainable / total:>7.2%} "
              f"{measured / 2**20:>8.1f} MB {(measured + 4 * trainable) / 2**20:>6.1f} MB"
              f"  ({full / measured:,.0f}x less state)")
    print(f"base weights, frozen or not: {total:,} parameters, "
          f"{4 * total / 2**20:.0f} MB in fp32")


if __name__ == "__main__":
    main()
