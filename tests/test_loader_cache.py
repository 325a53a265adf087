"""The pre-tokenized cache: its documented layout, dtypes, and refusing stale files."""

from __future__ import annotations

import json
import struct
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from tests.support.training import bpe_tokenizer, char_tokenizer, word_docs, write_shards
from training.data.corpus import find_splits
from training.data.token_cache import CachedTokens, build_cache, choose_dtype
from training.errors import TrainingError
from training.tokenizer.load import EOT


def read_cache_file(path: Path) -> tuple[dict, list[list[int]]]:
    """Parse a .tokens file by its documented layout, independently of the loader."""
    data = path.read_bytes()
    assert data[:8] == b"GRISTTOK"
    version, size = struct.unpack("<II", data[8:16])
    assert version == 1
    header = json.loads(data[16:16 + size])
    start = -(-(16 + size) // 4096) * 4096
    assert not data[16 + size:start].strip(b"\0 ")
    offsets = np.frombuffer(data, np.uint64, header["docs"] + 1, start)
    tokens = np.frombuffer(data, header["dtype"], header["tokens"], start + offsets.nbytes)
    return header, [tokens[a:b].tolist() for a, b in pairwise(offsets)]


def big_tokenizer() -> Tokenizer:
    """70,002 ids: more than uint16 holds."""
    vocab = {EOT: 0, "[UNK]": 1, **{f"w{i}": i + 2 for i in range(70_000)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tokenizer


def test_cache_file_layout_and_content(tmp_path: Path) -> None:
    docs = [*word_docs(30), "", None]
    write_shards(tmp_path / "d", docs, files=2, row_group_size=7)
    split = find_splits(tmp_path / "d", holdout=0).train
    tokenizer = bpe_tokenizer()
    headers = build_cache(split, tokenizer, tmp_path / "cache")
    assert [h["docs"] for h in headers] == [16, 16]
    rows = []
    for shard in split.shards:
        header, tokens = read_cache_file(tmp_path / "cache" / "d" / f"{shard.path.stem}.tokens")
        assert header["dtype"] == "uint16"
        assert header["source"]["row_groups"] == [7, 7, 2]
        assert header["tokenizer"]["vocab_size"] == 1024
        rows += tokens
    assert rows == [tokenizer.encode(d or "", add_special_tokens=False).ids for d in docs]


def test_ids_above_uint16_need_uint32(tmp_path: Path) -> None:
    tokenizer = big_tokenizer()
    assert choose_dtype(tokenizer) == "uint32"
    assert choose_dtype(bpe_tokenizer()) == "uint16"
    with pytest.raises(TrainingError, match="70,002 ids; ids above 65,535 do not fit a uint16 "
                                            "cache: use uint32"):
        choose_dtype(tokenizer, "uint16")
    write_shards(tmp_path / "d", ["w69999 w5 w65534", "w70000"])
    split = find_splits(tmp_path / "d", holdout=0).train
    build_cache(split, tokenizer, tmp_path / "cache")
    header, tokens = read_cache_file(tmp_path / "cache" / "d" / "part-00000.tokens")
    assert header["dtype"] == "uint32"
    assert tokens == [[70001, 7, 65536], [1]]


def test_stale_or_missing_cache_is_refused(tmp_path: Path) -> None:
    write_shards(tmp_path / "d", word_docs(20))
    split = find_splits(tmp_path / "d", holdout=0).train
    with pytest.raises(TrainingError, match=r"part-00000.tokens is missing; rebuild it with "
                                            r"`gristmill tokenizer encode"):
        CachedTokens(split, tmp_path / "cache", char_tokenizer())
    build_cache(split, char_tokenizer(), tmp_path / "cache")
    with pytest.raises(TrainingError, match="was made with another tokenizer"):
        CachedTokens(split, tmp_path / "cache", bpe_tokenizer())
    write_shards(tmp_path / "d", word_docs(21))
    changed = find_splits(tmp_path / "d", holdout=0).train
    with pytest.raises(TrainingError, match=r"is out of date \(.*part-00000.parquet changed"):
        CachedTokens(changed, tmp_path / "cache", char_tokenizer())
    build_cache(changed, char_tokenizer(), tmp_path / "cache")
    reader = CachedTokens(changed, tmp_path / "cache", char_tokenizer())
    (last,) = next(reader.tokens(0, 0, np.array([20])))
    assert last.tolist() == char_tokenizer().encode(word_docs(21)[20]).ids


def test_not_a_cache_file(tmp_path: Path) -> None:
    write_shards(tmp_path / "d", word_docs(3))
    split = find_splits(tmp_path / "d", holdout=0).train
    (tmp_path / "cache" / "d").mkdir(parents=True)
    (tmp_path / "cache" / "d" / "part-00000.tokens").write_bytes(b"something else entirely")
    with pytest.raises(TrainingError, match="is not a gristmill token cache file"):
        CachedTokens(split, tmp_path / "cache", char_tokenizer())
