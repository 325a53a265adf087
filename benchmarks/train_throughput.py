#!/usr/bin/env python3
"""Training tokens/s and FLOP/s of gristmill's step against a plain-PyTorch (nanoGPT) loop.

The model: 6 layers, 384 wide, 6 heads, context 256, vocabulary `--vocab` (default 8192),
learned positions, LayerNorm and GELU (tanh) with biases, tied embeddings, dropout 0.
Two loops run in one process, interleaved (`--chunk` steps of each in turn, so load from
other processes falls on both), on the same random-token batches (`--distinct` batches
cycled, so the loss falls by memorising them), first in fp32, then with bf16 autocast:

- gristmill: `training.trainer.train_step` on a `Run` built from the real parts
  (`training.model.GPT`, `training.optim.make_optimizer`: fused AdamW, no decay on
  norms/biases/embeddings; global-norm clipping at 1.0; bf16 via `run.dtype`, i.e.
  `torch.autocast`), constant learning rate;
- reference: one GPT class written below the nanoGPT way (its module layout and forward,
  GELU tanh like ours), `torch.optim.AdamW` grouped as nanoGPT does on CPU (decay on every
  matrix, the default foreach kernel), the same clipping and learning rate; bf16 by
  `torch.autocast("cpu", torch.bfloat16)` around the forward.

Both start from the same weights (ours, seeded, copied into the reference), so the loss
curves should agree to float rounding (the reference also decays the embedding: ~1e-5
relative per step). After `--warmup` untimed steps, `--steps` steps of each loop are timed
one by one; tokens/s uses the median step time (the mean is shown too); FLOP/s uses
`GPT.flops_per_token()` (6 N + 12 L C T, nanoGPT's and PaLM's estimate).

bf16 runs fewer steps of a smaller batch by default (`--bf16-steps 2 --bf16-batch 2`): this
CPU has AVX2 but no AVX512-BF16 or AMX, and its bf16 matmuls run ~50-80x slower than
fp32 ones (a 1024x384x1536 matmul: 0.5 vs 57 GFLOP/s): bf16 training gives 10-40x fewer
tokens/s here.
On a shared machine, libgomp's spinning threads can slow small ops down several times:
compare with OMP_WAIT_POLICY=passive (printed with the load average).
Usage: .venv/bin/python benchmarks/train_throughput.py [--steps 10 --batch 8 --chunk 2]
       [--bf16-steps 2 --bf16-batch 2]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from training.config import TrainConfig
from training.distributed import World
from training.model import GPT, GPTConfig
from training.optim import make_optimizer
from training.trainer import Run, train_step

LAYERS, WIDTH, HEADS, CONTEXT = 6, 384, 6, 256
LR, WEIGHT_DECAY, CLIP = 6e-4, 0.1, 1.0


class RefAttention(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd)
        self.c_proj = nn.Linear(c.n_embd, c.n_embd)
        self.n_head = c.n_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class RefBlock(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(c.n_embd), RefAttention(c)
        self.ln_2 = nn.LayerNorm(c.n_embd)
        self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd)
        self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class RefGPT(nn.Module):
    """nanoGPT's GPT, trimmed to what training needs."""

    def __init__(self, c: GPTConfig):
        super().__init__()
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        self.wpe = nn.Embedding(c.block_size, c.n_embd)
        self.h = nn.ModuleList(RefBlock(c) for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx) + self.wpe(torch.arange(idx.size(1), device=idx.device))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def native_bf16() -> bool:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "avx512_bf16" in flags or "amx_bf16" in flags


def ref_optimizer(model: nn.Module) -> torch.optim.AdamW:
    """nanoGPT's configure_optimizers on CPU: decay every >= 2-D tensor, foreach AdamW."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": WEIGHT_DECAY},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=LR, betas=(0.9, 0.95))


def reference_step(model: RefGPT, optimizer: torch.optim.Optimizer, dtype: torch.dtype
                   ) -> Callable[[tuple[torch.Tensor, torch.Tensor]], float]:
    def step(batch: tuple[torch.Tensor, torch.Tensor]) -> float:
        with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
            loss = model(*batch)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()
    return step


def gristmill_step(model: GPT, dtype: torch.dtype, vocab: int, batch: int
                   ) -> Callable[[tuple[torch.Tensor, torch.Tensor]], float]:
    """train_step on a Run of the real parts (no loader: the batch is handed in)."""
    config = TrainConfig.model_validate({
        "model": {"n_layer": LAYERS, "n_head": HEADS, "n_embd": WIDTH, "vocab_size": vocab},
        "data": {"sources": ["unused"], "tokenizer": "unused", "block_size": CONTEXT,
                 "batch_size": batch},
        "optim": {"lr": LR, "min_lr": LR, "weight_decay": WEIGHT_DECAY, "grad_clip": CLIP},
        "schedule": {"kind": "constant", "warmup_steps": 0},
        "run": {"out_dir": "unused", "max_steps": 1 << 30}})
    device = torch.device("cpu")
    run = Run(config, World(), device, dtype, None, model, model,
              make_optimizer(model, config.optim, device), None, {}, model.num_params(),
              model.flops_per_token())

    def step(data: tuple[torch.Tensor, torch.Tensor]) -> float:
        loss, _ = train_step(run, iter([data]))
        run.step += 1
        return loss.item()
    return step


def make_variants(dtype_name: str, vocab: int, batch: int) -> tuple[dict[str, Callable], float]:
    """{name: step function} of both loops, starting from the same weights; FLOPs/token."""
    config = GPTConfig(vocab_size=vocab, block_size=CONTEXT, n_layer=LAYERS, n_head=HEADS,
                       n_embd=WIDTH)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    torch.manual_seed(0)
    ours, ref = GPT(config), RefGPT(config)
    ours_state, ref_keys = ours.state_dict(), list(ref.state_dict())
    if [v.shape for v in ours_state.values()] != [ref.state_dict()[k].shape for k in ref_keys]:
        raise SystemExit("the reference's parameters do not line up with GPT's")
    ref.load_state_dict(dict(zip(ref_keys, ours_state.values(), strict=True)))
    return ({f"gristmill {dtype_name}": gristmill_step(ours, dtype, vocab, batch),
             f"reference {dtype_name}": reference_step(ref, ref_optimizer(ref), dtype)},
            ours.flops_per_token())


def batches(vocab: int, batch: int, distinct: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1234)
    data = [torch.randint(vocab, (batch, CONTEXT + 1), generator=g) for _ in range(distinct)]
    return [(d[:, :-1].contiguous(), d[:, 1:].contiguous()) for d in data]


def run_interleaved(variants: dict[str, Callable], data: list, total: int, chunk: int
                    ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Every variant `chunk` steps in turn until each did `total`; losses and step times."""
    losses = {name: [] for name in variants}
    times = {name: [] for name in variants}
    for start in range(0, total, chunk):
        for name, step in variants.items():
            for i in range(start, min(start + chunk, total)):
                begin = time.perf_counter()
                losses[name].append(step(data[i % len(data)]))
                times[name].append(time.perf_counter() - begin)
    return losses, times


