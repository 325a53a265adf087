"""One stream's share of a split: an endless, resumable sequence of documents' tokens.

A split is cut into pieces (row ranges of Parquet row groups; a row group is cut into
several pieces only when there are fewer row groups than streams). In each epoch the pieces
are put in a seeded order and stream `i` of `n` takes pieces `i, i+n, i+2n, ...`, so the
streams of all ranks and workers read every document of the epoch exactly once. Inside a
row group the rows are read in a seeded order too. Every document is addressed by a
`Position`, so the stream can restart at any token of any document without a buffer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from training.data.corpus import Split
from training.errors import TrainingError


class Position(NamedTuple):
    """A token of the stream: epoch, piece (index in the stream's list for that epoch),
    row (index in the piece's reading order) and token (offset in that document)."""

    epoch: int = 0
    piece: int = 0
    row: int = 0
    token: int = 0


START = Position()


@dataclass(frozen=True)
class Piece:
    shard: int
    row_group: int
    start: int
    stop: int


class TokenReader(Protocol):
    def tokens(self, shard: int, row_group: int, rows: np.ndarray) -> Iterator[list[np.ndarray]]:
        """Token ids of the given rows of a row group, in that order, in chunks."""
        ...


def plan_pieces(split: Split, streams: int) -> list[Piece]:
    """Every row group, cut into as many equal row ranges as it takes to have >= streams."""
    groups = [(s, g, n) for s, shard in enumerate(split.shards)
              for g, n in enumerate(shard.row_groups)]
    parts = -(-streams // max(len(groups), 1))
    return [Piece(s, g, p * n // parts, (p + 1) * n // parts)
            for s, g, n in groups for p in range(parts)]


class DocStream:
    """Documents of stream `index` of `count` over a split, each followed by end-of-text."""

    def __init__(self, split: Split, reader: TokenReader, eot: int, index: int = 0,
                 count: int = 1, seed: int = 0, shuffle: bool = False, key: int = 0):
        self.split, self.reader, self.eot = split, reader, eot
        self.index, self.count, self.seed, self.shuffle, self.key = (
            index, count, seed, shuffle, key)
        self.pieces = plan_pieces(split, count)

    def epoch_pieces(self, epoch: int) -> list[Piece]:
        """This stream's pieces in epoch `epoch` (the same order in every process)."""
        order = (self._rng(epoch).permutation(len(self.pieces)) if self.shuffle
                 else range(len(self.pieces)))
        return [self.pieces[i] for i in order[self.index::self.count]]

    def rows(self, epoch: int, piece: Piece) -> np.ndarray:
        """Row numbers (in the row group) of a piece, in reading order."""
        n = self.split.shards[piece.shard].row_groups[piece.row_group]
        order = (self._rng(epoch, piece.shard, piece.row_group).permutation(n) if self.shuffle
                 else np.arange(n))
        return order[piece.start:piece.stop]

    def docs(self, start: Position = START, epochs: int | None = None
             ) -> Iterator[tuple[Position, np.ndarray]]:
        """(position of the first token, tokens) of each non-empty document from `start`,
        the first one cut at `start.token`; endless unless `epochs` is given."""
        epoch, first_piece, first_row, skip = start
        while epochs is None or epoch < epochs:
            whole_epoch = first_piece == first_row == skip == 0
            found = False
            pieces = self.epoch_pieces(epoch)
            for p in range(first_piece, len(pieces)):
                piece = pieces[p]
                rows = self.rows(epoch, piece)
                index = np.arange(first_row, len(rows))
                kept = self.split.kept(piece.shard, piece.row_group)
                if kept is not None:
                    index = index[kept[rows[index]]]
                done = 0
                for chunk in self.reader.tokens(piece.shard, piece.row_group, rows[index]):
                    for row, ids in zip(index[done:done + len(chunk)].tolist(), chunk,
                                        strict=True):
                        if len(ids):
                            found = True
                            yield (Position(epoch, p, row, skip),
                                   np.append(ids, self.eot)[skip:].astype(np.int64))
                        skip = 0
                    done += len(chunk)
                first_row = 0
            if whole_epoch and not found:
                raise TrainingError(
                    f"{self.split.name}: stream {self.index} of {self.count} got no tokens in "
                    f"a whole epoch: too few non-empty documents ({self.split.rows} rows) for "
                    f"{self.count} streams (ranks x streams_per_rank); lower streams_per_rank")
            epoch, first_piece = epoch + 1, 0

    def _rng(self, *keys: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.key, *keys])
