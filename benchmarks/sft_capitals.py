#!/usr/bin/env python3
"""Chat fine-tuning end to end: does a tiny model learn the capitals data set?

Makes the synthetic chat set (data/make_chat_capitals.py: 60 made-up countries, four
trained phrasings, a system message in half the conversations), trains a 2-layer, 128-wide
model from scratch on it with `data.format: chat` (loss on the assistant's tokens only),
then asks every country's capital in the phrasing it never saw, greedily. The baseline,
trained in the same run, is the same model trained on every token of the same
conversations (rendered with the template as plain text):

- accuracy: replies that are exactly "The capital of X is Y." (the capital right);
- ended: replies that stop with the end-of-turn token;
- leaks: words that only system and user turns contain, in what the model writes when
  started at a system or a user marker.

    python benchmarks/sft_capitals.py [--steps 500] [--lr 3e-3] [--out /tmp/sft_capitals]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "data"))

from make_chat_capitals import (  # noqa: E402
    ANSWER,
    SYSTEMS,
    TRAIN,
    UNSEEN,
    atlas,
    conversations,
    write,
)

from training.checkpoint import open_checkpoint  # noqa: E402
from training.config import load_config  # noqa: E402
from training.finetune.chat import ChatEncoder, with_chat_tokens  # noqa: E402
from training.generate import generate  # noqa: E402
from training.tokenizer.load import load_tokenizer  # noqa: E402
from training.tokenizer.train import train_bpe  # noqa: E402
from training.trainer import train  # noqa: E402


def render(messages: list[dict]) -> str:
    return "".join(f"<|{m['role']}|>{m['content']}<|end|>" for m in messages)


def prepare(out: Path, steps: int, lr: float) -> tuple[Path, Path]:
    """Configs of the chat run and of the every-token baseline."""
    train_rows, validation = conversations()
    write(out / "data" / "train", train_rows, "train")
    write(out / "data" / "validation", validation, "val")
    texts = [m["content"] for c in train_rows + validation for m in c]
    tokenizer = train_bpe([texts], 512)
    tokenizer.save(str(out / "bpe.json"))
    with_chat_tokens(tokenizer).save(str(out / "bpe_chat.json"))
    for split, rows in (("train", train_rows), ("validation", validation)):
        (out / "text" / split).mkdir(parents=True)
        pq.write_table(pa.table({"id": [str(i) for i in range(len(rows))],
                                 "text": [render(r) for r in rows]}),
                       out / "text" / split / "part-00000.parquet")
    chat = _config(out, "run", out / "data", out / "bpe.json", steps, lr)
    every = _config(out, "baseline", out / "text", out / "bpe_chat.json", steps, lr)
    return chat, every


def _config(out: Path, name: str, data: Path, tokenizer: Path, steps: int, lr: float) -> Path:
    config = {"model": {"n_layer": 2, "n_head": 4, "n_embd": 128},
              "data": {"sources": [str(data)], "tokenizer": str(tokenizer),
                       "block_size": 64, "batch_size": 16},
              "optim": {"lr": lr, "min_lr": lr / 10},
              "schedule": {"warmup_steps": 20},
              "run": {"out_dir": str(out / name), "max_steps": steps, "dtype": "float32",
                      "eval_every": steps, "log_every": 50, "checkpoint_every": steps}}
    (out / f"{name}.yaml").write_text(yaml.safe_dump(config))
    return out / f"{name}.yaml"


def reply(model, tokenizer, encoder: ChatEncoder, prompt: list[int]) -> tuple[str, bool]:
    ids = list(generate(model, prompt, 80, temperature=0, stop=encoder.end))
    ended = bool(ids) and ids[-1] == encoder.end
    return tokenizer.decode([t for t in ids if t != encoder.end]), ended


def measure(run: Path) -> dict[str, float]:
    ckpt = open_checkpoint(run)
    tokenizer = load_tokenizer(ckpt.path / "tokenizer.json")
    encoder, model = ChatEncoder(tokenizer), ckpt.load_model()
    correct = ended = 0
    for country, capital in atlas():
        messages = [{"role": "user", "content": UNSEEN.format(c=country)}]
        text, done = reply(model, tokenizer, encoder, encoder.prompt(messages))
        correct += text == ANSWER.format(c=country, y=capital)
        ended += done
    prompt_words = set(re.findall(r"[A-Za-z]+", " ".join(SYSTEMS + TRAIN + (UNSEEN,))))
    answer_words = set(re.findall(r"[A-Za-z]+", ANSWER))
    only_prompts = {w.lower() for w in prompt_words - answer_words}
    leaks = []
    for role in ("system", "user"):
        text, _ = reply(model, tokenizer, encoder, [encoder.marker[role]])
        leaks += [w for w in re.findall(r"[A-Za-z]+", text) if w.lower() in only_prompts]
    return {"correct": correct, "ended": ended, "leaks": len(leaks), "leaked": leaks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/sft_capitals"))
    args = parser.parse_args()
    if (args.out / "run").exists():
        sys.exit(f"{args.out / 'run'} exists; give another --out")
    count = len(atlas())
    for name, config in zip(("chat SFT (assistant tokens)", "baseline (every token)"),
                            prepare(args.out, args.steps, args.lr), strict=True):
        start = time.monotonic()
        train(load_config(config), quiet=True)
        seconds = time.monotonic() - start
        result = measure(args.out / config.stem)
        print(f"{name}: {args.steps} steps in {seconds:.0f} s; unseen phrasing "
              f"{result['correct']}/{count} exactly right ({result['correct'] / count:.0%}), "
              f"{result['ended']}/{count} ended their turn; words only system/user turns "
              f"contain, written from a system or user marker: {result['leaks']} "
              f"{json.dumps(sorted(set(result['leaked']))[:6])}")


if __name__ == "__main__":
    main()
