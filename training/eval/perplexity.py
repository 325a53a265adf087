"""Loss, perplexity and bits per byte of a model on any Parquet text: `gristmill eval
--data DIR`, and the fixed evaluation sets a training run or an ablation scores."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from training.data.corpus import Split, find_splits
from training.data.validation import ValidationSet
from training.device import autocast
from training.eval.harness import Model
from training.tokenizer.load import token_bytes


def text_split(path: str | Path, text_column: str = "text") -> Split:
    """The documents to score: a curated output's `validation/` (never trained on), or
    every Parquet file of any other directory."""
    splits = find_splits(path, holdout=0.0, text_column=text_column)
    return splits.validation or splits.train


@torch.no_grad()
def evaluate_texts(model: Model, path: str | Path, max_tokens: int = 1 << 20,
                   text_column: str = "text", batch_size: int = 8) -> dict[str, Any]:
    """Loss (nats per token), perplexity and bits per byte over the first `max_tokens`
    tokens of `path`, packed into context-length windows as training packs them."""
    windows = ValidationSet(text_split(path, text_column), model.tokenizer, model.block_size,
                            max_tokens)
    sizes = torch.from_numpy(token_bytes(model.tokenizer)).to(model.device)
    sums = torch.zeros(4, dtype=torch.float64, device=model.device)
    for x, y in windows.batches(batch_size):
        x, y = x.to(model.device), y.to(model.device)
        with autocast(model.device, model.dtype):
            logits = model.forward(x)
            if model.head is not None:
                logits = model.head(logits)
        nats = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="none")
        text = sizes[y.flatten()]
        sums += torch.stack([nats.sum().double(), torch.tensor(float(y.numel())).double(),
                             (nats * (text > 0)).sum().double(), text.sum().double()])
    nats, tokens, text_nats, text_bytes = sums.tolist()
    loss = nats / tokens
    return {"loss": loss, "ppl": math.exp(min(loss, 50.0)),
            "bpb": text_nats / math.log(2) / max(text_bytes, 1.0), "tokens": int(tokens)}
