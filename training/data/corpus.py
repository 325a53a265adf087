"""Which documents a run trains and validates on: Parquet files, split and checked.

Any directory of Parquet files with a string `text` column is a corpus. A curated output
(`train/`, `validation/`, `_manifest.json`) gives both splits; a directory without a
`validation/` folder holds out a fraction of its documents by a hash of their `id` (of the
text when there is no `id` column), so the held-out documents are the same on every run,
machine and worker count, and are never trained on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gristmill.hashing import hash64
from gristmill.shards import Verify, check_files
from training.errors import TrainingError

TEXT_BATCH_CHARS = 1 << 20


@dataclass(frozen=True)
class Shard:
    """One Parquet file and the number of rows in each of its row groups."""

    path: Path
    row_groups: tuple[int, ...]

    @property
    def rows(self) -> int:
        return sum(self.row_groups)


@dataclass(frozen=True)
class Split:
    """The documents of one split: some Parquet files, minus or only a held-out fraction."""

    name: str
    shards: tuple[Shard, ...]
    text_column: str = "text"
    holdout: float = 0.0
    heldout: bool = False

    @property
    def rows(self) -> int:
        """Rows in the files (held-out filtering happens while reading)."""
        return sum(shard.rows for shard in self.shards)

    def texts(self, shard: int, row_group: int) -> pa.Array:
        """The text column of one row group (null for a missing text)."""
        return self._read(shard, row_group, self.text_column)

    def kept(self, shard: int, row_group: int) -> np.ndarray | None:
        """Which rows of a row group belong to this split; None when all of them do."""
        if not self.holdout:
            return None
        names = pq.read_schema(self.shards[shard].path).names
        keys = self._read(shard, row_group, "id" if "id" in names else self.text_column)
        limit = int(self.holdout * 2**64)
        held = np.fromiter((hash64(key or "") < limit for key in keys.to_pylist()), dtype=bool,
                           count=len(keys))
        return held if self.heldout else ~held

    def _read(self, shard: int, row_group: int, column: str) -> pa.Array:
        table = pq.ParquetFile(self.shards[shard].path).read_row_group(row_group, [column])
        return table.column(0).combine_chunks()


class Splits(NamedTuple):
    train: Split
    validation: Split | None


def find_splits(path: str | Path, holdout: float = 0.01, verify: Verify = "auto",
                text_column: str = "text") -> Splits:
    """Train and validation splits of a shard directory, checked against its manifest.

    `path` is a curated output (with `train/`), a split folder, or any folder of Parquet
    files. Without a `validation/` folder, `holdout` of the documents (0 for none) become
    the validation split.
    """
    root = Path(path)
    if not root.is_dir():
        raise TrainingError(f"{root}: no such directory")
    if not 0 <= holdout < 1:
        raise TrainingError(f"holdout must be in [0, 1), not {holdout}")
    train_dir = root / "train" if (root / "train").is_dir() else root
    val_dir = train_dir.parent / "validation" if train_dir.name == "train" else None
    train = _split(train_dir, text_column, verify)
    if train is None:
        raise TrainingError(f"{root}: no Parquet files (expected *.parquet or train/*.parquet)")
    if train.rows == 0:
        raise TrainingError(f"{train.name}: the corpus is empty (0 documents in "
                            f"{len(train.shards)} files)")
    validation = _split(val_dir, text_column, verify) if val_dir and val_dir.is_dir() else None
    if validation is None and holdout:
        validation = Split(train.name, train.shards, text_column, holdout, heldout=True)
        train = Split(train.name, train.shards, text_column, holdout, heldout=False)
    return Splits(train, validation)


def iter_texts(split: Split, max_doc_chars: int | None = None) -> Iterator[list[str]]:
    """The split's non-empty texts in file order, each cut to `max_doc_chars`, in lists of
    about 1 MB (the unit `train_from_iterator` and `encode_batch` work well with)."""
    for i, shard in enumerate(split.shards):
        for g in range(len(shard.row_groups)):
            texts = split.texts(i, g)
            kept = split.kept(i, g)
            if kept is not None:
                texts = texts.filter(pa.array(kept))
            batch: list[str] = []
            size = 0
            for text in texts.to_pylist():
                if text:
                    batch.append(text[:max_doc_chars])
                    size += len(batch[-1])
                if size >= TEXT_BATCH_CHARS:
                    yield batch
                    batch, size = [], 0
            if batch:
                yield batch


def take_chars(batches: Iterable[list[str]], max_chars: int | None) -> Iterator[list[str]]:
    """The batches until `max_chars` characters in all (None: all of them)."""
    left = max_chars
    for batch in batches:
        if left is None:
            yield batch
            continue
        kept = []
        for text in batch:
            if left <= 0:
                break
            kept.append(text[:left])
            left -= len(kept[-1])
        if kept:
            yield kept
        if left <= 0:
            return


def _split(folder: Path, text_column: str, verify: Verify) -> Split | None:
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))
    if not files:
        return None
    shards = []
    for file in files:
        try:
            meta = pq.read_metadata(file)
        except (OSError, pa.ArrowException) as err:
            raise TrainingError(f"{file}: not a readable Parquet file ({err})") from None
        schema = meta.schema.to_arrow_schema()
        if text_column not in schema.names:
            raise TrainingError(f"{file} has no {text_column!r} column (columns: "
                                f"{', '.join(schema.names)}); training reads the documents "
                                f"from a string column named {text_column!r}")
        kind = schema.field(text_column).type
        chat = pa.types.is_list(kind) or pa.types.is_large_list(kind)  # chat messages
        if str(kind) not in ("string", "large_string", "string_view") and not chat:
            raise TrainingError(f"{file}: column {text_column!r} is {kind}, not a string "
                                "(text) or a list (chat messages)")
        shards.append(Shard(file, tuple(meta.row_group(g).num_rows
                                        for g in range(meta.num_row_groups))))
    check_files(folder, {s.path: s.rows for s in shards}, verify)
    return Split(str(folder), tuple(shards), text_column)
