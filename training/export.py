"""Export a checkpoint to a Hugging Face `transformers` directory (`AutoModelForCausalLM`).

GPT-2-shaped models (learned positions, LayerNorm, GELU, biases, tied embeddings) become
GPT2LMHeadModel; Llama-shaped ones (rotary positions, RMSNorm, SwiGLU, no biases) become
LlamaForCausalLM. The weights are renamed (and GPT-2's Conv1D ones transposed), not
converted, so the exported model gives the same logits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from training.checkpoint import Checkpoint
from training.errors import TrainingError
from training.finetune.chat import CHAT_TEMPLATE, END, is_chat
from training.model import GPT, GPTConfig
from training.tokenizer.load import EOT, load_tokenizer

GPT2_SHAPE = {"positions": "learned", "norm": "layernorm", "mlp": "gelu", "bias": True,
              "tie_embeddings": True, "n_kv_head": None}
LLAMA_SHAPE = {"positions": "rope", "norm": "rmsnorm", "mlp": "swiglu", "bias": False}
NO_EQUIVALENT = {"qk_norm": "QK-norm", "logit_softcap": "a logit soft-cap"}


def export(ckpt: Checkpoint, out: Path) -> str:
    """Write config, safetensors weights and tokenizer to `out`; returns the architecture."""
    try:
        import transformers
    except ImportError:
        raise TrainingError("export needs transformers: pip install 'gristmill[export]'"
                            ) from None
    config, model = ckpt.model_config, ckpt.load_model()
    _check_equivalent(ckpt)
    words = load_tokenizer(ckpt.path / "tokenizer.json")
    eot = words.token_to_id(EOT)
    if _matches(config, GPT2_SHAPE):
        hf_config = transformers.GPT2Config(**_gpt2_config(config), bos_token_id=eot,
                                            eos_token_id=eot)
        hf = transformers.GPT2LMHeadModel(hf_config)
        weights = gpt2_weights(model)
    elif _matches(config, LLAMA_SHAPE):
        hf_config = transformers.LlamaConfig(**_llama_config(config), bos_token_id=eot,
                                             eos_token_id=eot)
        hf = transformers.LlamaForCausalLM(hf_config)
        weights = llama_weights(model)
    else:
        raise TrainingError(f"{ckpt.path}: no transformers architecture has this model's "
                            f"shape; GPT-2 needs {GPT2_SHAPE}, Llama needs {LLAMA_SHAPE}")
    missing, unexpected = hf.load_state_dict(weights, strict=False)
    missing = [k for k in missing if k != "lm_head.weight" or not config.tie_embeddings]
    if missing or unexpected:
        raise TrainingError(f"export mapping is incomplete: missing {missing[:3]}, "
                            f"unexpected {unexpected[:3]}")
    if is_chat(words):  # a reply ends at the end of its turn
        hf.generation_config.eos_token_id = [eot, words.token_to_id(END)]
    hf.save_pretrained(out, safe_serialization=True)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_file=str(ckpt.path / "tokenizer.json"), bos_token=EOT, eos_token=EOT)
    if is_chat(words):
        tokenizer.chat_template = CHAT_TEMPLATE  # apply_chat_template gives training's ids
    tokenizer.save_pretrained(out)
    return type(hf).__name__


def _check_equivalent(ckpt: Checkpoint) -> None:
    """Options GPT-2 and Llama lack would be dropped silently: other logits, no error."""
    for key, what in NO_EQUIVALENT.items():
        value = getattr(ckpt.model_config, key)
        if value:
            raise TrainingError(f"{ckpt.path}: model.{key}={value} ({what}) has no "
                                "equivalent in transformers' GPT-2 or Llama, so the export "
                                "would give other logits; gristmill sample and eval use the "
                                f"checkpoint as it is, or train with model.{key} off to export")


def _matches(config: GPTConfig, shape: dict[str, Any]) -> bool:
    return all(getattr(config, key) == value for key, value in shape.items())


def _gpt2_config(c: GPTConfig) -> dict[str, Any]:
    return {"vocab_size": c.vocab_size, "n_positions": c.block_size, "n_embd": c.n_embd,
            "n_layer": c.n_layer, "n_head": c.n_head, "n_inner": c.hidden,
            "activation_function": "gelu_new", "layer_norm_epsilon": c.norm_eps,
            "resid_pdrop": c.dropout, "embd_pdrop": c.dropout, "attn_pdrop": c.dropout,
            "tie_word_embeddings": True}


def _llama_config(c: GPTConfig) -> dict[str, Any]:
    return {"vocab_size": c.vocab_size, "hidden_size": c.n_embd,
            "intermediate_size": c.hidden, "num_hidden_layers": c.n_layer,
            "num_attention_heads": c.n_head, "num_key_value_heads": c.kv_heads,
            "max_position_embeddings": c.block_size, "rms_norm_eps": c.norm_eps,
            "rope_theta": c.rope_theta, "tie_word_embeddings": c.tie_embeddings,
            "attention_bias": False, "mlp_bias": False, "hidden_act": "silu"}


def gpt2_weights(model: GPT) -> dict[str, torch.Tensor]:
    """Our names to GPT2LMHeadModel's; its Conv1D layers store (in, out), hence `.t()`."""
    out = {"transformer.wte.weight": model.wte.weight, "transformer.wpe.weight":
           model.wpe.weight, "transformer.ln_f.weight": model.norm_f.weight,
           "transformer.ln_f.bias": model.norm_f.bias}
    for i, b in enumerate(model.blocks):
        h = f"transformer.h.{i}"
        pairs = {"ln_1": b.norm1, "ln_2": b.norm2}
        for name, norm in pairs.items():
            out[f"{h}.{name}.weight"], out[f"{h}.{name}.bias"] = norm.weight, norm.bias
        linears = {"attn.c_attn": b.attn.qkv, "attn.c_proj": b.attn.proj,
                   "mlp.c_fc": b.mlp.fc, "mlp.c_proj": b.mlp.proj}
        for name, linear in linears.items():
            out[f"{h}.{name}.weight"] = linear.weight.t().contiguous()
            out[f"{h}.{name}.bias"] = linear.bias
    return {k: v.detach().clone() for k, v in out.items()}


def llama_weights(model: GPT) -> dict[str, torch.Tensor]:
    """Our names to LlamaForCausalLM's; the fused qkv and gate|up matrices are split."""
    out = {"model.embed_tokens.weight": model.wte.weight, "model.norm.weight":
           model.norm_f.weight, "lm_head.weight": model.lm_head.weight}
    for i, b in enumerate(model.blocks):
        h = f"model.layers.{i}"
        kv = model.config.kv_heads * model.config.head_size
        q, k, v = b.attn.qkv.weight.split([model.config.n_embd, kv, kv], dim=0)
        gate, up = b.mlp.fc.weight.chunk(2, dim=0)
        out |= {f"{h}.self_attn.q_proj.weight": q, f"{h}.self_attn.k_proj.weight": k,
                f"{h}.self_attn.v_proj.weight": v, f"{h}.self_attn.o_proj.weight":
                b.attn.proj.weight, f"{h}.mlp.gate_proj.weight": gate,
                f"{h}.mlp.up_proj.weight": up, f"{h}.mlp.down_proj.weight": b.mlp.proj.weight,
                f"{h}.input_layernorm.weight": b.norm1.weight,
                f"{h}.post_attention_layernorm.weight": b.norm2.weight}
    return {k: v.detach().contiguous().clone() for k, v in out.items()}
