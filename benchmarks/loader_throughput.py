#!/usr/bin/env python3
"""Tokens/s the training loader delivers, against plain `encode_batch` and a CPU trainer.

Builds a Parquet corpus from the public-domain books in shared/data/clean_gutenberg_en
(paragraphs grouped into ~4,000-character documents), trains a byte-level BPE tokenizer on
it, then on the same text times, in one process and one run:

- `tokenizer.encode_batch` (and `encode_batch_fast`) over every document: the baseline, on
  all cores (the tokenizer's own threads) and on one (`TOKENIZERS_PARALLELISM=false`, as in
  a DataLoader worker, which tokenizes on one thread);
- `TrainLoader` (block 256, batch 16, shuffled, default settings) with 0, 1 and 2 DataLoader
  workers, delivering as many target tokens as the corpus has, after a startup (opening
  files, forking workers, each stream tokenizing its first shuffle block) shown apart;
- what a CPU trainer consumes: forward + backward + AdamW step of a 6-layer, 384-wide,
  256-context GPT (6 heads, GELU MLP, tied embeddings; the model issue 7 benchmarks), fp32.

Cases run in rounds (`--rounds`) and each keeps its best, because the machine may be shared.
Usage: .venv/bin/python benchmarks/loader_throughput.py [--rounds 2 --max-chars 12000000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch import nn
from torch.nn import functional as F

from training.data.corpus import find_splits, iter_texts
from training.data.loader import DataConfig, TrainLoader
from training.tokenizer.train import train_bpe

BOOKS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "clean_gutenberg_en"
BLOCK, BATCH = 256, 16


def make_corpus(books: Path, out: Path, max_chars: int) -> list[str]:
    """~4,000-character documents of whole paragraphs, in two Parquet files."""
    docs: list[str] = []
    for book in sorted(books.glob("*.txt")):
        current: list[str] = []
        for paragraph in book.read_text().split("\n\n"):
            current.append(paragraph)
            if sum(map(len, current)) >= 4000:
                docs.append("\n\n".join(current))
                current = []
        if current:
            docs.append("\n\n".join(current))
    total, kept = 0, []
    for doc in docs:
        if total >= max_chars:
            break
        kept.append(doc)
        total += len(doc)
    out.mkdir(parents=True)
    half = len(kept) // 2
    for i, part in enumerate((kept[:half], kept[half:])):
        table = pa.table({"id": [f"{i}-{j}" for j in range(len(part))], "text": part})
        pq.write_table(table, out / f"part-{i:05d}.parquet", row_group_size=500,
                       compression="zstd")
    return kept


class Block(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, -1).transpose(1, 3).unbind(2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp(self.norm2(x))


class GPT(nn.Module):
    def __init__(self, vocab: int, layers: int = 6, width: int = 384, heads: int = 6):
        super().__init__()
        self.embed, self.pos = nn.Embedding(vocab, width), nn.Embedding(BLOCK, width)
        self.blocks = nn.Sequential(*(Block(width, heads) for _ in range(layers)))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.embed(x) + self.pos(torch.arange(x.shape[1])))
        logits = self.norm(h) @ self.embed.weight.T
        return F.cross_entropy(logits.flatten(0, 1), y.flatten())


def trainer_tokens_per_s(vocab: int, steps: int = 3) -> float:
    torch.manual_seed(0)
    model = GPT(vocab)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randint(vocab, (BATCH, BLOCK))
    best = float("inf")
    for step in range(steps + 1):
        start = time.perf_counter()
        model(x, x).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step:  # the first step allocates; not timed
            best = min(best, time.perf_counter() - start)
    return BATCH * BLOCK / best


def encode_tokens_per_s(encode: Callable[[list[str]], list], texts: list[str],
                        threads: bool = True) -> float:
    """`threads=False` turns the tokenizer's thread pool off for this call."""
    old = os.environ.get("TOKENIZERS_PARALLELISM")
    if not threads:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        start = time.perf_counter()
        tokens = sum(len(e.ids) for e in encode(texts))
        return tokens / (time.perf_counter() - start)
    finally:
        if old is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = old


def loader_tokens_per_s(corpus: Path, tokenizer, workers: int, tokens: int) -> tuple[float, float]:
    """(steady tokens/s, startup seconds): startup is until every stream has given its first
    batch (each tokenizes a whole shuffle block for it); then `tokens` targets are timed."""
    config = DataConfig([str(corpus)], BLOCK, BATCH, num_workers=workers, holdout=0.0)
    start = time.perf_counter()
    batches = iter(TrainLoader(config, tokenizer))
    for _ in range(config.streams_per_rank):
        next(batches)
    first = time.perf_counter()
    delivered = 0
    while delivered < tokens:
        x, _ = next(batches)
        delivered += x.numel()
    return delivered / (time.perf_counter() - first), first - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-chars", type=int, default=12_000_000, help="corpus size")
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=2, help="runs per case; best is kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gristmill-loader-bench-") as work:
        corpus = Path(work) / "corpus"
        texts = make_corpus(BOOKS, corpus, args.max_chars)
        start = time.perf_counter()
        split = find_splits(corpus, holdout=0.0).train
        tokenizer = train_bpe(iter_texts(split, 10_000), args.vocab_size)
        tokens = sum(len(e.ids) for e in tokenizer.encode_batch(texts))
        print(f"corpus: {len(texts):,} documents, {sum(map(len, texts)) / 1e6:.1f}M characters, "
              f"{tokens / 1e6:.2f}M tokens (BPE {args.vocab_size}, trained in "
              f"{time.perf_counter() - start:.0f}s); {os.cpu_count()} CPUs, "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        cases: dict[str, Callable[[], tuple[float, float]]] = {
            "encode_batch": lambda: (encode_tokens_per_s(tokenizer.encode_batch, texts), 0.0),
            "encode_batch_fast": lambda: (
                encode_tokens_per_s(tokenizer.encode_batch_fast, texts), 0.0),
            "encode_batch, 1 thread": lambda: (
                encode_tokens_per_s(tokenizer.encode_batch, texts, threads=False), 0.0)}
        for workers in (0, 1, 2):
            cases[f"loader, {workers} workers"] = (
                lambda w=workers: loader_tokens_per_s(corpus, tokenizer, w, tokens))
        cases["trainer fwd+bwd+AdamW"] = lambda: (trainer_tokens_per_s(
            tokenizer.get_vocab_size()), 0.0)
        best: dict[str, tuple[float, float]] = {}
        for _ in range(args.rounds):
            for name, run in cases.items():
                rate, startup = run()
                if name not in best or rate > best[name][0]:
                    best[name] = (rate, startup)
        base, trainer = best["encode_batch"][0], best["trainer fwd+bwd+AdamW"][0]
        single = best["encode_batch, 1 thread"][0]
        print(f"\n{'case':<24}{'tokens/s':>11}{'startup s':>11}{'vs all cores':>14}"
              f"{'vs 1 thread':>13}{'vs trainer':>12}   (load {os.getloadavg()[0]:.1f})")
        for name, (rate, startup) in best.items():
            print(f"{name:<24}{rate:>11,.0f}{startup:>11.2f}{rate / base:>13.0%}"
                  f"{rate / single:>13.0%}{rate / trainer:>11.1f}x")
        print("vs all cores: against encode_batch with the tokenizer's threads; vs 1 thread: "
              "against it on one thread, what one DataLoader worker has")


if __name__ == "__main__":
    main()
