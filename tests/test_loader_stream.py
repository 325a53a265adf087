"""Streams: every document once per epoch across streams, packing, block shuffle, mixing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from tests.support.training import char_tokenizer, word_docs, write_shards
from training.data.corpus import Split, find_splits
from training.data.mixing import pick
from training.data.packing import ShuffledWindows, initial_state, windows
from training.data.parquet_tokens import ParquetTokens
from training.data.stream import START, DocStream, Position, plan_pieces
from training.errors import TrainingError

EOT = -1


class RowIds:
    """A reader whose 'tokens' name the row: shard * 10**6 + row_group * 10**3 + row."""

    def tokens(self, shard: int, row_group: int, rows: np.ndarray) -> Iterator[list[np.ndarray]]:
        ids = [np.array([shard * 10**6 + row_group * 10**3 + r]) for r in rows]
        for at in range(0, len(ids), 3):
            yield ids[at:at + 3]


def split_of(tmp_path: Path, docs: int, files: int, row_group_size: int,
             holdout: float = 0.0) -> Split:
    write_shards(tmp_path / "d", word_docs(docs), files=files, row_group_size=row_group_size)
    return find_splits(tmp_path / "d", holdout=holdout).train


def all_rows(split: Split) -> list[int]:
    return [s * 10**6 + g * 10**3 + r for s, shard in enumerate(split.shards)
            for g, n in enumerate(shard.row_groups) for r in range(n)]


@pytest.mark.parametrize(("files", "row_group_size", "streams"), [(3, 7, 6), (1, 100, 8),
                                                                   (2, 10, 1)])
def test_streams_read_every_document_once_per_epoch(tmp_path: Path, files: int,
                                                    row_group_size: int, streams: int) -> None:
    split = split_of(tmp_path, 60, files, row_group_size)
    seen: dict[int, list[int]] = {0: [], 1: []}
    for index in range(streams):
        stream = DocStream(split, RowIds(), EOT, index, streams, seed=3, shuffle=True)
        for position, tokens in stream.docs(epochs=2):
            assert tokens[-1] == EOT and position.token == 0
            seen[position.epoch].append(int(tokens[0]))
    assert sorted(seen[0]) == sorted(seen[1]) == all_rows(split)
    assert seen[0] != seen[1]  # a new order each epoch


def test_pieces_cover_row_groups_when_streams_outnumber_them(tmp_path: Path) -> None:
    split = split_of(tmp_path, 10, 1, 100)
    pieces = plan_pieces(split, 4)
    assert [(p.start, p.stop) for p in pieces] == [(0, 2), (2, 5), (5, 7), (7, 10)]


def test_order_depends_on_seed_only(tmp_path: Path) -> None:
    split = split_of(tmp_path, 40, 2, 5)

    def order(seed: int) -> list[int]:
        docs = DocStream(split, RowIds(), EOT, 1, 3, seed=seed, shuffle=True).docs(epochs=1)
        return [int(t[0]) for _, t in docs]

    assert order(1) == order(1) != order(2)
    unshuffled = DocStream(split, RowIds(), EOT, 0, 1).docs(epochs=1)
    assert [int(t[0]) for _, t in unshuffled] == all_rows(split)


def test_restart_at_any_position(tmp_path: Path) -> None:
    split = split_of(tmp_path, 30, 2, 4)
    stream = DocStream(split, ParquetTokens(split, char_tokenizer()), 0, 1, 2, seed=5,
                       shuffle=True)
    full = list(islice(stream.docs(), 80))
    flat = np.concatenate([t for _, t in full])
    for k in range(0, 80, 7):
        position, tokens = full[k]
        before = sum(len(t) for _, t in full[:k])
        for cut in (0, len(tokens) // 2):
            again = np.concatenate([t for _, t in islice(stream.docs(position._replace(
                token=cut)), min(10, 80 - k))])
            assert np.array_equal(again, flat[before + cut:before + cut + len(again)])
            assert len(again) == sum(len(t) for _, t in full[k:k + 10]) - cut


def test_held_out_documents_never_appear_in_training_streams(tmp_path: Path) -> None:
    write_shards(tmp_path / "d", word_docs(300), files=2, row_group_size=40)
    train, validation = find_splits(tmp_path / "d", holdout=0.2)
    tokenizer = char_tokenizer()

    def docs(split: Split, index: int, count: int) -> list[str]:
        stream = DocStream(split, ParquetTokens(split, tokenizer), 0, index, count, 1, True)
        return [tokenizer.decode(t[:-1].tolist()) for _, t in stream.docs(epochs=1)]

    trained = [d for i in range(3) for d in docs(train, i, 3)]
    held = docs(validation, 0, 1)
    assert sorted(trained + held) == sorted(word_docs(300))
    assert not set(trained) & set(held)


def test_a_stream_without_tokens_is_an_error(tmp_path: Path) -> None:
    write_shards(tmp_path / "d", ["", None, ""])
    split = find_splits(tmp_path / "d", holdout=0).train
    stream = DocStream(split, ParquetTokens(split, char_tokenizer()), 0, 0, 2)
    with pytest.raises(TrainingError, match="stream 0 of 2 got no tokens in a whole epoch"):
        next(stream.docs())


def numbered_docs(lengths: list[int]) -> Iterator[tuple[Position, np.ndarray]]:
    """Documents whose tokens count up from 0 across the whole stream."""
    at = 0
    for i, n in enumerate(lengths):
        yield Position(0, 0, i, 0), np.arange(at, at + n)
        at += n


@pytest.mark.parametrize("block_size", [1, 4, 16])
def test_windows_overlap_by_one_token_and_know_their_position(block_size: int) -> None:
    lengths = [1, 3, 40, 2, 2, 17, 5, 1, 64, 9]
    out = list(windows(numbered_docs(lengths), block_size))
    assert len(out) == (sum(lengths) - 1) // block_size
    starts = np.cumsum([0, *lengths])
    for i, (position, window) in enumerate(out):
        assert window.tolist() == list(range(i * block_size, i * block_size + block_size + 1))
        assert starts[position.row] + position.token == i * block_size
        assert 0 <= position.token < lengths[position.row]


class Numbers:
    """A DocStream stand-in: endless documents of 5 tokens counting up from 0."""

    key, index = 0, 0

    def docs(self, start: Position = START) -> Iterator[tuple[Position, np.ndarray]]:
        row = start.row
        while True:
            tokens = np.arange(row * 5, row * 5 + 5)[start.token if row == start.row else 0:]
            yield Position(0, 0, row, start.token if row == start.row else 0), tokens
            row += 1


def test_block_shuffle_permutes_blocks_and_resumes_anywhere() -> None:
    shuffled = ShuffledWindows(Numbers(), 4, 8, seed=0)
    run = list(islice(shuffled.run(initial_state()), 40))
    firsts = [int(w[0]) for w, _ in run]
    for block in range(5):
        assert sorted(firsts[block * 8:(block + 1) * 8]) == list(range(block * 32,
                                                                      (block + 1) * 32, 4))
    assert firsts[:8] != sorted(firsts[:8])
    for i in (0, 3, 7, 8, 21):
        again = list(islice(shuffled.run(run[i][1]), 10))
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(again, run[i + 1:i + 11],
                                                              strict=True))


def test_no_shuffle_keeps_order() -> None:
    run = list(islice(ShuffledWindows(Numbers(), 4, 0, seed=0).run(initial_state()), 6))
    assert [int(w[0]) for w, _ in run] == [0, 4, 8, 12, 16, 20]


def test_mixing_follows_the_shares_at_every_step() -> None:
    shares, credits = [0.5, 0.3, 0.2], [0.0, 0.0, 0.0]
    counts: Counter[int] = Counter()
    for n in range(1, 1001):
        counts[pick(credits, shares)] += 1
        assert all(abs(counts[i] - share * n) < 1 for i, share in enumerate(shares))
    assert counts == {0: 500, 1: 300, 2: 200}
