#!/usr/bin/env python3
"""A synthetic chat data set: 60 made-up countries and their capitals, for fine-tuning.

Every country gets one conversation per training phrasing of the question ("What is the
capital of Vel?", ...), half of them opened by a system message, and some conversations ask
about two countries in turn. The answer is always "The capital of X is Y.". One more
phrasing ("Tell me the capital of X.") is never trained on: `validation/` asks it once per
country, so a model that answers it has learned the facts, not the sentences.

    python data/make_chat_capitals.py --out /tmp/capitals

writes `/tmp/capitals/train/part-00000.parquet` and `/tmp/capitals/validation/...` with
columns `id` and `messages` (the Hugging Face chat format), which `gristmill train`
recognises as chat data, and `/tmp/capitals/contents/` (every message's text in a `text`
column) to train a tokenizer on. Output is the same on every run.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SEED = 7
COUNT = 60
TRAIN = ("What is the capital of {c}?", "Which city is the capital of {c}?",
         "Name the capital city of {c}.", "{c} has which city as its capital?")
UNSEEN = "Tell me the capital of {c}."
SYSTEMS = ("You are a helpful geography assistant.", "Answer briefly and politely.",
           "You know every nation of the archipelago.")
ANSWER = "The capital of {c} is {y}."
ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "tr")
VOWELS = ("a", "e", "i", "o", "u", "ai", "ou")


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS)
                   for _ in range(syllables)).capitalize()


def atlas(seed: int = SEED) -> list[tuple[str, str]]:
    """(country, capital) pairs: distinct invented words."""
    rng = random.Random(seed)
    seen: set[str] = set()
    pairs = []
    while len(pairs) < COUNT:
        country, capital = _word(rng, rng.choice((2, 3))), _word(rng, rng.choice((2, 3)))
        if country not in seen and capital not in seen and country != capital:
            seen |= {country, capital}
            pairs.append((country, capital))
    return pairs


def _turns(country: str, capital: str, phrasing: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": phrasing.format(c=country)},
            {"role": "assistant", "content": ANSWER.format(c=country, y=capital)}]


def conversations(seed: int = SEED) -> tuple[list[list[dict]], list[list[dict]]]:
    """(train, validation) conversations."""
    rng = random.Random(seed + 1)
    pairs = atlas(seed)
    train = []
    for i, (country, capital) in enumerate(pairs):
        for j, phrasing in enumerate(TRAIN):
            messages = _turns(country, capital, phrasing)
            if (i + j) % 2:
                messages.insert(0, {"role": "system", "content": rng.choice(SYSTEMS)})
            if j == 0:  # a second question about another country, after the first answer
                other, other_capital = pairs[(i + 7) % COUNT]
                messages += _turns(other, other_capital, rng.choice(TRAIN))
            train.append(messages)
    rng.shuffle(train)
    validation = [_turns(country, capital, UNSEEN) for country, capital in pairs]
    return train, validation


def write(folder: Path, rows: list[list[dict]], prefix: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"id": [f"{prefix}-{i}" for i in range(len(rows))], "messages": rows})
    pq.write_table(table, folder / "part-00000.parquet", compression="zstd")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    out = parser.parse_args().out
    train, validation = conversations()
    write(out / "train", train, "train")
    write(out / "validation", validation, "val")
    contents = [m["content"] for c in train + validation for m in c]
    (out / "contents").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": [f"m-{i}" for i in range(len(contents))],
                             "text": contents}), out / "contents" / "part-00000.parquet")
    print(f"{len(train)} training and {len(validation)} validation conversations in {out}")


if __name__ == "__main__":
    main()
