"""The training loop: set up a run (fresh, resumed or fine-tuned), step, evaluate, save.

One code path for one process and for torchrun (`parallel.py` applies compile and DDP or
FSDP; gradients are exchanged once per optimizer step). Checkpoints hold the plain
module's full weights, so a checkpoint made with or without compile, DDP or FSDP loads
into a plain model; exact resume needs the same distributed mode and number of ranks.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from torch import nn

from training import checkpoint, parallel
from training.config import ModelSection, TrainConfig
from training.data.chat_tokens import has_messages
from training.data.loader import DataConfig, TrainLoader
from training.data.validation import ValidationSet, source_labels, validation_sets
from training.device import autocast, peak_flops, pick_device, pick_dtype
from training.distributed import World, close_world, init_world
from training.errors import TrainingError
from training.eval import inloop
from training.finetune.chat import with_chat_tokens
from training.finetune.lora import LoraSpec, add_lora
from training.metrics import MetricsLog, TrainProgress
from training.model import GPT, IGNORE, GPTConfig, grow_vocab
from training.optim import make_optimizer
from training.schedule import learning_rate
from training.tokenizer.load import check_tokenizer, fingerprint, load_tokenizer, token_bytes


@dataclass
class Run:
    """Everything one rank's loop touches."""

    config: TrainConfig
    world: World
    device: torch.device
    dtype: torch.dtype
    tokenizer: Tokenizer
    model: GPT  # the module without compile/DDP wrappers (sharded in place under FSDP)
    wrapped: nn.Module  # what forward passes call: compiled, and DDP under torchrun
    optimizer: torch.optim.Optimizer
    loader: TrainLoader
    validation: dict[str, ValidationSet]
    params: int  # counted before sharding
    flops_per_token: float
    step: int = 0
    tokens: int = 0
    tokenizer_file: Path | None = None  # what checkpoints copy; default data.tokenizer
    eval_sets: dict[str, ValidationSet] = field(default_factory=dict)  # run.eval_sets
    task_items: dict[str, list] = field(default_factory=dict)  # run.eval_tasks

    @property
    def out_dir(self) -> Path:
        return Path(self.config.run.out_dir)

    @property
    def tokens_per_step(self) -> int:
        d = self.config.data
        return d.batch_size * d.block_size * self.config.run.grad_accum * self.world.world_size


