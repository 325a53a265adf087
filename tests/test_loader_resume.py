"""The training loader: batches, exact resume across ranks and workers, mixing, the cache."""

from __future__ import annotations

import io
import json
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support.training import bpe_tokenizer, char_tokenizer, word_docs, write_shards
from training.data.loader import DataConfig, Source, TrainLoader
from training.data.parquet_tokens import ParquetTokens
from training.data.stream import DocStream
from training.data.token_cache import build_cache
from training.errors import TrainingError

Batches = list[tuple[torch.Tensor, torch.Tensor]]


def take(loader: TrainLoader, count: int) -> Batches:
    return list(islice(iter(loader), count))


def same(a: Batches, b: Batches) -> bool:
    return len(a) == len(b) and all(torch.equal(x1, x2) and torch.equal(y1, y2)
                                    for (x1, y1), (x2, y2) in zip(a, b, strict=True))


def reload(state: dict) -> dict:
    """Through a checkpoint file, loaded the safe way."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """About 5,000 characters: 8 streams are past their first epoch in 40 batches of 4 x 32."""
    write_shards(tmp_path / "d", word_docs(16), files=2, row_group_size=5)
    return tmp_path / "d"


def config(path: Path, **kwargs) -> DataConfig:
    return DataConfig([str(path)], **{"block_size": 32, "batch_size": 4, "shuffle_windows": 16,
                                      "holdout": 0.0, **kwargs})


def test_batches_are_shifted_long_tensors(corpus: Path) -> None:
    (x, y), = take(TrainLoader(config(corpus), char_tokenizer()), 1)
    assert x.dtype == y.dtype == torch.long
    assert x.shape == y.shape == (4, 32)
    assert torch.equal(x[:, 1:], y[:, :-1])


def test_resume_is_exact_with_two_ranks_and_two_workers(corpus: Path) -> None:
    cfg = config(corpus, num_workers=2)
    tokenizer = char_tokenizer()
    full = {}
    for rank in (0, 1):
        loader = TrainLoader(cfg, tokenizer, rank, world_size=2)
        full[rank] = take(loader, 40)
        assert max(s["sources"][0]["start"][0] for s in loader.state_dict()["streams"]) >= 1
        first = TrainLoader(cfg, tokenizer, rank, world_size=2)
        head = take(first, 17)
        second = TrainLoader(cfg, tokenizer, rank, world_size=2)
        second.load_state_dict(reload(first.state_dict()))
        assert same(head + take(second, 23), full[rank])
    assert not any(torch.equal(a[0], b[0]) for a in full[0] for b in full[1])


@pytest.mark.parametrize("stop", [1, 4, 9, 26])
def test_resume_in_process_at_any_step(corpus: Path, stop: int) -> None:
    cfg = config(corpus)
    full = take(TrainLoader(cfg, char_tokenizer()), 30)
    first = TrainLoader(cfg, char_tokenizer())
    take(first, stop)
    second = TrainLoader(cfg, char_tokenizer())
    second.load_state_dict(json.loads(json.dumps(first.state_dict())))
    assert same(take(second, 30 - stop), full[stop:])


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_batches_do_not_depend_on_the_number_of_workers(corpus: Path) -> None:
    tokenizer = char_tokenizer()
    base = take(TrainLoader(config(corpus), tokenizer), 24)
    for workers in (1, 4):
        assert same(take(TrainLoader(config(corpus, num_workers=workers), tokenizer), 24), base)
    two = TrainLoader(config(corpus, num_workers=2), tokenizer)
    take(two, 11)
    zero = TrainLoader(config(corpus), tokenizer)
    zero.load_state_dict(two.state_dict())
    assert same(take(zero, 13), base[11:])


def test_ranks_and_streams_read_the_documents_of_their_share(corpus: Path) -> None:
    """Rebuild each stream's token sequence from its (unshuffled) windows: it is exactly the
    documents its share of the epoch holds, and the shares cover the corpus once."""
    tokenizer = char_tokenizer()
    cfg = config(corpus, shuffle_windows=0)
    loader = TrainLoader(cfg, tokenizer)
    split, streams, ranks = loader.splits[0], cfg.streams_per_rank, 2
    covered = []
    for rank in range(ranks):
        batches = take(TrainLoader(cfg, tokenizer, rank, ranks), 30 * streams)
        for s in range(streams):
            x = torch.cat([torch.cat([b[0], b[1][:, -1:]], 1) for b in batches[s::streams]])
            sequence = torch.cat([x[0], *(w[1:] for w in x[1:])]).numpy()
            stream = DocStream(split, ParquetTokens(split, tokenizer), 0, rank * streams + s,
                               ranks * streams, cfg.seed, cfg.shuffle)
            share = [t for _, t in stream.docs(epochs=1)]
            expected = np.concatenate(share)
            assert len(sequence) > len(expected)
            assert np.array_equal(sequence[:len(expected)], expected)
            covered += [tokenizer.decode(t[:-1].tolist()) for t in share]
    assert sorted(covered) == sorted(word_docs(16))


def test_state_is_small_and_plain(corpus: Path) -> None:
    loader = TrainLoader(config(corpus), char_tokenizer())
    take(loader, 5)
    state = loader.state_dict()
    assert state["batches"] == 5
    assert len(json.dumps(state)) < 2000
    assert reload(state) == state


@pytest.mark.parametrize(("change", "key"), [
    ({"world_size": 4}, "world_size"), ({"rank": 1}, "rank"), ({"seed": 1}, "seed"),
    ({"block_size": 16}, "block_size"), ({"batch_size": 2}, "batch_size"),
    ({"tokenizer": "bpe"}, "tokenizer"), ({"data": "more"}, "sources"),
    ({"streams_per_rank": 2}, "streams_per_rank")])
def test_resume_refuses_another_setup(corpus: Path, change: dict, key: str) -> None:
    saved = TrainLoader(config(corpus), char_tokenizer(), 0, 2)
    take(saved, 2)
    settings = {"block_size": 32, "batch_size": 4, "seed": 0, "streams_per_rank": 4}
    settings.update({k: v for k, v in change.items() if k in settings})
    if "data" in change:
        write_shards(corpus / "extra", word_docs(3))
        (corpus / "extra" / "part-00000.parquet").rename(corpus / "part-00009.parquet")
    tokenizer = bpe_tokenizer() if "tokenizer" in change else char_tokenizer()
    loader = TrainLoader(config(corpus, **settings), tokenizer, change.get("rank", 0),
                         change.get("world_size", 2))
    with pytest.raises(TrainingError, match=f"does not fit this run: {key} was"):
        loader.load_state_dict(saved.state_dict())


def test_sources_mix_by_weight(tmp_path: Path) -> None:
    write_shards(tmp_path / "a", word_docs(30, letters="abcde"))
    write_shards(tmp_path / "b", word_docs(30, seed=1, letters="vwxyz"))
    cfg = DataConfig([Source(str(tmp_path / "a"), 3.0), {"path": str(tmp_path / "b")}],
                     block_size=16, batch_size=4, holdout=0.0, shuffle_windows=8)
    tokenizer = char_tokenizer()
    loader = TrainLoader(cfg, tokenizer)
    counts = {"a": 0, "b": 0}
    for x, _ in take(loader, 40):
        for row in x:
            letters = set(tokenizer.decode(row.tolist())) - {" "}
            assert letters <= set("abcde") or letters <= set("vwxyz")
            counts["a" if letters <= set("abcde") else "b"] += 1
    assert counts == {"a": 120, "b": 40}
    again = TrainLoader(cfg, tokenizer)
    again.load_state_dict(loader.state_dict())
    assert len(take(again, 3)) == 3


def test_cached_tokens_give_the_same_batches_and_state(corpus: Path, tmp_path: Path) -> None:
    tokenizer = char_tokenizer()
    plain = TrainLoader(config(corpus), tokenizer)
    base = take(plain, 20)
    split = plain.splits[0]
    build_cache(split, tokenizer, tmp_path / "cache")
    cfg = DataConfig([Source(str(corpus), cache=str(tmp_path / "cache"))], block_size=32,
                     batch_size=4, shuffle_windows=16, holdout=0.0, num_workers=2)
    assert same(take(TrainLoader(cfg, tokenizer), 20), base)
    cached = TrainLoader(cfg, tokenizer)
    take(cached, 8)
    resumed = TrainLoader(config(corpus), tokenizer)
    resumed.load_state_dict(cached.state_dict())
    assert same(take(resumed, 12), base[8:])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"num_workers": 3}, r"num_workers \(3\) must divide data.streams_per_rank \(4\)"),
    ({"block_size": 0}, "data.block_size must be at least 1"),
    ({"sources": []}, "no sources"),
    ({"sources": [{"path": "x", "weight": 0}]}, "weight must be > 0"),
    ({"sources": [{"path": "x", "wieght": 2}]}, "may have a weight and a cache; unknown: wieght"),
])
def test_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        DataConfig(**{"sources": ["x"], "block_size": 8, "batch_size": 2, **kwargs})


def test_rank_out_of_range(corpus: Path) -> None:
    with pytest.raises(TrainingError, match=r"rank 2 is not in \[0, world_size=2\)"):
        TrainLoader(config(corpus), char_tokenizer(), 2, 2)


def test_a_worker_error_is_one_line(tmp_path: Path) -> None:
    write_shards(tmp_path / "d", ["a b", *[""] * 7], row_group_size=1)
    loader = TrainLoader(config(tmp_path / "d", num_workers=2), char_tokenizer())
    with pytest.raises(TrainingError) as caught:
        next(iter(loader))
    assert str(caught.value) == (
        f"{tmp_path / 'd'}: stream 0 of 4 got no tokens in a whole epoch: too few non-empty "
        "documents (8 rows) for 4 streams (ranks x streams_per_rank); lower streams_per_rank")
