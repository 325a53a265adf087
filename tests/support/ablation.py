"""Book corpora for ablation tests and the ablation benchmark: clean books against the same
books with most documents replaced by web junk, and a held-out book to evaluate on."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from tests.support.training import GUTENBERG, curated, write_shards

TRAIN_BOOKS = ("pride_and_prejudice", "jane_eyre", "little_women", "tale_of_two_cities",
               "wuthering_heights", "dracula", "moby_dick")
HELDOUT_BOOK = "time_machine"
BOILERPLATE = ("Home", "About us", "Contact", "Log in", "Sign up", "Privacy policy",
               "Cookie settings", "Accept all cookies", "Click here", "Buy now",
               "Free shipping on orders over $50", "Best price guaranteed",
               "Subscribe to our newsletter", "Copyright 2019 All rights reserved",
               "Terms of service", "Share on Facebook", "Tweet", "Related posts", "Read more",
               "Next page", "SALE 50% OFF", "Add to cart", "Customers also bought",
               "Download the app", "Limited time offer", "Top 10 deals", "FAQ", "Sitemap")


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


def junk_docs(count: int, seed: int = 0, chars: int = 1500) -> list[str]:
    """Web junk: navigation boilerplate, product codes, links and keyword spam."""
    rng = random.Random(seed)
    docs = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 3 for p in parts) < chars:
            kind = rng.random()
            if kind < 0.5:
                parts.append(rng.choice(BOILERPLATE))
            elif kind < 0.7:
                parts.append(f"SKU-{rng.randint(10000, 99999)} ${rng.randint(1, 999)}.99")
            elif kind < 0.85:
                parts.append(f"http://www.shop{rng.randint(1, 99)}.example.com/p/"
                             f"{rng.randint(1000, 9999)}")
            else:
                parts.append(" ".join(rng.choices(["cheap", "best", "free", "online", "deal",
                                                   "casino", "bonus", "win", "now"], k=6)))
        docs.append(" | ".join(parts))
    return docs


def book_ablation(root: Path, tokens: int, junk: float = 0.8, seeds: tuple[int, ...] = (1, 2),
                  vocab: int | str = 512, evals: int = 4,
                  books: tuple[str, ...] = TRAIN_BOOKS) -> Path:
    """clean/ and polluted/ (the same number of documents, `junk` of them replaced by web
    junk), heldout/ (another book), and an ablation YAML for a 2-layer, 128-wide model
    trained on `tokens` tokens a run; `vocab` is a BPE size to train once, or a tokenizer
    file. Returns the YAML's path."""
    docs = [d for name in books for d in book_docs(name)]
    rng = random.Random(7)
    rng.shuffle(docs)
    polluted = [d if rng.random() >= junk else "" for d in docs]
    fill = iter(junk_docs(sum(1 for d in polluted if not d), seed=3))
    polluted = [d or next(fill) for d in polluted]
    curated(root / "clean", docs[40:], docs[:40])
    curated(root / "polluted", polluted[40:], polluted[:40])
    write_shards(root / "heldout", book_docs(HELDOUT_BOOK)[:60])
    (root / "train.yaml").write_text(yaml.safe_dump({
        "model": {"n_layer": 2, "n_head": 4, "n_embd": 128, "dropout": 0.0},
        "data": {"sources": ["unused"], "tokenizer": "unused", "block_size": 128,
                 "batch_size": 16},
        "optim": {"lr": 3e-3, "min_lr": 3e-4, "beta2": 0.99},
        "schedule": {"warmup_steps": 10},
        "run": {"out_dir": "unused", "max_steps": 1, "dtype": "float32", "log_every": 10}}))
    ablation = root / "ablation.yaml"
    ablation.write_text(yaml.safe_dump({
        "variants": {"clean": str(root / "clean"), "polluted": str(root / "polluted")},
        "seeds": list(seeds),
        "tokenizer": vocab if isinstance(vocab, str) else {"vocab_size": vocab},
        "train": {"config": str(root / "train.yaml"), "tokens": tokens, "evals": evals},
        "eval": {"sets": {"heldout_book": str(root / "heldout")}}}))
    return ablation
