"""A fixed validation set: the first tokens of the validation split, split over ranks.

Its documents are read in file order without shuffling and packed like training windows,
so the same data, tokenizer and block size give the same windows on every run: validation
losses of different runs (and of a resumed run) are comparable. It is small enough to hold
in memory (`max_tokens`, 1M by default), and each rank gets an equal, disjoint part, so
every rank runs the same number of batches.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from tokenizers import Tokenizer

from training.data.chat_tokens import ChatTokens, inputs_targets, separator
from training.data.corpus import Split, find_splits
from training.data.loader import DataConfig
from training.data.packing import windows
from training.data.parquet_tokens import ParquetTokens
from training.data.stream import DocStream, TokenReader
from training.data.token_cache import CachedTokens
from training.errors import TrainingError


class ValidationSet:
    """This rank's validation windows, `(count, block_size + 1)` int64."""

    def __init__(self, split: Split, tokenizer: Tokenizer, block_size: int,
                 max_tokens: int = 1 << 20, rank: int = 0, world_size: int = 1,
                 reader: TokenReader | None = None):
        reader = reader or ParquetTokens(split, tokenizer)
        chat = isinstance(reader, ChatTokens)
        docs = DocStream(split, reader, separator(tokenizer, chat)).docs(epochs=1)
        found = []
        for _, window in windows(docs, block_size):
            if len(found) * block_size >= max_tokens:
                break
            found.append(window)
        per_rank = len(found) // world_size
        if per_rank == 0:
            raise TrainingError(f"{split.name}: the validation split has {len(found)} windows "
                                f"of {block_size + 1} tokens, fewer than the {world_size} "
                                "ranks; give it more documents or lower the block size")
        self.name = split.name
        self.windows = torch.from_numpy(np.stack(found[rank * per_rank:(rank + 1) * per_rank]))

    @property
    def tokens(self) -> int:
        """Trained target tokens on this rank."""
        return int((inputs_targets(self.windows)[1] >= 0).sum())

    def batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """`(x, y)` batches in a fixed order; the last one may be smaller."""
        for at in range(0, len(self.windows), batch_size):
            yield inputs_targets(self.windows[at:at + batch_size])


def source_labels(paths: list[str]) -> dict[str, str]:
    """Short, unique names for metrics: each source's last path component ("runs/web/" ->
    "web"), or its whole path when two sources share that name."""
    names = {path: path.rstrip("/").rsplit("/", 1)[-1] or path for path in paths}
    clash = {name for name in names.values() if list(names.values()).count(name) > 1}
    return {path: path if name in clash else name for path, name in names.items()}


def validation_sets(config: DataConfig, tokenizer: Tokenizer, max_tokens: int = 1 << 20,
                    rank: int = 0, world_size: int = 1) -> dict[str, ValidationSet]:
    """One validation set per source that has a validation split (its folder, or the
    held-out fraction), keyed by the source path."""
    sets = {}
    for source in config.resolved:
        split = find_splits(source.path, config.holdout, config.verify,
                            config.text_column).validation
        if split is None:
            continue
        reader = (CachedTokens(split, source.cache, tokenizer) if source.cache else
                  ChatTokens(split, tokenizer, config.block_size, config.pack) if config.chat
                  else None)
        sets[source.path] = ValidationSet(split, tokenizer, config.block_size, max_tokens,
                                          rank, world_size, reader)
    return sets
