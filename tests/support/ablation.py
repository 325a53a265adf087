"""Book corpora for ablation tests and the ablation benchmark: clean books against the same
books with most documents replaced by web junk, and a held-out book to evaluate on."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import yaml

from tests.support.training import GUTENBERG, curated, write_shards

TRAIN_BOOKS = ("pride_and_prejudice", "jane_eyre", "little_women", "tale_of_two_cities",
               "wuthering_heights", "dracula", "moby_dick")
HELDOUT_BOOK = "time_machine"
WEB = GUTENBERG.parent / "web_dolma_cc2019"


def book_docs(name: str, chars: int = 1500) -> list[str]:
    """A Gutenberg book without its licence header and footer, in documents of about
    `chars` characters (whole paragraphs)."""
    text = (GUTENBERG / f"{name}.txt").read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    start = text.find("\n", text.find("*** START OF")) + 1
    body = text[start:text.find("*** END OF")]
    docs, current = [], ""
    for paragraph in (p.strip().replace("\n", " ") for p in body.split("\n\n")):
        if paragraph:
            current = f"{current}\n\n{paragraph}" if current else paragraph
        if len(current) >= chars:
            docs.append(current)
            current = ""
    return docs + ([current] if current else [])


def junk_docs(count: int, chars: int = 1500) -> list[str]:
    """Web junk: raw Common Crawl pages of 2019 (menus, shops, many languages), cut into
    documents of `chars` characters, reused in turn when more are asked for."""
    pages = []
    for path in sorted(WEB.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            pages += [json.loads(line)["text"] for line in handle]
    pieces = [p[i:i + chars] for p in pages for i in range(0, len(p), chars)]
    return [pieces[i % len(pieces)] for i in range(count)]


def book_ablation(root: Path, tokens: int, junk: float = 0.8, seeds: tuple[int, ...] = (1, 2),
                  vocab: int | str = 512, evals: int = 4,
                  books: tuple[str, ...] = TRAIN_BOOKS) -> Path:
    """clean/ and polluted/ (the same number of documents, `junk` of them replaced by web
    junk), heldout/ (another book), and an ablation YAML for a 2-layer, 128-wide model
    (context 64, 8 sequences a step: small steps learn more from few tokens)
    trained on `tokens` tokens a run; `vocab` is a BPE size to train once, or a tokenizer
    file. Returns the YAML's path."""
    docs = [d for name in books for d in book_docs(name)]
    rng = random.Random(7)
    rng.shuffle(docs)
    polluted = [d if rng.random() >= junk else "" for d in docs]
    fill = iter(junk_docs(sum(1 for d in polluted if not d)))
    polluted = [d or next(fill) for d in polluted]
    curated(root / "clean", docs[40:], docs[:40])
    curated(root / "polluted", polluted[40:], polluted[:40])
    write_shards(root / "heldout", book_docs(HELDOUT_BOOK)[:60])
    (root / "train.yaml").write_text(yaml.safe_dump({
        "model": {"n_layer": 2, "n_head": 4, "n_embd": 128, "dropout": 0.0},
        "data": {"sources": ["unused"], "tokenizer": "unused", "block_size": 64,
                 "batch_size": 8},
        "optim": {"lr": 3e-3, "min_lr": 3e-4, "beta2": 0.99},
        "schedule": {"warmup_steps": 20},
        "run": {"out_dir": "unused", "max_steps": 1, "dtype": "float32", "log_every": 10}}))
    ablation = root / "ablation.yaml"
    ablation.write_text(yaml.safe_dump({
        "variants": {"clean": str(root / "clean"), "polluted": str(root / "polluted")},
        "seeds": list(seeds),
        "tokenizer": vocab if isinstance(vocab, str) else {"vocab_size": vocab},
        "train": {"config": str(root / "train.yaml"), "tokens": tokens, "evals": evals},
        "eval": {"sets": {"heldout_book": str(root / "heldout")}}}))
    return ablation
