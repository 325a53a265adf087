"""Documents to training windows: packing without padding, then a seeded block shuffle.

The documents' tokens (each followed by end-of-text) are concatenated and cut into windows
of `block_size + 1` tokens, window `i` starting at token `i * block_size`: inputs are the
first `block_size` tokens, targets the last, so every token is a target exactly once and
no token is padding. Each window carries the `Position` of its first token, which is all it
takes to rebuild the stream from there.

Consecutive windows of one long document are alike, so windows are shuffled in blocks:
`shuffle_windows` consecutive windows are emitted in a seeded order that depends only on
the block's number. The state (where the block starts, its number, how many of its windows
were taken) is three numbers, not the buffered tokens; resuming re-reads one block.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import numpy as np

from training.data.stream import DocStream, Position


def windows(docs: Iterable[tuple[Position, np.ndarray]], block_size: int
            ) -> Iterator[tuple[Position, np.ndarray]]:
    """Windows of `block_size + 1` tokens that overlap by one token, with their positions."""
    buffer = np.empty(0, dtype=np.int64)
    starts: list[int] = []
    positions: list[Position] = []
    for position, tokens in docs:
        starts.append(len(buffer))
        positions.append(position)
        buffer = np.concatenate([buffer, tokens])
        count = (len(buffer) - 1) // block_size
        if not count:
            continue
        for at in range(0, count * block_size, block_size):
            d = bisect_right(starts, at) - 1
            first = positions[d]
            yield (first._replace(token=first.token + at - starts[d]),
                   buffer[at:at + block_size + 1])
        cut = count * block_size
        buffer = buffer[cut:]
        d = bisect_right(starts, cut) - 1
        starts = [s - cut for s in starts[d:]]
        positions = positions[d:]


def initial_state() -> dict[str, Any]:
    return {"start": list(Position()), "block": 0, "taken": 0}


class ShuffledWindows:
    """The windows of one `DocStream`, block-shuffled (`shuffle_windows` <= 1: in order)."""

    def __init__(self, docs: DocStream, block_size: int, shuffle_windows: int, seed: int):
        self.docs, self.block_size, self.size, self.seed = docs, block_size, shuffle_windows, seed

    def run(self, state: dict[str, Any]) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
        """Each window, with the state from which the run would continue after it."""
        size = max(self.size, 1)
        start, block, taken = Position(*state["start"]), state["block"], state["taken"]
        source = windows(self.docs.docs(start), self.block_size)
        while True:
            got = list(islice(source, size))
            start = got[0][0]
            order = (np.random.default_rng([self.seed, self.docs.key, self.docs.index, block])
                     .permutation(size) if size > 1 else [0])
            for i in order[taken:]:
                taken += 1
                yield got[i][1], {"start": list(start), "block": block, "taken": taken}
            block, taken = block + 1, 0
