"""Tokenizer training, loading, fingerprints and byte accounting."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, models

from tests.support.training import bpe_tokenizer, char_tokenizer, shakespeare_docs
from training.errors import TrainingError
from training.tokenizer.load import (
    EOT,
    check_tokenizer,
    compression,
    encode,
    fingerprint,
    load_tokenizer,
    token_bytes,
)
from training.tokenizer.train import UNK, train_bpe, train_chars

SAMPLES = ["First Citizen:\nBefore we proceed any further, hear me speak.",
           "naïve café, 東京 and emoji 🚀 — “quotes” \t tabs\r\n",
           "Numbers 1234567 and 3.14159; ALL CAPS; don't we'll I'M",
           " leading and trailing spaces  ", ""]


def test_bpe_has_the_vocab_size_and_eot_first() -> None:
    tokenizer = bpe_tokenizer()
    assert tokenizer.get_vocab_size() == 1024
    assert tokenizer.token_to_id(EOT) == 0


@pytest.mark.parametrize("text", SAMPLES)
def test_bpe_round_trips_any_text(text: str) -> None:
    tokenizer = bpe_tokenizer()
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    assert tokenizer.decode(ids) == text
    assert EOT not in tokenizer.decode(ids, skip_special_tokens=False)


def test_bpe_splits_like_gpt4() -> None:
    """Merges never cross the pre-tokenizer's pieces: digits in groups of at most 3,
    contractions apart from their word, no token mixing letters and digits."""
    tokenizer = train_bpe([["12345678 " * 50, "don't stop " * 50, "abc123 " * 50]], 300)
    pieces = tokenizer.encode("12345678 don't abc123", add_special_tokens=False).tokens
    assert all(len(p) <= 3 for p in pieces if p.isdigit())
    assert "'t" in pieces
    assert not any(re.search(r"[a-z]", p) and re.search(r"\d", p) for p in pieces)


def test_extra_special_tokens_are_never_split() -> None:
    tokenizer = train_bpe([list(shakespeare_docs()[:200])], 400, ["<|pad|>", EOT, "<|user|>"])
    assert [tokenizer.token_to_id(t) for t in (EOT, "<|pad|>", "<|user|>")] == [0, 1, 2]
    ids = tokenizer.encode("hi<|user|>there", add_special_tokens=False).ids
    assert 2 in ids


def test_vocab_too_small_is_refused() -> None:
    with pytest.raises(TrainingError, match="at least 258"):
        train_bpe([["abc"]], 100, ["<|pad|>"])


def test_char_tokenizer_round_trips_and_marks_unknown_chars() -> None:
    tokenizer = char_tokenizer()
    text = "First Citizen:\nYou are all resolved rather to die than to famish?"
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    assert len(ids) == len(text)
    assert tokenizer.decode(ids) == text
    vocab = {c for d in shakespeare_docs() for c in d}
    assert tokenizer.get_vocab_size() == len(vocab) + 2
    assert tokenizer.encode("€", add_special_tokens=False).ids == [tokenizer.token_to_id(UNK)]


@pytest.mark.parametrize("make", [bpe_tokenizer, char_tokenizer])
def test_token_bytes_add_up_to_the_utf8_size(make) -> None:
    tokenizer = make()
    sizes = token_bytes(tokenizer)
    assert sizes[tokenizer.token_to_id(EOT)] == 0
    for text in [SAMPLES[0], shakespeare_docs()[5]]:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        assert sizes[ids].sum() == len(text.encode())


def test_bpe_token_bytes_count_multibyte_characters() -> None:
    tokenizer = bpe_tokenizer()
    text = SAMPLES[1]
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    assert token_bytes(tokenizer)[ids].sum() == len(text.encode()) > len(text)


def test_encode_matches_single_encodes() -> None:
    tokenizer = bpe_tokenizer()
    arrays = encode(tokenizer, SAMPLES)
    for text, ids in zip(SAMPLES, arrays, strict=True):
        assert ids.dtype == np.int32
        assert ids.tolist() == tokenizer.encode(text, add_special_tokens=False).ids


def test_compression_counts_bytes_and_tokens() -> None:
    tokenizer = bpe_tokenizer()
    docs = list(shakespeare_docs()[3000:3400])
    c = compression(tokenizer, [docs[:200], docs[200:]])
    tokens = sum(len(tokenizer.encode(d, add_special_tokens=False).ids) for d in docs)
    assert (c.docs, c.bytes, c.tokens) == (400, sum(len(d.encode()) for d in docs), tokens)
    # A 1,024-id BPE on English verse: well above 1 byte/token, below GPT-2's ~4.
    assert 2.0 < c.bytes_per_token < 4.0


def test_saved_file_loads_with_the_same_fingerprint(tmp_path: Path) -> None:
    tokenizer = bpe_tokenizer()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    assert fingerprint(loaded) == fingerprint(tokenizer)
    assert fingerprint(tokenizer)["vocab_size"] == 1024
    check_tokenizer(loaded, fingerprint(tokenizer), model_vocab_size=1024)


def test_check_tokenizer_names_the_mismatch() -> None:
    saved = fingerprint(bpe_tokenizer())
    with pytest.raises(TrainingError, match=r"vocab 1024.*but this tokenizer has vocab 67,"):
        check_tokenizer(char_tokenizer(), saved)
    other = train_bpe([list(shakespeare_docs()[:500])], 1024)
    with pytest.raises(TrainingError, match="tokenizer mismatch"):
        check_tokenizer(other, saved)
    with pytest.raises(TrainingError, match="model has 1000 embeddings"):
        check_tokenizer(bpe_tokenizer(), saved, model_vocab_size=1000)


def test_load_tokenizer_errors(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no such tokenizer file"):
        load_tokenizer(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(TrainingError, match="not a tokenizers JSON file"):
        load_tokenizer(tmp_path / "bad.json")
    plain = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    plain.save(str(tmp_path / "plain.json"))
    with pytest.raises(TrainingError, match=r"has no <\|endoftext\|> token"):
        load_tokenizer(tmp_path / "plain.json")


def test_char_tokenizer_specials_come_first() -> None:
    tokenizer = train_chars([["ba", "c"]], ["<|pad|>"])
    assert tokenizer.get_vocab() == {EOT: 0, "<|pad|>": 1, UNK: 2, "a": 3, "b": 4, "c": 5}


def test_transformers_loads_the_file(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    bpe_tokenizer().save(str(tmp_path / "tokenizer.json"))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "tokenizer.json"),
                                                eos_token=EOT)
    text = SAMPLES[1]
    assert fast(text)["input_ids"] == bpe_tokenizer().encode(text).ids
    assert fast.decode(fast(text)["input_ids"]) == text
    assert fast.eos_token_id == 0
