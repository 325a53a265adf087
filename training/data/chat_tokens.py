"""Chat conversations (a `messages` column) as token ids for packing, with their loss mask.

A token the model is not trained to predict travels through packing as its bitwise
complement (`~id`, negative), so documents, windows, positions and exact resume work as
for plain text; `inputs_targets` turns a batch of windows back into inputs and targets,
the untrained targets set to `IGNORE`. Conversations are packed like documents, or
padded (`pack: false`): each is followed by untrained end-of-text tokens up to the next
window start, so every window begins with a conversation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tokenizers import Tokenizer

from training.data.corpus import Split
from training.finetune.chat import ChatEncoder, check_messages
from training.model import IGNORE
from training.tokenizer.load import eot_id

MESSAGES = "messages"
CHUNK_ROWS = 1024


class ChatTokens:
    """A `TokenReader` over the `messages` column of a split (see `stream.py`)."""

    def __init__(self, split: Split, tokenizer: Tokenizer, block_size: int, pack: bool = True):
        self.split, self.encoder = split, ChatEncoder(tokenizer)
        self.pad, self.block = ~eot_id(tokenizer), None if pack else block_size

    def tokens(self, shard: int, row_group: int, rows: np.ndarray) -> Iterator[list[np.ndarray]]:
        if not len(rows):
            return
        file = self.split.shards[shard]
        first = sum(file.row_groups[:row_group])  # rows before this row group, for errors
        column = self.split.texts(shard, row_group).take(pa.array(rows))
        for at in range(0, len(rows), CHUNK_ROWS):
            chunk = column.slice(at, CHUNK_ROWS).to_pylist()
            yield [self._ids(messages, f"{file.path}: row {first + row}")
                   for row, messages in zip(rows[at:at + CHUNK_ROWS].tolist(), chunk,
                                            strict=True)]

    def _ids(self, messages: object, where: str) -> np.ndarray:
        ids, trained = self.encoder.encode(check_messages(messages, where))
        ids = np.where(trained, ids, ~ids)
        if self.block:
            ids = np.concatenate([ids, np.full(-(len(ids) + 1) % self.block, self.pad)])
        return ids


def separator(tokenizer: Tokenizer, chat: bool) -> int:
    """The end-of-text id put after each document; untrained between conversations."""
    return ~eot_id(tokenizer) if chat else eot_id(tokenizer)


def inputs_targets(windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows of `block_size + 1` tokens to (inputs, targets), the untrained targets
    `IGNORE` (plain text has none, and comes out as a plain shift)."""
    x, y = windows[:, :-1], windows[:, 1:]
    return (torch.where(x < 0, ~x, x).contiguous(),
            torch.where(y < 0, torch.full_like(y, IGNORE), y).contiguous())


def has_messages(path: str | Path) -> bool:
    """Whether a shard directory holds chat rows: a `messages` column of lists (a curated
    chat output also has `text`, the rendered conversation, which chat training ignores)."""
    root = Path(path)
    folder = root / "train" if (root / "train").is_dir() else root
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))
    schema = pq.read_schema(files[0]) if files else None
    return (schema is not None and MESSAGES in schema.names
            and pa.types.is_list(schema.field(MESSAGES).type))
