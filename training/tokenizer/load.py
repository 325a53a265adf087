"""Load a `tokenizer.json`, fingerprint it, and turn texts into token ids.

The fingerprint (sha256 of the tokenizer's canonical JSON, vocab size, end-of-text id) is
stored in checkpoints and token caches, so a model is never fed ids from another tokenizer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer, decoders

from training.errors import TrainingError

EOT = "<|endoftext|>"


def load_tokenizer(path: str | Path) -> Tokenizer:
    """A tokenizer file that has the end-of-text token, or a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: no such tokenizer file (make one with "
                            "`gristmill tokenizer train`)")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as err:  # tokenizers raises plain Exception for a malformed file
        raise TrainingError(f"{path}: not a tokenizers JSON file ({err})") from None
    if tokenizer.token_to_id(EOT) is None:
        raise TrainingError(f"{path} has no {EOT} token, which training puts between "
                            "documents; train one with `gristmill tokenizer train`")
    return tokenizer


def eot_id(tokenizer: Tokenizer) -> int:
    return tokenizer.token_to_id(EOT)


def fingerprint(tokenizer: Tokenizer) -> dict[str, Any]:
    """What a checkpoint or cache records about its tokenizer (JSON-safe, small)."""
    return {"sha256": hashlib.sha256(tokenizer.to_str().encode()).hexdigest(),
            "vocab_size": tokenizer.get_vocab_size(), "eot_id": eot_id(tokenizer)}


def check_tokenizer(tokenizer: Tokenizer, saved: dict[str, Any],
                    model_vocab_size: int | None = None) -> None:
    """Refuse a tokenizer other than the one `saved` (a `fingerprint`) was made with, and a
    model whose embedding has fewer rows than the tokenizer has ids."""
    now = fingerprint(tokenizer)
    if now != saved:
        raise TrainingError(
            f"tokenizer mismatch: the checkpoint was made with vocab {saved.get('vocab_size')}, "
            f"{EOT}={saved.get('eot_id')}, sha256 {str(saved.get('sha256'))[:12]}, but this "
            f"tokenizer has vocab {now['vocab_size']}, {EOT}={now['eot_id']}, sha256 "
            f"{now['sha256'][:12]}; use the tokenizer.json it was made with")
    if model_vocab_size is not None and model_vocab_size < now["vocab_size"]:
        raise TrainingError(f"the model has {model_vocab_size} embeddings but the tokenizer has "
                            f"{now['vocab_size']} ids; set the model's vocab_size to at least "
                            f"{now['vocab_size']}")


def encode(tokenizer: Tokenizer, texts: Sequence[str]) -> list[np.ndarray]:
    """Token ids of each text (no special tokens added), one batched call, int32 arrays."""
    return [np.array(e.ids, dtype=np.int32)
            for e in tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)]


def token_bytes(tokenizer: Tokenizer) -> np.ndarray:
    """UTF-8 bytes of text each id stands for (0 for special tokens), to turn a loss in
    nats per token into bits per byte, which does not depend on the vocabulary."""
    vocab = tokenizer.get_vocab()
    sizes = np.zeros(tokenizer.get_vocab_size(), dtype=np.int32)
    byte_level = isinstance(tokenizer.decoder, decoders.ByteLevel)
    special = {t.content for t in tokenizer.get_added_tokens_decoder().values() if t.special}
    for token, i in vocab.items():
        if token not in special:
            # A byte-level token spells each byte as one character.
            sizes[i] = len(token) if byte_level else len(token.encode())
    return sizes


@dataclass(frozen=True)
class Compression:
    docs: int
    bytes: int
    tokens: int

    @property
    def bytes_per_token(self) -> float:
        return self.bytes / max(self.tokens, 1)


def compression(tokenizer: Tokenizer, batches: Iterable[list[str]]) -> Compression:
    """UTF-8 bytes per token over some texts (higher: fewer tokens for the same text)."""
    docs = size = tokens = 0
    for texts in batches:
        docs += len(texts)
        size += sum(len(t.encode()) for t in texts)
        tokens += sum(len(ids) for ids in encode(tokenizer, texts))
    return Compression(docs, size, tokens)