def train(config: TrainConfig, resume: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train to `run.max_steps`; returns the last evaluation's metrics."""
    device = pick_device(config.run.device, _local_rank())
    world = init_world(device.type)
    try:
        run = setup(config, world, device, resume)
        return loop(run, quiet)
    finally:
        close_world(world)


def setup(config: TrainConfig, world: World, device: torch.device, resume: bool) -> Run:
    out = Path(config.run.out_dir)
    found = checkpoint.latest(out / "checkpoints") if resume else None
    if not resume and checkpoint.steps(out / "checkpoints"):
        raise TrainingError(f"{out} holds checkpoints of an earlier run; pass --resume to "
                            "continue it, or set another run.out_dir")
    _check_resume(config, found, resume, world.main)
    tokenizer = load_tokenizer(config.data.tokenizer)
    data = _data_config(config)
    if data.chat:
        tokenizer = with_chat_tokens(tokenizer)
    torch.manual_seed(config.run.seed)  # the same initial weights on every rank
    model = _build_model(config, tokenizer, found).to(device)
    if config.run.lora:
        add_lora(model, LoraSpec(**config.run.lora.model_dump()))
    model.gradient_checkpointing = config.run.gradient_checkpointing
    params, flops = model.num_params(), model.flops_per_token()
    wrapped = parallel.parallelize(model, world, device, config.run.distributed,
                                   config.run.compile)
    optimizer = make_optimizer(model, config.optim, device)
    loader = TrainLoader(data, tokenizer, world.rank, world.world_size,
                         pin_memory=device.type == "cuda")
    validation = validation_sets(data, tokenizer, config.run.eval_tokens,
                                 world.rank, world.world_size)
    run = Run(config, world, device, pick_dtype(config.run.dtype, device), tokenizer, model,
              wrapped, optimizer, loader, validation, params, flops)
    if data.chat:  # checkpoints keep the tokenizer with the chat tokens
        run.tokenizer_file = out / "tokenizer.json"
        if world.main:
            out.mkdir(parents=True, exist_ok=True)
            tokenizer.save(str(run.tokenizer_file))
    run.eval_sets, run.task_items = inloop.prepare(config, tokenizer, world.rank,
                                                   world.world_size)
    if found is not None:
        _restore(run, found)
    else:
        torch.manual_seed(config.run.seed + world.rank)  # each rank its own dropout masks
    return run


def _check_resume(config: TrainConfig, found: checkpoint.Checkpoint | None, resume: bool,
                  main: bool) -> None:
    """--resume past run.max_steps is a mistake; --resume with nothing to resume is worth
    a line, since the run then starts from step 0."""
    out = Path(config.run.out_dir)
    if found is not None and found.step > config.run.max_steps:
        raise TrainingError(f"{found.path} is at step {found.step}, past run.max_steps="
                            f"{config.run.max_steps}; to train on, resume with a larger "
                            f"run.max_steps (e.g. run.max_steps={2 * found.step}), or sample "
                            f"from it: gristmill sample {out}")
    if resume and found is None and main:
        print(f"note: --resume: no checkpoint in {out / 'checkpoints'} yet, so this run "
              "starts from step 0", file=sys.stderr)


def _build_model(config: TrainConfig, tokenizer: Tokenizer,
                 resumed: checkpoint.Checkpoint | None) -> GPT:
    """The configured architecture; a fine-tune's comes from its checkpoint."""
    block = config.data.block_size
    if resumed is not None:
        _check_same_model(config, tokenizer, resumed)
        return GPT(resumed.model_config)
    if config.run.init_from:
        base = checkpoint.open_checkpoint(config.run.init_from)
        # chat adds tokens to the data's tokenizer, which the base may not have yet
        if base.meta["tokenizer"] != fingerprint(load_tokenizer(config.data.tokenizer)):
            check_tokenizer(tokenizer, base.meta["tokenizer"])
        if block > base.model_config.block_size:
            raise TrainingError(f"data.block_size {block} exceeds the block size "
                                f"{base.model_config.block_size} of {base.path}")
        arch = {**base.model_config.to_dict(), "dropout": config.model.dropout}
        model = GPT(GPTConfig(**arch))
        model.load_state_dict(base.load_model().state_dict())  # adapters merged
        size = tokenizer.get_vocab_size()
        return grow_vocab(model, size) if size > model.config.vocab_size else model
    arch = config.model.model_dump()
    vocab = arch.pop("vocab_size") or _round_up(tokenizer.get_vocab_size(), 64)
    check_tokenizer(tokenizer, fingerprint(tokenizer), vocab)
    return GPT(GPTConfig(vocab_size=vocab, block_size=block, **arch))


def _check_same_model(config: TrainConfig, tokenizer: Tokenizer,
                      found: checkpoint.Checkpoint) -> None:
    check_tokenizer(tokenizer, found.meta["tokenizer"])
    saved, now = found.meta["config"]["model"], config.model.model_dump(mode="json")
    default = ModelSection().model_dump(mode="json")  # keys newer than the checkpoint
    changed = sorted(k for k in now if now[k] != saved.get(k, default[k]))
    if changed:
        raise TrainingError(f"cannot resume {found.path}: model.{changed[0]} was "
                            f"{saved.get(changed[0])!r}, now {now[changed[0]]!r}; resume "
                            "with the same model settings, or set another run.out_dir")


def _restore(run: Run, found: checkpoint.Checkpoint) -> None:
    """Weights, optimizer, data position and RNG of this rank, as saved after `step`."""
    state = found.load_state()
    if len(state["loader"]) != run.world.world_size:
        raise TrainingError(f"{found.path} was saved by {len(state['loader'])} ranks, this "
                            f"run has {run.world.world_size}; exact resume needs the same "
                            "number of ranks")
    if state.get("optimizer_format", "plain") != _optimizer_format(run):
        raise TrainingError(f"{found.path} was saved with optimizer state "
                            f"{state.get('optimizer_format', 'plain')!r}; this run needs "
                            f"{_optimizer_format(run)!r}: resume with the same run.distributed")
    parallel.load_full(run.model, run.optimizer, found.path / "model.safetensors",
                       state["optimizer"])
    run.loader.load_state_dict(state["loader"][run.world.rank])
    rng = state["rng"][run.world.rank]
    torch.set_rng_state(rng["cpu"])
    if run.device.type == "cuda" and "cuda" in rng:
        torch.cuda.set_rng_state(rng["cuda"], run.device)
    run.step, run.tokens = found.step, state["tokens"]


def loop(run: Run, quiet: bool) -> dict[str, Any]:
    c = run.config.run
    log = MetricsLog(run.out_dir, run.step, c.tensorboard) if run.world.main else None
    batches = iter(run.loader)
    peak = peak_flops(run.device, c.peak_tflops)
    last: dict[str, Any] = {}
    _announce(run, quiet)
    window_start, window_steps = time.monotonic(), 0
    with TrainProgress(run.step, c.max_steps, run.world.main and not quiet) as progress:
        while run.step < c.max_steps:
            loss, norm = train_step(run, batches)
            run.step += 1
            run.tokens += run.tokens_per_step
            window_steps += 1
            record = None
            if run.step % c.log_every == 0 or run.step == c.max_steps:
                elapsed = time.monotonic() - window_start
                record = _train_record(run, loss, norm, window_steps, elapsed, peak)
                window_start, window_steps = time.monotonic(), 0
            if run.step % c.eval_every == 0 or run.step == c.max_steps:
                last = {**evaluate(run), **inloop.extra_metrics(run, evaluate)}
                record = {**(record or {"step": run.step}), **last}
                if run.world.main:
                    progress.print(_eval_line(run.step, last))
            if record and log:
                log.write(record)
            if run.step % c.checkpoint_every == 0 or run.step == c.max_steps:
                save(run)
            progress.update(run.step, record if record and "loss" in record else None)
    if log:
        log.close()
    return last


def train_step(run: Run, batches: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step over `grad_accum` micro-batches; returns (mean loss, grad norm)."""
    c, model = run.config, run.wrapped
    lr = learning_rate(run.step, c.run.max_steps, c.optim, c.schedule)
    for group in run.optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)  # Muon's groups: muon_lr / lr
    total = torch.zeros((), device=run.device)
    for micro in range(c.run.grad_accum):
        x, y = (t.to(run.device, non_blocking=True) for t in next(batches))
        with parallel.gradient_sync(model, run.model, micro == c.run.grad_accum - 1):
            with autocast(run.device, run.dtype):
                _, loss = model(x, y)
            (loss / c.run.grad_accum).backward()
        total += loss.detach()
    norm = (parallel.local_norm(nn.utils.clip_grad_norm_(run.model.parameters(),
                                                         c.optim.grad_clip))
            if c.optim.grad_clip > 0 else torch.zeros(()))
    run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    return total / c.run.grad_accum, norm


def _train_record(run: Run, loss: torch.Tensor, norm: torch.Tensor, steps: int,
                  elapsed: float, peak: float | None) -> dict[str, Any]:
    loss = run.world.sum(loss.detach().float().clone()) / run.world.world_size
    tokens_per_s = steps * run.tokens_per_step / max(elapsed, 1e-9)
    flops = run.flops_per_token * tokens_per_s
    return {"step": run.step, "loss": loss.item(), "grad_norm": float(norm),
            "lr": run.optimizer.param_groups[0]["lr"], "tokens": run.tokens,
            "tokens_per_s": tokens_per_s, "tflops": flops / 1e12,
            "mfu": flops / peak / run.world.world_size if peak else None}


@torch.no_grad()
def evaluate(run: Run) -> dict[str, Any]:
    """Validation loss (nats/token), perplexity and bits per byte over every validation set,
    summed over ranks; special tokens count in the loss but not in bits per byte (they
    stand for no text). With several sources, also `val_loss/NAME` and `val_bpb/NAME` per
    source (`NAME` from `source_labels`), so a mix shows which source a change helps."""
    sizes = torch.from_numpy(token_bytes(run.tokenizer)).to(run.device)
    # per source: nats, tokens, text nats, bytes
    sums = torch.zeros(len(run.validation), 4, dtype=torch.float64, device=run.device)
    run.model.eval()
    for row, validation in enumerate(run.validation.values()):
        for x, y in validation.batches(run.config.data.batch_size):
            x, y = x.to(run.device), y.to(run.device)
            with autocast(run.device, run.dtype):
                logits, _ = parallel.without_ddp(run.wrapped)(x)
            nats = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(),
                                   ignore_index=IGNORE, reduction="none")
            counted = y.flatten() != IGNORE  # chat: the assistant's tokens only
            text = sizes[y.flatten().clamp(min=0)] * counted
            sums[row] += torch.stack([nats.sum().double(), counted.sum().double(),
                                      (nats * (text > 0)).sum().double(), text.sum().double()])
    run.model.train()
    sums = run.world.sum(sums)
    metrics = _val_metrics(*sums.sum(0).tolist())
    if len(run.validation) > 1:
        labels = source_labels(list(run.validation))
        for path, row in zip(run.validation, sums.tolist(), strict=True):
            metrics.update({f"{key}/{labels[path]}": value for key, value in
                            _val_metrics(*row).items() if key != "val_ppl"})
    return metrics


def _val_metrics(nats: float, tokens: float, text_nats: float, text_bytes: float
                 ) -> dict[str, float]:
    if tokens == 0:
        return {}
    loss = nats / tokens
    return {"val_loss": loss, "val_ppl": math.exp(min(loss, 50.0)),
            "val_bpb": text_nats / math.log(2) / max(text_bytes, 1.0)}


def save(run: Run) -> None:
    """Gather every rank's data position and RNG; the main rank writes the checkpoint."""
    rng = {"cpu": torch.get_rng_state()}
    if run.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(run.device)
    states = run.world.gather({"loader": run.loader.state_dict(), "rng": rng})
    weights = parallel.full_weights(run.model)  # collectives: every rank takes part
    optimizer = parallel.full_optimizer_state(run.model, run.optimizer)
    if run.world.main:
        state = {"optimizer": optimizer, "optimizer_format": _optimizer_format(run),
                 "tokens": run.tokens, "loader": [s["loader"] for s in states],
                 "rng": [s["rng"] for s in states]}
        meta = {"model": run.model.config.to_dict(), "config": run.config.model_dump(mode="json"),
                "tokenizer": fingerprint(run.tokenizer), "world_size": run.world.world_size,
                **({"lora": run.config.run.lora.model_dump()} if run.config.run.lora else {})}
        checkpoint.save(run.out_dir / "checkpoints", run.step, weights, state, meta,
                        run.tokenizer_file or Path(run.config.data.tokenizer),
                        run.config.run.keep_last)
    run.world.barrier()


def _announce(run: Run, quiet: bool) -> None:
    if quiet or not run.world.main:
        return
    c = run.model.config
    print(f"model: {run.params / 1e6:.2f}M parameters ({c.n_layer} layers, "
          f"{c.n_head} heads, {c.n_embd} wide, context {c.block_size}, vocab {c.vocab_size})"
          f"; {run.device}, {str(run.dtype).removeprefix('torch.')}, {run.world.world_size} "
          f"rank(s), {run.tokens_per_step:,} tokens/step"
          + (f"; resuming after step {run.step}" if run.step else ""))
    warmup = run.config.schedule.warmup_steps
    if warmup >= run.config.run.max_steps:
        print(f"note: schedule.warmup_steps={warmup} is not below run.max_steps="
              f"{run.config.run.max_steps}: the learning rate never reaches optim.lr (for a "
              f"short run, add schedule.warmup_steps={max(1, run.config.run.max_steps // 10)})")


def _eval_line(step: int, metrics: dict[str, Any]) -> str:
    if not metrics:
        return f"step {step}: no validation data"
    sources = [key.partition("/")[2] for key in metrics if key.startswith("val_loss/")]
    return (f"step {step}: val loss {metrics['val_loss']:.4f}, perplexity "
            f"{metrics['val_ppl']:.2f}, {metrics['val_bpb']:.4f} bits/byte"
            + "".join(f"; {name} {metrics[f'val_loss/{name}']:.4f} "
                      f"({metrics[f'val_bpb/{name}']:.4f} bits/byte)" for name in sources))


def _optimizer_format(run: Run) -> str:
    """FSDP saves optimizer state keyed by parameter name, the others by position."""
    return "fsdp" if parallel.sharded(run.model) else "plain"


def _data_config(config: TrainConfig) -> DataConfig:
    d = config.data
    sources = [s if isinstance(s, str) else s.model_dump() for s in d.sources]
    return DataConfig(sources, d.block_size, d.batch_size, seed=config.run.seed,
                      shuffle=d.shuffle, shuffle_windows=d.shuffle_windows,
                      num_workers=d.num_workers, streams_per_rank=d.streams_per_rank,
                      holdout=d.holdout, **{"text_column": d.text_column, **_chat(config)})


def _chat(config: TrainConfig) -> dict[str, Any]:
    """The loader's chat settings: `data.format`, or auto-detected from the first source."""
    d = config.data
    first = d.sources[0] if isinstance(d.sources[0], str) else d.sources[0].path
    if d.format == "text" or (d.format == "auto" and not has_messages(first)):
        return {}
    column = "messages" if d.text_column == "text" else d.text_column
    return {"chat": True, "pack": d.pack, "text_column": column}


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))
