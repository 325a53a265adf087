"""Import a local Hugging Face `transformers` directory as a gristmill checkpoint.

The GPT-2 family (gpt2, distilgpt2) and the Llama family (Llama, SmolLM, TinyLlama: grouped-
query attention, untied heads, any rope theta and RMSNorm eps) map onto `GPT` by renaming
weights (GPT-2's Conv1D ones transposed, Llama's q/k/v and gate/up concatenated), so the
imported model gives the same logits. The tokenizer is copied with its end-of-sequence token
renamed to gristmill's end of text (`<|endoftext|>`, same id), which training puts between
documents; nothing is downloaded.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer

from training import checkpoint
from training.errors import TrainingError
from training.model import GPT, GPTConfig
from training.tokenizer.load import EOT, check_tokenizer, fingerprint

Weights = dict[str, torch.Tensor]
SUPPORTED = {"gpt2": "GPT-2 (gpt2, distilgpt2)",
             "llama": "Llama (Llama 2/3, SmolLM, TinyLlama)"}


def import_hf(source: Path, out: Path, block_size: int | None = None) -> checkpoint.Checkpoint:
    """Write `source` as checkpoint step 0 under `out` (a run-like directory that `sample`,
    `export`, `chat` and `--init-from` accept); returns it."""
    config = _json(source, "config.json")
    kind = config.get("model_type")
    if kind not in SUPPORTED:
        raise TrainingError(f"{source / 'config.json'}: model_type {kind!r} "
                            f"({', '.join(config.get('architectures') or [])}) cannot be "
                            f"imported; supported: {'; '.join(SUPPORTED.values())}")
    if not (source / "tokenizer.json").is_file():
        raise TrainingError(f"{source}: no tokenizer.json (the fast tokenizer file; save it "
                            "with AutoTokenizer.from_pretrained(...).save_pretrained(DIR))")
    build: Callable[[dict[str, Any], Weights], tuple[GPTConfig, Weights]] = (
        _gpt2 if kind == "gpt2" else _llama)
    model_config, state = build(config, _weights(source))
    if block_size:
        model_config = GPTConfig(**{**model_config.to_dict(), "block_size": block_size})
    model = GPT(model_config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k != "lm_head.weight" or not model_config.tie_embeddings]
    if missing or unexpected:
        raise TrainingError(f"{source}: weights do not fit a {kind} model of this config "
                            f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    tokenizer = end_of_text_tokenizer(source)
    check_tokenizer(tokenizer, fingerprint(tokenizer), model_config.vocab_size)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_file = Path(tmp) / "tokenizer.json"
        tokenizer.save(str(tokenizer_file))
        meta = {"model": model_config.to_dict(), "tokenizer": fingerprint(tokenizer),
                "imported_from": {"path": str(source.resolve()), "model_type": kind}}
        path = checkpoint.save(out / "checkpoints", 0, checkpoint.unique_weights(model),
                               {"tokens": 0}, meta, tokenizer_file, keep_last=1)
    return checkpoint.open_checkpoint(path)


def _json(source: Path, name: str) -> dict[str, Any]:
    path = source / name
    if not path.is_file():
        raise TrainingError(f"{source}: no {name}; give a transformers model directory "
                            "(config.json, model.safetensors, tokenizer.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise TrainingError(f"{path}: not valid JSON ({err})") from None


def _weights(source: Path) -> Weights:
    """model.safetensors, or the shards a model.safetensors.index.json lists (no pickles)."""
    index = source / "model.safetensors.index.json"
    files = (sorted(set(_json(source, index.name)["weight_map"].values()))
             if index.is_file() else ["model.safetensors"])
    weights: Weights = {}
    for name in files:
        if not (source / name).is_file():
            hint = (" (pytorch_model.bin is a pickle, never loaded: re-save with "
                    "save_pretrained(DIR, safe_serialization=True))"
                    if (source / "pytorch_model.bin").exists() else "")
            raise TrainingError(f"{source}: no {name}{hint}")
        weights |= {k: v.float() for k, v in load_file(source / name).items()}
    return weights


def _need(config: dict[str, Any], key: str, wanted: Any, default: Any = None) -> None:
    if config.get(key, default) != wanted:
        raise TrainingError(f"config.json: {key} = {config.get(key, default)!r} is not "
                            f"supported (gristmill's model needs {wanted!r})")


def _gpt2(c: dict[str, Any], w: Weights) -> tuple[GPTConfig, Weights]:
    if c.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise TrainingError(f"config.json: activation_function "
                            f"{c['activation_function']!r} is not supported (gelu_new only)")
    _need(c, "scale_attn_by_inverse_layer_idx", False, False)
    _need(c, "scale_attn_weights", True, True)
    n_embd = c.get("n_embd", 768)
    config = GPTConfig(vocab_size=c.get("vocab_size", 50257),
                       block_size=c.get("n_positions", 1024), n_layer=c.get("n_layer", 12),
                       n_head=c.get("n_head", 12), n_embd=n_embd,
                       norm_eps=c.get("layer_norm_epsilon", 1e-5),
                       tie_embeddings=c.get("tie_word_embeddings", True),
                       mlp_hidden=c.get("n_inner") or 4 * n_embd)
    w = {k.removeprefix("transformer."): v for k, v in w.items()}
    out = {"wte.weight": w["wte.weight"], "wpe.weight": w["wpe.weight"],
           "norm_f.weight": w["ln_f.weight"], "norm_f.bias": w["ln_f.bias"]}
    if "lm_head.weight" in w:
        out["lm_head.weight"] = w["lm_head.weight"]
    names = {"norm1": "ln_1", "norm2": "ln_2", "attn.qkv": "attn.c_attn",
             "attn.proj": "attn.c_proj", "mlp.fc": "mlp.c_fc", "mlp.proj": "mlp.c_proj"}
    for i in range(config.n_layer):
        for ours, theirs in names.items():
            weight = w[f"h.{i}.{theirs}.weight"]
            out[f"blocks.{i}.{ours}.weight"] = weight if "norm" in ours else weight.t()
            out[f"blocks.{i}.{ours}.bias"] = w[f"h.{i}.{theirs}.bias"]
    return config, out


def _llama(c: dict[str, Any], w: Weights) -> tuple[GPTConfig, Weights]:
    for key in ("attention_bias", "mlp_bias"):
        _need(c, key, False, False)
    _need(c, "hidden_act", "silu", "silu")
    rope = c.get("rope_parameters") or c.get("rope_scaling") or {}
    if rope.get("rope_type", rope.get("type", "default")) != "default":
        raise TrainingError(f"config.json: rope scaling {rope.get('rope_type')!r} is not "
                            "supported (plain rotary positions only)")
    n_embd, n_head = c["hidden_size"], c["num_attention_heads"]
    if c.get("head_dim") not in (None, n_embd // n_head):
        raise TrainingError(f"config.json: head_dim {c['head_dim']} differs from "
                            "hidden_size / num_attention_heads, which is not supported")
    kv = c.get("num_key_value_heads") or n_head
    config = GPTConfig(vocab_size=c["vocab_size"], block_size=c["max_position_embeddings"],
                       n_layer=c["num_hidden_layers"], n_head=n_head, n_embd=n_embd,
                       bias=False, positions="rope", norm="rmsnorm", mlp="swiglu",
                       rope_theta=c.get("rope_theta") or rope.get("rope_theta", 10000.0),
                       norm_eps=c.get("rms_norm_eps", 1e-6),
                       tie_embeddings=c.get("tie_word_embeddings", False),
                       n_kv_head=kv if kv != n_head else None,
                       mlp_hidden=c["intermediate_size"])
    out = {"wte.weight": w["model.embed_tokens.weight"], "norm_f.weight": w["model.norm.weight"]}
    if "lm_head.weight" in w:
        out["lm_head.weight"] = w["lm_head.weight"]
    for i in range(config.n_layer):
        h, b = f"model.layers.{i}", f"blocks.{i}"
        attn, mlp = f"{h}.self_attn", f"{h}.mlp"
        out |= {f"{b}.attn.qkv.weight": torch.cat([w[f"{attn}.{p}_proj.weight"]
                                                   for p in "qkv"]),
                f"{b}.attn.proj.weight": w[f"{attn}.o_proj.weight"],
                f"{b}.mlp.fc.weight": torch.cat([w[f"{mlp}.gate_proj.weight"],
                                                 w[f"{mlp}.up_proj.weight"]]),
                f"{b}.mlp.proj.weight": w[f"{mlp}.down_proj.weight"],
                f"{b}.norm1.weight": w[f"{h}.input_layernorm.weight"],
                f"{b}.norm2.weight": w[f"{h}.post_attention_layernorm.weight"]}
    return config, out


def end_of_text_tokenizer(source: Path) -> Tokenizer:
    """The directory's tokenizer.json with its end-of-sequence token (from
    tokenizer_config.json, else config.json's eos_token_id) renamed to `EOT`."""
    data = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    eos = _eos_token(source, data)
    if eos != EOT:
        names = {t["content"] for t in data.get("added_tokens", [])}
        if EOT in names:
            raise TrainingError(f"{source / 'tokenizer.json'} has both {EOT} and another "
                                f"end-of-sequence token {eos!r}; cannot tell which ends a "
                                "document")
        data = _rename(data, eos, EOT)
    try:
        return Tokenizer.from_str(json.dumps(data))
    except Exception as err:  # tokenizers raises plain Exception for a malformed file
        raise TrainingError(f"{source / 'tokenizer.json'}: not a tokenizers file ({err})"
                            ) from None


def _eos_token(source: Path, data: dict[str, Any]) -> str:
    settings = source / "tokenizer_config.json"
    eos = json.loads(settings.read_text(encoding="utf-8")).get("eos_token") \
        if settings.is_file() else None
    if isinstance(eos, dict):
        eos = eos.get("content")
    if eos is None:
        ids = _json(source, "config.json").get("eos_token_id")
        ids = ids[0] if isinstance(ids, list) else ids
        eos = next((t["content"] for t in data.get("added_tokens", []) if t["id"] == ids), None)
    if eos is None:
        if any(t["content"] == EOT for t in data.get("added_tokens", [])):
            return EOT
        raise TrainingError(f"{source}: cannot tell the end-of-sequence token (no eos_token "
                            "in tokenizer_config.json, no eos_token_id in config.json)")
    return eos


def _rename(node: Any, old: str, new: str) -> Any:
    """Every string (and mapping key) equal to `old` replaced by `new`."""
    if isinstance(node, dict):
        return {(new if k == old else k): _rename(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename(v, old, new) for v in node]
    return new if node == old else node
