"""The training batches of one rank: several sources mixed, several streams, exact resume.

Each rank runs `streams_per_rank` independent streams (see `stream.py`); batch `j` of a rank
comes from its stream `j % streams_per_rank`, whole (B windows of one stream). DataLoader
workers only decide which process computes which streams, so the batches are the same for
0, 1, 2 or 4 workers (any number that divides `streams_per_rank`), and the state of a rank is
the state of its streams plus the number of batches taken. Every batch travels with the
state its stream has after it, so the state is exact however far workers prefetch.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from gristmill.errors import UserError
from gristmill.shards import Verify
from training.data.chat_tokens import ChatTokens, inputs_targets, separator
from training.data.corpus import Split, find_splits
from training.data.mixing import pick
from training.data.packing import ShuffledWindows, initial_state
from training.data.parquet_tokens import ParquetTokens
from training.data.stream import DocStream, TokenReader
from training.data.token_cache import CachedTokens
from training.errors import TrainingError
from training.tokenizer.load import fingerprint

STATE_FORMAT = 1


@dataclass(frozen=True)
class Source:
    """A shard directory, its share of the mix (relative to the other weights), and
    optionally its token cache (`gristmill tokenizer encode`)."""

    path: str
    weight: float = 1.0
    cache: str | None = None


@dataclass(frozen=True)
class DataConfig:
    """What the loader reads and how; `sources` also takes paths or dicts (from YAML)."""

    sources: Sequence[Source | str | dict[str, Any]]
    block_size: int
    batch_size: int
    seed: int = 0
    shuffle: bool = True
    shuffle_windows: int = 256
    num_workers: int = 0
    streams_per_rank: int = 4
    holdout: float = 0.01
    verify: Verify = "auto"
    text_column: str = "text"
    chat: bool = False  # text_column holds conversations (see chat_tokens.py)
    pack: bool = True  # chat: conversations packed, or each padded to start a window
    resolved: tuple[Source, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        sources = tuple(_source(s) for s in self.sources)
        object.__setattr__(self, "resolved", sources)
        if not sources:
            raise TrainingError("data: no sources; give at least one shard directory")
        for name in ("block_size", "batch_size", "streams_per_rank"):
            if getattr(self, name) < 1:
                raise TrainingError(f"data.{name} must be at least 1, not {getattr(self, name)}")
        if self.num_workers < 0 or self.shuffle_windows < 0:
            raise TrainingError("data.num_workers and data.shuffle_windows must be >= 0")
        if self.streams_per_rank % max(self.num_workers, 1):
            raise TrainingError(f"data.num_workers ({self.num_workers}) must divide "
                                f"data.streams_per_rank ({self.streams_per_rank})")
        if any(s.weight <= 0 for s in sources):
            raise TrainingError("data: every source weight must be > 0")
        if self.chat and any(s.cache for s in sources):
            raise TrainingError("data: a token cache holds plain text's ids; chat data is "
                                "tokenized on the fly, so drop the sources' cache")


class TrainLoader:
    """Endless `(x, y)` LongTensor batches of shape (batch_size, block_size) for one rank,
    y being x shifted by one token; `state_dict()` after any batch resumes right after it.

    Each rank saves its own state. Resuming needs the same sources (files unchanged),
    tokenizer, world size and loader settings except `num_workers`; anything else is refused.
    Call `load_state_dict` before `iter()`.
    """

    def __init__(self, config: DataConfig, tokenizer: Tokenizer, rank: int = 0,
                 world_size: int = 1, pin_memory: bool = False):
        if not 0 <= rank < world_size:
            raise TrainingError(f"rank {rank} is not in [0, world_size={world_size})")
        self.config, self.tokenizer = config, tokenizer
        self.rank, self.world_size, self.pin_memory = rank, world_size, pin_memory
        self.splits = [find_splits(s.path, config.holdout, config.verify,
                                   config.text_column).train for s in config.resolved]
        self.readers: list[TokenReader] = [
            CachedTokens(split, s.cache, tokenizer) if s.cache else
            ChatTokens(split, tokenizer, config.block_size, config.pack) if config.chat else
            ParquetTokens(split, tokenizer)
            for split, s in zip(self.splits, config.resolved, strict=True)]
        self._streams = [_initial(len(self.splits)) for _ in range(config.streams_per_rank)]
        self._batches = 0
        self._tokenizer_sha = fingerprint(tokenizer)["sha256"]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        workers = self.config.num_workers
        dataset = _Batches(self, list(self._streams), self._batches)
        # Its own generator: creating the iterator must not draw from the global RNG, or
        # a resumed run's dropout masks would differ from an uninterrupted run's.
        loader = DataLoader(dataset, batch_size=None, num_workers=workers,
                            pin_memory=self.pin_memory, generator=torch.Generator())
        with _one_thread_per_worker(workers > 0):
            batches = iter(loader)
        try:
            for stream, x, y, state in batches:
                self._streams[stream] = state
                self._batches += 1
                yield x, y
        except UserError as err:  # from a worker, torch puts its traceback in the message
            kind = type(err)
            raise kind(str(err).strip().splitlines()[-1].split(f"{kind.__name__}: ")[-1]
                       ) from None

    def state_dict(self) -> dict[str, Any]:
        """Small, JSON- and `torch.load(weights_only=True)`-safe: ints, floats, strings."""
        return {**self._settings(), "batches": self._batches,
                "streams": json.loads(json.dumps(self._streams))}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, now in self._settings().items():
            if state.get(key) != now:
                raise TrainingError(
                    f"the data loader state does not fit this run: {key} was "
                    f"{state.get(key)!r}, now {now!r}; exact resume needs the same data, "
                    "tokenizer, world size and loader settings (num_workers may change)")
        self._streams = [dict(s) for s in state["streams"]]
        self._batches = state["batches"]

    def _settings(self) -> dict[str, Any]:
        c = self.config
        return {"format": STATE_FORMAT, "rank": self.rank, "world_size": self.world_size,
                "streams_per_rank": c.streams_per_rank, "block_size": c.block_size,
                "batch_size": c.batch_size, "seed": c.seed, "shuffle": c.shuffle,
                "shuffle_windows": c.shuffle_windows,
                "tokenizer": self._tokenizer_sha,
                **({"chat": {"pack": c.pack}} if c.chat else {}),
                "sources": [{"path": s.path, "weight": s.weight, "data": _identity(split)}
                            for s, split in zip(c.resolved, self.splits, strict=True)]}


class _Batches(IterableDataset):
    """The streams of one rank, as computed in one process (the main one, or a worker)."""

    def __init__(self, loader: TrainLoader, states: list[dict[str, Any]], taken: int):
        self.config, self.splits, self.readers = loader.config, loader.splits, loader.readers
        self.eot = separator(loader.tokenizer, loader.config.chat)
        self.rank, self.world_size = loader.rank, loader.world_size
        self.states, self.taken = states, taken

    def __iter__(self) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, dict[str, Any]]]:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        count = self.config.streams_per_rank
        # The DataLoader takes batch j from worker j % workers, so this worker serves the
        # streams that batches taken + worker, taken + worker + workers, ... need.
        mine = [(self.taken + worker + i * workers) % count for i in range(count // workers)]
        runs = {s: self._run(s) for s in mine}
        while True:
            for s in mine:
                x, y, state = next(runs[s])
                yield s, x, y, state

    def _run(self, stream: int) -> Iterator[tuple[torch.Tensor, torch.Tensor, dict[str, Any]]]:
        c = self.config
        index, count = self.rank * c.streams_per_rank + stream, self.world_size * c.streams_per_rank
        shuffle_windows = c.shuffle_windows if c.shuffle else 0
        pairs = enumerate(zip(self.splits, self.readers, strict=True))
        sources = [ShuffledWindows(DocStream(split, reader, self.eot, index, count, c.seed,
                                             c.shuffle, key), c.block_size, shuffle_windows,
                                   c.seed)
                   for key, (split, reader) in pairs]
        state = self.states[stream]
        runs = [source.run(s) for source, s in zip(sources, state["sources"], strict=True)]
        positions, credits = list(state["sources"]), list(state["credits"])
        total = sum(s.weight for s in c.resolved)
        shares = [s.weight / total for s in c.resolved]
        while True:
            rows = np.empty((c.batch_size, c.block_size + 1), dtype=np.int64)
            for row in rows:
                j = pick(credits, shares)
                row[:], positions[j] = next(runs[j])
            yield (*inputs_targets(torch.from_numpy(rows)),
                   {"sources": list(positions), "credits": list(credits)})


def _source(item: Source | str | dict[str, Any]) -> Source:
    if isinstance(item, Source):
        return item
    if not isinstance(item, dict):
        return Source(str(item))
    unknown = set(item) - {"path", "weight", "cache"}
    if unknown or "path" not in item:
        raise TrainingError(f"data.sources: {item!r} needs a path and may have a weight and a "
                            f"cache; unknown: {', '.join(sorted(unknown)) or 'none'}")
    return Source(**item)


def _initial(sources: int) -> dict[str, Any]:
    return {"sources": [initial_state() for _ in range(sources)], "credits": [0.0] * sources}


def _identity(split: Split) -> str:
    """Changes when the files, their row groups or the held-out fraction change."""
    files = [[s.path.name, list(s.row_groups)] for s in split.shards]
    text = json.dumps([files, split.holdout, split.text_column])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextmanager
def _one_thread_per_worker(active: bool) -> Iterator[None]:
    """Workers are the parallelism, so each tokenizes on one thread. The variable must be
    set when they fork (`tokenizers` reads it then, and warns if the parent used threads);
    the parent keeps its own setting."""
    old = os.environ.get("TOKENIZERS_PARALLELISM")
    if active:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        yield
    finally:
        if active:
            if old is None:
                del os.environ["TOKENIZERS_PARALLELISM"]
            else:
                os.environ["TOKENIZERS_PARALLELISM"] = old
