"""Pre-tokenized cache: the token ids of each Parquet file in one memory-mapped file.

Runs that read the data for many epochs tokenize once (`gristmill tokenizer encode`). The
cache holds every row of a file in file order, so the loader reads the same documents at the
same positions as when it tokenizes on the fly: batches, state and resume are identical.

One file per Parquet file, `<cache>/<folder>/<stem>.tokens`:

    bytes 0-7    magic b"GRISTTOK"
    bytes 8-11   format version, uint32 little-endian (1)
    bytes 12-15  n, the length of the UTF-8 JSON header that follows: dtype, docs, tokens,
                 tokenizer fingerprint, source file bytes and rows per row group
    16 + n       zeros up to a multiple of 4096 bytes (the data start)
    data start   uint64 offsets[docs + 1]: row i is tokens[offsets[i]:offsets[i + 1]]
    then         the tokens, uint16 (vocabularies up to 65,536) or uint32
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from gristmill.atomic import atomic_path
from training.data.corpus import Shard, Split
from training.data.parquet_tokens import ParquetTokens
from training.errors import TrainingError
from training.tokenizer.load import fingerprint

MAGIC = b"GRISTTOK"
VERSION = 1
ALIGN = 4096
DOCS_PER_CHUNK = 4096
DTYPES = {"uint16": np.uint16, "uint32": np.uint32}


def cache_file(cache_dir: Path, shard: Shard) -> Path:
    return Path(cache_dir) / shard.path.parent.name / f"{shard.path.stem}.tokens"


def choose_dtype(tokenizer: Tokenizer, dtype: str = "auto") -> str:
    """uint16 when every id fits (vocab <= 65,536), else uint32; refuse a uint16 that doesn't."""
    vocab = tokenizer.get_vocab_size()
    if dtype == "auto":
        return "uint16" if vocab <= 1 << 16 else "uint32"
    if dtype not in DTYPES:
        raise TrainingError(f"cache dtype must be auto, uint16 or uint32, not {dtype!r}")
    if dtype == "uint16" and vocab > 1 << 16:
        raise TrainingError(f"the tokenizer has {vocab:,} ids; ids above 65,535 do not fit a "
                            "uint16 cache: use uint32 (or auto)")
    return dtype


def build_cache(split: Split, tokenizer: Tokenizer, cache_dir: str | Path,
                dtype: str = "auto") -> list[dict[str, Any]]:
    """Write the cache file of every file of the split (one already up to date is kept);
    returns their headers."""
    dtype = choose_dtype(tokenizer, dtype)
    reader = ParquetTokens(split, tokenizer)
    headers = []
    for i, shard in enumerate(split.shards):
        path = cache_file(Path(cache_dir), shard)
        header = _read_header(path)
        if header is None or _problem(header, shard, tokenizer) or header["dtype"] != dtype:
            header = _write(path, reader, i, shard, tokenizer, dtype)
        headers.append(header)
    return headers


def _data_dir(shard: Path) -> Path:
    """The directory `--data` takes for a shard: a curated output for its split folders."""
    return shard.parent.parent if shard.parent.name in ("train", "validation") else shard.parent


class CachedTokens:
    """A `TokenReader` over a split's cache files (checked against the split and tokenizer)."""

    def __init__(self, split: Split, cache_dir: str | Path, tokenizer: Tokenizer):
        self.paths = []
        for shard in split.shards:
            path = cache_file(Path(cache_dir), shard)
            header = _read_header(path)
            problem = "is missing" if header is None else _problem(header, shard, tokenizer)
            if problem:
                raise TrainingError(f"token cache {path} {problem}; rebuild it with `gristmill "
                                    f"tokenizer encode --data {_data_dir(shard.path)} "
                                    f"--tokenizer TOKENIZER --out {cache_dir}` (TOKENIZER: "
                                    "the config's data.tokenizer)")
            self.paths.append((path, header))
        self.row_group_starts = [np.cumsum((0, *shard.row_groups)) for shard in split.shards]
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def tokens(self, shard: int, row_group: int, rows: np.ndarray) -> Iterator[list[np.ndarray]]:
        offsets, tokens = self._map(shard)
        docs = rows + self.row_group_starts[shard][row_group]
        for at in range(0, len(docs), DOCS_PER_CHUNK):
            yield [tokens[offsets[d]:offsets[d + 1]] for d in docs[at:at + DOCS_PER_CHUNK]]

    def _map(self, shard: int) -> tuple[np.ndarray, np.ndarray]:
        if shard not in self._maps:
            path, header = self.paths[shard]
            start = header["data_start"]
            offsets = np.memmap(path, np.uint64, "r", start, (header["docs"] + 1,))
            tokens = np.memmap(path, DTYPES[header["dtype"]], "r", start + offsets.nbytes,
                               (header["tokens"],))
            self._maps[shard] = (offsets, tokens)
        return self._maps[shard]

    def __getstate__(self) -> dict[str, Any]:
        """Worker processes map the files themselves (a pickled memmap would be a copy)."""
        return {**self.__dict__, "_maps": {}}


def _write(path: Path, reader: ParquetTokens, index: int, shard: Shard, tokenizer: Tokenizer,
           dtype: str) -> dict[str, Any]:
    offsets = np.zeros(shard.rows + 1, dtype=np.uint64)
    header = {"dtype": dtype, "docs": shard.rows, "tokens": 2**64 - 1,
              "tokenizer": fingerprint(tokenizer), "source": _source(shard)}
    size = len(json.dumps(header))  # the real count has no more digits than this one
    start = _data_start(size)
    count = row = 0
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        out.seek(start + offsets.nbytes)
        for g, rows in enumerate(shard.row_groups):
            for chunk in reader.tokens(index, g, np.arange(rows)):
                for ids in chunk:
                    out.write(ids.astype(DTYPES[dtype]).tobytes())
                    count += len(ids)
                    row += 1
                    offsets[row] = count
        header["tokens"] = count
        text = json.dumps(header).encode().ljust(size)
        out.seek(0)
        out.write(MAGIC + struct.pack("<II", VERSION, size) + text)
        out.seek(start)
        out.write(offsets.tobytes())
    return {**header, "data_start": start}


def _read_header(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
            if len(head) < 16 or head[:8] != MAGIC:
                raise TrainingError(f"{path} is not a gristmill token cache file")
            version, size = struct.unpack("<II", head[8:])
            if version != VERSION:
                raise TrainingError(f"{path} has cache format {version}; this gristmill "
                                    f"reads {VERSION}")
            header = json.loads(handle.read(size))
    except FileNotFoundError:
        return None
    return {**header, "data_start": _data_start(size)}


def _data_start(header_size: int) -> int:
    return -(-(16 + header_size) // ALIGN) * ALIGN


def _source(shard: Shard) -> dict[str, Any]:
    return {"file": shard.path.name, "bytes": shard.path.stat().st_size,
            "row_groups": list(shard.row_groups)}


def _problem(header: dict[str, Any], shard: Shard, tokenizer: Tokenizer) -> str | None:
    if header["tokenizer"] != fingerprint(tokenizer):
        return "was made with another tokenizer"
    if header["source"] != _source(shard):
        return f"is out of date ({shard.path} changed since)"
    return None
