"""What `sample` and `chat` share: the sampling flags, and a checkpoint loaded with its
tokenizer onto the chosen device."""

from __future__ import annotations

import argparse
from typing import Any

from gristmill.checks import device_name, number, whole


def add_sampling_args(parser: argparse.ArgumentParser, max_new_tokens: int,
                      temperature: float, top_k: int) -> None:
    """--max-new-tokens, --temperature, --top-k, --top-p, --seed and --device, checked at
    parse time; each command picks its own defaults."""
    parser.add_argument("--max-new-tokens", type=whole(1), default=max_new_tokens)
    parser.add_argument("--temperature", type=number(0), default=temperature,
                        help="0: always the most likely token")
    parser.add_argument("--top-k", type=whole(0), default=top_k, help="0: no top-k cut")
    parser.add_argument("--top-p", type=number(0, 1, low_open=True), default=None,
                        help="nucleus sampling: keep the most likely tokens up to this "
                             "probability mass, in (0, 1]")
    parser.add_argument("--seed", type=int, default=None, help="for reproducible output")
    parser.add_argument("--device", type=device_name, default="auto",
                        help="auto (default), cpu, cuda, cuda:N or mps")


def load_for_sampling(checkpoint: str, device: str) -> tuple[Any, Any]:
    """A checkpoint's tokenizer and its model on `device`."""
    from training.checkpoint import open_checkpoint
    from training.device import pick_device
    from training.tokenizer.load import load_tokenizer

    ckpt = open_checkpoint(checkpoint)
    tokenizer = load_tokenizer(ckpt.path / "tokenizer.json")
    return tokenizer, ckpt.load_model(pick_device(device, 0, flag="--device"))
