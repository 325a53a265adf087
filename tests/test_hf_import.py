"""`gristmill import`: tiny random transformers models (GPT-2, Llama with grouped-query
attention and an untied head) become checkpoints with the same logits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from tests.support.training import bpe_tokenizer, curated, shakespeare_docs
from tests.test_export_sample import gristmill
from training.checkpoint import open_checkpoint
from training.config import load_config
from training.errors import TrainingError
from training.export import export
from training.finetune.hf_import import import_hf
from training.tokenizer.load import EOT, load_tokenizer
from training.trainer import train

transformers = pytest.importorskip("transformers")
TEXT = "To be, or not to be: that is the question. Whether 'tis nobler in the mind"


def llama3_tokenizer() -> Tokenizer:
    """Byte-level BPE with Llama 3's document markers and no <|endoftext|>."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=[
        "<|begin_of_text|>", "<|end_of_text|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(shakespeare_docs()[:500], trainer)
    return tokenizer


def randomize(model: torch.nn.Module) -> None:
    """Every weight away from its initial value (norm weights are all ones at first)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))


def hf_gpt2(folder: Path) -> torch.nn.Module:
    tokenizer = bpe_tokenizer()
    config = transformers.GPT2Config(vocab_size=tokenizer.get_vocab_size(), n_positions=64,
                                     n_embd=32, n_layer=2, n_head=4, n_inner=80,
                                     bos_token_id=tokenizer.token_to_id(EOT),
                                     eos_token_id=tokenizer.token_to_id(EOT))
    model = transformers.GPT2LMHeadModel(config).eval()
    randomize(model)
    model.save_pretrained(folder)
    tokenizer.save(str(folder / "tokenizer.json"))
    return model


def hf_llama(folder: Path) -> torch.nn.Module:
    tokenizer = llama3_tokenizer()
    config = transformers.LlamaConfig(
        vocab_size=tokenizer.get_vocab_size() + 8, hidden_size=64, intermediate_size=100,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=50000.0,
        tie_word_embeddings=False, bos_token_id=0, eos_token_id=1)
    model = transformers.LlamaForCausalLM(config).eval()
    randomize(model)
    model.save_pretrained(folder)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}))
    return model


MAKERS = {"gpt2": hf_gpt2, "llama": hf_llama}


def max_diff(hf: torch.nn.Module, ours: torch.nn.Module, ids: torch.Tensor) -> float:
    with torch.no_grad():
        return (hf(ids).logits - ours.eval()(ids)[0]).abs().max().item()


@pytest.mark.parametrize("kind", MAKERS)
def test_imported_models_give_the_same_logits(tmp_path: Path, kind: str) -> None:
    hf = MAKERS[kind](tmp_path / "hf")
    ckpt = import_hf(tmp_path / "hf", tmp_path / "imported")
    ids = torch.tensor([load_tokenizer(ckpt.path / "tokenizer.json").encode(TEXT).ids[:48]])
    assert ids.shape[1] > 16
    assert max_diff(hf, open_checkpoint(tmp_path / "imported").load_model(), ids) <= 1e-4
    # ... and the export of the import is the original model again.
    export(ckpt, tmp_path / "again")
    again = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "again")
    assert max_diff(again, ckpt.load_model(), ids) <= 1e-4


def test_llama3_end_of_text_becomes_gristmills(tmp_path: Path) -> None:
    hf_llama(tmp_path / "hf")
    ckpt = import_hf(tmp_path / "hf", tmp_path / "imported")
    c = ckpt.model_config
    assert (c.n_kv_head, c.tie_embeddings, c.rope_theta, c.norm_eps, c.mlp_hidden) == (
        2, False, 50000.0, 1e-5, 100)
    tokenizer = load_tokenizer(ckpt.path / "tokenizer.json")
    assert tokenizer.token_to_id(EOT) == 1 and tokenizer.token_to_id("<|end_of_text|>") is None
    assert tokenizer.token_to_id("<|begin_of_text|>") == 0


def test_an_imported_model_fine_tunes_and_samples(tmp_path: Path) -> None:
    hf_llama(tmp_path / "hf")
    done = gristmill("import", str(tmp_path / "hf"), "--out", str(tmp_path / "imported"))
    assert done.returncode == 0, done.stderr
    tokenizer = open_checkpoint(tmp_path / "imported").path / "tokenizer.json"
    docs = list(shakespeare_docs()[:300])
    curated(tmp_path / "corpus", docs[:280], docs[280:])
    config = {"data": {"sources": [str(tmp_path / "corpus")], "tokenizer": str(tokenizer),
                       "block_size": 32, "batch_size": 4},
              "schedule": {"warmup_steps": 0},
              "run": {"out_dir": str(tmp_path / "run"), "max_steps": 3, "dtype": "float32",
                      "eval_every": 3, "eval_tokens": 512,
                      "init_from": str(tmp_path / "imported")}}
    (tmp_path / "ft.yaml").write_text(yaml.safe_dump(config))
    metrics = train(load_config(tmp_path / "ft.yaml"), quiet=True)
    assert metrics["val_loss"] > 0
    assert open_checkpoint(tmp_path / "run").model_config.n_kv_head == 2
    sample = gristmill("sample", str(tmp_path / "imported"), "--prompt", "To be",
                       "--max-new-tokens", "5", "--temperature", "0")
    assert sample.returncode == 0 and sample.stdout.startswith("To be"), sample.stderr


def test_bad_import_directories_are_named(tmp_path: Path) -> None:
    hf_gpt2(tmp_path / "hf")
    (tmp_path / "hf" / "model.safetensors").rename(tmp_path / "weights")
    with pytest.raises(TrainingError, match=r"hf: no model\.safetensors"):
        import_hf(tmp_path / "hf", tmp_path / "a")
    (tmp_path / "weights").rename(tmp_path / "hf" / "model.safetensors")
    (tmp_path / "hf" / "tokenizer.json").unlink()
    with pytest.raises(TrainingError, match=r"no tokenizer\.json"):
        import_hf(tmp_path / "hf", tmp_path / "b")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    (tmp_path / "hf" / "config.json").write_text(json.dumps({**config,
                                                             "model_type": "mistral"}))
    refused = gristmill("import", str(tmp_path / "hf"), "--out", str(tmp_path / "c"))
    assert refused.returncode == 2
    assert "'mistral'" in refused.stderr and "supported: GPT-2" in refused.stderr
    assert "Llama" in refused.stderr
