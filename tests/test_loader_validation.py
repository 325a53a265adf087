"""The validation set: fixed, the first tokens of the split, split evenly over ranks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support.training import char_tokenizer, curated, word_docs, write_shards
from training.data.corpus import find_splits, iter_texts
from training.data.loader import DataConfig
from training.data.token_cache import build_cache
from training.data.validation import ValidationSet, validation_sets
from training.errors import TrainingError
from training.tokenizer.load import EOT


def stream_tokens(docs: list[str]) -> np.ndarray:
    tokenizer = char_tokenizer()
    return np.concatenate([[*tokenizer.encode(d).ids, 0] for d in docs if d])


def test_windows_are_the_split_in_order(tmp_path: Path) -> None:
    validation = word_docs(20, seed=1)
    root = curated(tmp_path / "run", word_docs(50), validation)
    split = find_splits(root).validation
    whole = ValidationSet(split, char_tokenizer(), block_size=16)
    tokens = stream_tokens(validation)
    assert whole.windows.shape == ((len(tokens) - 1) // 16, 17)
    for i in (0, 1, len(whole.windows) - 1):
        assert np.array_equal(whole.windows[i].numpy(), tokens[i * 16:i * 16 + 17])
    assert whole.tokens == whole.windows.shape[0] * 16


def test_ranks_get_equal_disjoint_parts_and_the_same_every_time(tmp_path: Path) -> None:
    root = curated(tmp_path / "run", word_docs(50), word_docs(40, seed=1))
    split = find_splits(root).validation
    whole = ValidationSet(split, char_tokenizer(), 16)
    parts = [ValidationSet(split, char_tokenizer(), 16, rank=r, world_size=3) for r in range(3)]
    per_rank = len(whole.windows) // 3
    assert [len(p.windows) for p in parts] == [per_rank] * 3
    assert torch.equal(torch.cat([p.windows for p in parts]), whole.windows[:3 * per_rank])
    again = ValidationSet(split, char_tokenizer(), 16, rank=1, world_size=3)
    assert torch.equal(again.windows, parts[1].windows)


def test_max_tokens_and_batches(tmp_path: Path) -> None:
    root = curated(tmp_path / "run", word_docs(10), word_docs(40, seed=1))
    small = ValidationSet(find_splits(root).validation, char_tokenizer(), 8, max_tokens=100)
    assert small.windows.shape == (13, 9)
    batches = list(small.batches(5))
    assert [len(x) for x, _ in batches] == [5, 5, 3]
    x, y = batches[0]
    assert torch.equal(x, small.windows[:5, :-1]) and torch.equal(y, small.windows[:5, 1:])


def test_too_small_for_the_ranks(tmp_path: Path) -> None:
    root = curated(tmp_path / "run", word_docs(10), ["a b c"])
    with pytest.raises(TrainingError, match="has 0 windows of 17 tokens, fewer than the 2 "
                                            "ranks"):
        ValidationSet(find_splits(root).validation, char_tokenizer(), 16, world_size=2)


def test_validation_sets_per_source_hold_out_and_use_the_cache(tmp_path: Path) -> None:
    curated(tmp_path / "run", word_docs(30), word_docs(30, seed=1))
    write_shards(tmp_path / "flat", word_docs(400, seed=2))
    write_shards(tmp_path / "none", word_docs(30, seed=3))
    tokenizer = char_tokenizer()
    build_cache(find_splits(tmp_path / "run").validation, tokenizer, tmp_path / "cache")
    config = DataConfig([{"path": str(tmp_path / "run"), "cache": str(tmp_path / "cache")},
                         str(tmp_path / "flat")], block_size=8, batch_size=2, holdout=0.1)
    sets = validation_sets(config, tokenizer)
    assert list(sets) == [str(tmp_path / "run"), str(tmp_path / "flat")]
    uncached = ValidationSet(find_splits(tmp_path / "run").validation, tokenizer, 8)
    assert torch.equal(sets[str(tmp_path / "run")].windows, uncached.windows)
    windows = sets[str(tmp_path / "flat")].windows
    sequence = torch.cat([windows[0], *(w[1:] for w in windows[1:])]).tolist()
    docs = tokenizer.decode(sequence, skip_special_tokens=False).split(EOT)[:-1]
    held = find_splits(tmp_path / "flat", holdout=0.1).validation
    assert len(docs) > 10
    assert set(docs) <= {t for batch in iter_texts(held) for t in batch}
    config = DataConfig([str(tmp_path / "none")], block_size=8, batch_size=2, holdout=0.0)
    assert validation_sets(config, tokenizer) == {}
