"""Train a tokenizer on a stream of texts: byte-level BPE (default) or characters.

BPE follows GPT-4 (cl100k) pre-tokenization: text is first split by the regex below
(contractions, letters, numbers of up to 3 digits, punctuation, whitespace), then each piece
is spelled in the 256 byte symbols, so every string is encodable and merges never cross a
word boundary. Special tokens get the first ids, `<|endoftext|>` being id 0.
The character tokenizer (one id per character seen, plus `<|unk|>`) is for small
char-level experiments such as the nanoGPT shakespeare baseline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from training.errors import TrainingError
from training.tokenizer.load import EOT

GPT4_SPLIT = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}|"""
              r""" ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+""")
UNK = "<|unk|>"


def special_tokens(extra: Sequence[str]) -> list[str]:
    """`<|endoftext|>` first, then the extra ones in order, without repeats."""
    return list(dict.fromkeys([EOT, *extra]))


def train_bpe(batches: Iterable[list[str]], vocab_size: int, extra_special: Sequence[str] = (),
              show_progress: bool = False) -> Tokenizer:
    """A byte-level BPE tokenizer with at most `vocab_size` ids (specials included)."""
    specials = special_tokens(extra_special)
    smallest = 256 + len(specials)
    if vocab_size < smallest:
        raise TrainingError(f"vocab size {vocab_size} is too small: byte-level BPE needs 256 "
                            f"byte tokens + {len(specials)} special, so at least {smallest}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(GPT4_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=show_progress)
    tokenizer.train_from_iterator(batches, trainer)
    return tokenizer


def train_chars(batches: Iterable[list[str]], extra_special: Sequence[str] = ()) -> Tokenizer:
    """One id per distinct character (sorted), after the special tokens and `<|unk|>`."""
    specials = special_tokens([*extra_special, UNK])
    counts: Counter[str] = Counter()
    for texts in batches:
        for text in texts:
            counts.update(text)
    chars = sorted(set(counts) - set(specials))
    vocab = {token: i for i, token in enumerate([*specials, *chars])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tokenizer.decoder = decoders.Fuse()
    tokenizer.add_special_tokens(specials)
    return tokenizer
