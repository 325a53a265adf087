"""`gristmill import` (a transformers directory to a checkpoint) and `gristmill chat`.

torch is imported when a command runs, so building the parser stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gristmill.checks import whole
from training.cli.sampling import add_sampling_args, load_for_sampling
from training.errors import TrainingError


def import_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import", help="import a local transformers model (GPT-2 or Llama family)",
        description="Turn a local Hugging Face directory (config.json, model.safetensors, "
                    "tokenizer.json) into a checkpoint that sample, chat, export and train "
                    "--init-from accept. Nothing is downloaded.")
    parser.add_argument("source", metavar="HF_DIR", help="the transformers model directory")
    parser.add_argument("--out", required=True, help="directory to write (new or empty)")
    parser.add_argument("--block-size", type=whole(1), default=None,
                        help="context length to keep (default: the model's maximum; a "
                             "smaller one makes sampling's key/value cache smaller)")
    parser.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    import torch

    from training.finetune.hf_import import import_hf

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


def chat_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "chat", help="talk to a chat fine-tuned checkpoint",
        description="An interactive conversation (type /reset to start over, /quit or "
                    "Ctrl-D to leave), or one reply with --message. Replies stream and stop "
                    "at the end-of-turn token.")
    parser.add_argument("checkpoint", help="checkpoint directory or a run's out_dir")
    parser.add_argument("--system", default=None, help="a system message opening the chat")
    parser.add_argument("--message", default=None, help="reply to this one message and exit")
    add_sampling_args(parser, max_new_tokens=256, temperature=0.7, top_k=50)
    parser.set_defaults(func=run_chat)


def run_chat(args: argparse.Namespace) -> int:
    from training.finetune.chat import ChatEncoder

    tokenizer, model = load_for_sampling(args.checkpoint, args.device)
    encoder = ChatEncoder(tokenizer)
    opening = [{"role": "system", "content": args.system}] if args.system else []
    if args.message is not None:
        _reply(model, tokenizer, encoder, [*opening, _user(args.message)], args)
        return 0
    history = list(opening)
    while True:
        try:
            line = input("you> ")
        except EOFError:
            sys.stdout.write("\n")
            return 0
        if line.strip() == "/quit":
            return 0
        if line.strip() == "/reset":
            history = list(opening)
            print("(conversation cleared)")
            continue
        history.append(_user(line))
        sys.stdout.write("assistant> ")
        history.append({"role": "assistant",
                        "content": _reply(model, tokenizer, encoder, history, args)})


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _reply(model: Any, tokenizer: Any, encoder: Any, messages: list[dict[str, str]],
           args: argparse.Namespace) -> str:
    """Stream the assistant's next message to stdout; returns its text."""
    from training.generate import generate, text_pieces

    tokens = generate(model, encoder.prompt(messages), args.max_new_tokens, args.temperature,
                      args.top_k or None, args.top_p, args.seed, stop=encoder.end)
    text = ""
    for piece in text_pieces(tokenizer, (t for t in tokens if t != encoder.end)):
        sys.stdout.write(piece)
        sys.stdout.flush()
        text += piece
    sys.stdout.write("\n")
    return text
