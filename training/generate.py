"""Text generation with a KV cache: temperature, top-k and top-p (nucleus) sampling.

Past the context length the prompt is cropped to the last `block_size` tokens each step,
as a model without a cache would see it, so cached and uncached generation agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from tokenizers import Tokenizer

from training.model import GPT, KVCache


@torch.no_grad()
def generate(model: GPT, prompt: list[int], max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
             stop: int | None = None) -> Iterator[int]:
    """Yield new token ids one at a time (stops early at `stop`); temperature 0 is greedy."""
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device=device)
    generator.manual_seed(seed if seed is not None else torch.seed())
    block = model.config.block_size
    tokens, cache = list(prompt), None
    for _ in range(max_new_tokens):
        if cache is None or cache.length >= block:  # (re)fill the cache from the window
            cache = KVCache(model.config, 1, device, next(model.parameters()).dtype)
            window = torch.tensor([tokens[-block:]], device=device)
        else:
            window = torch.tensor([[tokens[-1]]], device=device)
        logits, _ = model(window, cache=cache)
        token = pick(logits[0, -1].float(), temperature, top_k, top_p, generator)
        tokens.append(token)
        yield token
        if token == stop:
            return


def pick(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None,
         generator: torch.Generator) -> int:
    """One token id from next-token logits."""
    if temperature <= 0:
        return int(logits.argmax())
    logits = logits / temperature
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.numel())).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        ordered, order = torch.sort(logits, descending=True)
        probs = ordered.softmax(-1)
        outside = probs.cumsum(-1) - probs > top_p  # keep the smallest set reaching top_p
        logits = logits.masked_fill(torch.zeros_like(outside).scatter(0, order, outside),
                                    float("-inf"))
    return int(torch.multinomial(logits.softmax(-1), 1, generator=generator))


def text_pieces(tokenizer: Tokenizer, tokens: Iterable[int]) -> Iterator[str]:
    """The text of a stream of token ids, piece by piece as soon as it is whole characters
    (a multi-byte character can span tokens), for printing while generating."""
    new: list[int] = []
    shown = ""
    for token in tokens:
        new.append(token)
        text = tokenizer.decode(new, skip_special_tokens=False)
        if not text.endswith("\ufffd"):
            yield text[len(shown):]
            shown = text