def speed_rows(times: dict[str, list[float]], warmup: int, tokens: int, flops: float
               ) -> list[str]:
    """variant, batch, tokens/s (median step), mean, TFLOP/s, vs reference, median step s."""
    speed = {name: tokens / statistics.median(t[warmup:]) for name, t in times.items()}
    rows = []
    for name, t in times.items():
        ref = speed[name.replace("gristmill", "reference")]
        mean = tokens * len(t[warmup:]) / sum(t[warmup:])
        rows.append(f"{name:<16}{tokens // CONTEXT:>6}{speed[name]:>10,.0f}{mean:>9,.0f}"
                    f"{speed[name] * flops / 1e12:>9.4f}{speed[name] / ref:>7.2f}x"
                    f"{statistics.median(t[warmup:]):>8.2f}")
    return rows


def loss_rows(losses: dict[str, list[float]]) -> list[str]:
    """The loss curves side by side, and the largest difference between the two loops."""
    names = list(losses)
    rows = ["step " + "".join(f"{n:>17}" for n in names)]
    rows += [f"{i:>4} " + "".join(f"{losses[n][i]:>17.5f}" for n in names)
             for i in range(len(losses[names[0]]))]
    a, b = losses.values()
    diff = max(abs(x - y) for x, y in zip(a, b, strict=True))
    return [*rows, f"max |loss difference| gristmill vs reference: {diff:.2e}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed fp32 steps per loop")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--batch", type=int, default=8, help="sequences of 256 per fp32 step")
    parser.add_argument("--bf16-steps", type=int, default=2,
                        help="timed bf16 steps per loop (one warm-up step; 0: no bf16)")
    parser.add_argument("--bf16-batch", type=int, default=2,
                        help="sequences per bf16 step (bf16 is slow on CPUs without "
                             "AVX512-BF16/AMX)")
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--chunk", type=int, default=2, help="steps of a loop per turn")
    parser.add_argument("--distinct", type=int, default=4, help="distinct batches, cycled")
    args = parser.parse_args()
    print(f"model: {LAYERS} layers, {WIDTH} wide, {HEADS} heads, context {CONTEXT}, vocab "
          f"{args.vocab}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, native bf16 (AVX512-BF16/AMX): {native_bf16()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
    cases = [("fp32", args.batch, args.steps, args.warmup),
             ("bf16", args.bf16_batch, args.bf16_steps, 1)]
    speeds, curves = [], []
    for dtype, batch, steps, warmup in cases:
        if steps <= 0:
            continue
        variants, flops = make_variants(dtype, args.vocab, batch)
        data = batches(args.vocab, batch, args.distinct)
        load = os.getloadavg()[0]
        losses, times = run_interleaved(variants, data, warmup + steps, args.chunk)
        speeds += speed_rows(times, warmup, batch * CONTEXT, flops)
        speeds[-1] += f"   load {load:.1f} -> {os.getloadavg()[0]:.1f}"
        curves += ["", f"{dtype}, batch {batch} (first {warmup} step(s) untimed):",
                   *loss_rows(losses)]
    print(f"\n{flops / 1e6:.1f} MFLOP/token (6 N + 12 L C T); tokens/s from the median step "
          f"time\n{'variant':<16}{'batch':>6}{'tokens/s':>10}{'(mean)':>9}{'TFLOP/s':>9}"
          f"{'vs ref':>8}{'step s':>8}   (1-min load average)")
    print("\n".join(speeds + curves))
    print(f"(a first loss near ln(vocab) = {math.log(args.vocab):.3f})")


if __name__ == "__main__":
    main()
