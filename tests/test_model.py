"""The GPT: shapes, causality, initialization, parameter and FLOP counts, KV-cache generation."""

from __future__ import annotations

import math

import pytest
import torch

from training.generate import generate, pick
from training.model import GPT, GPTConfig

VARIANTS = {
    "gpt2": {},
    "llama": {"positions": "rope", "norm": "rmsnorm", "mlp": "swiglu", "bias": False},
    "relu2-untied": {"mlp": "relu2", "tie_embeddings": False, "positions": "rope"},
}


def model(seed: int = 0, **kwargs) -> GPT:
    torch.manual_seed(seed)
    config = {"vocab_size": 97, "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 32,
              **kwargs}
    return GPT(GPTConfig(**config)).eval()


def tokens(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, 97, shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("variant", VARIANTS)
def test_loss_at_init_is_near_uniform_and_logits_have_vocab_width(variant: str) -> None:
    m = model(**VARIANTS[variant])
    logits, loss = m(tokens(3, 16), tokens(3, 16, seed=2))
    assert logits.shape == (3, 16, 97)
    assert abs(loss.item() - math.log(97)) < 0.15  # small init: nearly uniform predictions


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_position_never_sees_later_tokens(variant: str) -> None:
    m = model(**VARIANTS[variant])
    x = tokens(1, 16)
    changed = x.clone()
    changed[0, 10:] = (changed[0, 10:] + 1) % 97
    a, b = m(x)[0], m(changed)[0]
    torch.testing.assert_close(a[0, :10], b[0, :10])
    assert not torch.allclose(a[0, 10:], b[0, 10:])


def test_embeddings_are_tied_and_counted_once() -> None:
    m = model()
    assert m.lm_head.weight is m.wte.weight
    unique = {id(p): p.numel() for p in m.parameters()}
    assert m.num_params() == sum(unique.values())
    untied = model(tie_embeddings=False)
    assert untied.num_params() == m.num_params() + 97 * 32


def test_residual_projections_start_smaller() -> None:
    m = model(n_layer=8, n_embd=256, n_head=4, vocab_size=512)
    qkv, proj = m.blocks[0].attn.qkv.weight, m.blocks[0].attn.proj.weight
    assert abs(qkv.std().item() - 0.02) < 0.002
    assert abs(proj.std().item() - 0.02 / math.sqrt(16)) < 0.001
    assert m.blocks[0].attn.qkv.bias.abs().sum() == 0


def test_flops_per_token_is_6n_plus_attention() -> None:
    m = model()
    params = m.num_params() - 16 * 32  # no position embeddings
    assert m.flops_per_token() == 6 * params + 12 * 2 * 32 * 16


def test_swiglu_costs_what_gelu_costs() -> None:
    gelu, swiglu = model(), model(mlp="swiglu")
    assert abs(gelu.num_params() - swiglu.num_params()) / gelu.num_params() < 0.02


def test_gradient_checkpointing_gives_the_same_gradients() -> None:
    grads = []
    for flag in (False, True):
        m = model().train()
        m.gradient_checkpointing = flag
        m(tokens(2, 16), tokens(2, 16, seed=3))[1].backward()
        grads.append([p.grad.clone() for p in m.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPTConfig(vocab_size=10, n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="exceed block_size"):
        model()(tokens(1, 17))


def greedy_without_cache(m: GPT, prompt: list[int], count: int) -> list[int]:
    out = list(prompt)
    for _ in range(count):
        logits, _ = m(torch.tensor([out[-m.config.block_size:]]))
        out.append(int(logits[0, -1].argmax()))
    return out[len(prompt):]


@pytest.mark.parametrize("variant", VARIANTS)
def test_cached_generation_equals_full_recomputation_past_the_context(variant: str) -> None:
    m = model(**VARIANTS[variant])
    prompt = tokens(1, 5)[0].tolist()
    cached = list(generate(m, prompt, 30, temperature=0))  # 35 tokens > block_size 16
    assert cached == greedy_without_cache(m, prompt, 30)


def test_sampling_is_reproducible_with_a_seed_and_stops_at_the_stop_token() -> None:
    m = model()
    a = list(generate(m, [1, 2], 20, temperature=1.0, seed=7))
    assert a == list(generate(m, [1, 2], 20, temperature=1.0, seed=7))
    assert a != list(generate(m, [1, 2], 20, temperature=1.0, seed=8))
    stopped = list(generate(m, [1, 2], 20, temperature=1.0, seed=7, stop=a[3]))
    assert stopped == a[:a.index(a[3]) + 1]


def test_top_k_and_top_p_keep_only_the_likely_tokens() -> None:
    logits = torch.tensor([0.0, 3.0, 2.9, -1.0, 1.0])
    gen = torch.Generator().manual_seed(0)
    assert {pick(logits, 1.0, 2, None, gen) for _ in range(200)} == {1, 2}
    assert {pick(logits, 1.0, None, 0.01, gen) for _ in range(50)} == {1}
    probs = logits.softmax(-1)
    assert probs[1] + probs[2] < 0.95 < probs[1] + probs[2] + probs[4]  # the third is needed
    assert {pick(logits, 1.0, None, 0.95, gen) for _ in range(500)} == {1, 2, 4}
    assert pick(logits, 0.0, None, None, gen) == 1
