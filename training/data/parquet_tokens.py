"""Token ids of documents read from Parquet and tokenized on the fly, in batched calls."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tokenizers import Tokenizer

from training.data.corpus import Split
from training.tokenizer.load import encode

CHUNK_BYTES = 1 << 18


class ParquetTokens:
    """Reads a row group's texts and encodes them about 256 KB at a time: large enough for
    `encode_batch` to use every core, small enough to keep memory flat for long books."""

    def __init__(self, split: Split, tokenizer: Tokenizer):
        self.split, self.tokenizer = split, tokenizer

    def tokens(self, shard: int, row_group: int, rows: np.ndarray) -> Iterator[list[np.ndarray]]:
        if not len(rows):
            return
        texts = self.split.texts(shard, row_group).take(pa.array(rows))
        ends = np.cumsum(pc.fill_null(pc.binary_length(texts), 0).to_numpy())
        start = 0
        while start < len(rows):
            base = ends[start - 1] if start else 0
            stop = max(start + 1, int(np.searchsorted(ends, base + CHUNK_BYTES, "right")))
            batch = texts.slice(start, stop - start).to_pylist()
            yield encode(self.tokenizer, [text or "" for text in batch])
            start = stop
