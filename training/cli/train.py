"""`gristmill train`, `gristmill sample` and `gristmill export`.

torch is imported when a command runs, not when the parser is built, so that other
commands (and `--help`) start without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gristmill.checks import output_dir
from gristmill.outputs import clear_export
from training.cli.sampling import add_sampling_args, load_for_sampling
from training.errors import TrainingError
from training.tokenizer.load import EOT


def train_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train", help="train a GPT on shard directories (YAML config)",
        description="Train (or fine-tune with --init-from) a GPT. Under torchrun it runs "
                    "DDP: torchrun --standalone --nproc_per_node=N --no-python gristmill train "
                    "CONFIG.yaml")
    parser.add_argument("config", help="training YAML (see training/configs/)")
    parser.add_argument("overrides", nargs="*", metavar="key.path=value",
                        help="override config values, e.g. run.max_steps=100")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint in run.out_dir (exactly: "
                             "same batches, same losses); starts fresh when there is none")
    parser.add_argument("--init-from", metavar="CKPT",
                        help="fine-tune: start from this checkpoint's weights")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_train, resume_with="--resume")


def run_train(args: argparse.Namespace) -> int:
    from training.config import load_config
    from training.trainer import train

    overrides = list(args.overrides)
    if args.init_from:
        overrides.append(f"run.init_from={args.init_from}")
    config = load_config(args.config, overrides)
    output_dir(Path(config.run.out_dir), "run.out_dir")
    train(config, resume=args.resume, quiet=args.quiet)
    return 0


def sample_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("sample", help="generate text from a checkpoint",
                                 description="Stream text from a trained model.")
    parser.add_argument("checkpoint", help="checkpoint directory, or a run's out_dir "
                        "(its newest checkpoint)")
    parser.add_argument("--prompt", default="", help="text to continue (default: none)")
    add_sampling_args(parser, max_new_tokens=200, temperature=0.8, top_k=200)
    parser.add_argument("--stop-at-eot", action="store_true",
                        help=f"stop at the end of the document ({EOT}) instead of going on "
                             "into a new one")
    parser.set_defaults(func=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    from training.generate import generate, text_pieces

    tokenizer, model = load_for_sampling(args.checkpoint, args.device)
    eot = tokenizer.token_to_id(EOT)
    prompt = tokenizer.encode(args.prompt, add_special_tokens=False).ids or [eot]
    sys.stdout.write(args.prompt)
    tokens = generate(model, prompt, args.max_new_tokens, args.temperature,
                      args.top_k or None, args.top_p, args.seed,
                      stop=eot if args.stop_at_eot else None)
    for piece in text_pieces(tokenizer, tokens):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def export_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export", help="export a checkpoint to a Hugging Face transformers directory",
        description="Write a directory that transformers' AutoModelForCausalLM and "
                    "AutoTokenizer load (GPT-2 or Llama architecture).")
    parser.add_argument("checkpoint", help="checkpoint directory or a run's out_dir")
    parser.add_argument("--out", required=True, help="directory to write")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier export in --out (nothing else is removed)")
    parser.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    import torch

    from training.checkpoint import open_checkpoint
    from training.export import export

    out = output_dir(Path(args.out), "--out")
    ckpt = open_checkpoint(args.checkpoint)
    if out.exists() and any(out.iterdir()):
        if not args.overwrite:
            raise TrainingError(f"--out {out}: is not empty; choose an empty or new directory, "
                                "or pass --overwrite to replace an earlier export there")
        clear_export(out)
    with torch.no_grad():
        kind = export(ckpt, out)
    print(f"exported step {ckpt.step} of {ckpt.path} as {kind} to {out}; load it with "
          f"AutoModelForCausalLM.from_pretrained({str(out)!r})")
    return 0
