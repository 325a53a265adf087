"""`gristmill import` (a transformers directory to a checkpoint)."""

from __future__ import annotations

import argparse
from pathlib import Path

from training.errors import TrainingError


def import_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import", help="import a local transformers model (GPT-2 or Llama family)",
        description="Turn a local Hugging Face directory (config.json, model.safetensors, "
                    "tokenizer.json) into a checkpoint that sample, chat, export and train "
                    "--init-from accept. Nothing is downloaded.")
    parser.add_argument("source", metavar="HF_DIR", help="the transformers model directory")
    parser.add_argument("--out", required=True, help="directory to write (new or empty)")
    parser.add_argument("--block-size", type=int, default=None,
                        help="context length to keep (default: the model's maximum; a "
                             "smaller one makes sampling's key/value cache smaller)")
    parser.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    import torch

    from training.hf_import import import_hf

    source, out = Path(args.source), Path(args.out)
    if not source.is_dir():
        raise TrainingError(f"{source}: no such directory")
    if out.exists() and any(out.iterdir()):
        raise TrainingError(f"{out} is not empty; choose an empty or new --out directory")
    with torch.no_grad():
        ckpt = import_hf(source, out, args.block_size)
    c = ckpt.model_config
    print(f"imported {ckpt.meta['imported_from']['model_type']} ({c.n_layer} layers, "
          f"{c.n_embd} wide, vocab {c.vocab_size}, context {c.block_size}) to {out}; its "
          f"tokenizer is {ckpt.path / 'tokenizer.json'}")
    return 0
