"""Chat fine-tuning: the template, the loss mask, bad rows, exact resume, export's
chat_template, fine-tuning an imported model, and `gristmill chat`."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from tests.support.training import char_tokenizer, losses
from tests.test_export_sample import gristmill
from training.checkpoint import open_checkpoint
from training.config import load_config
from training.data.loader import DataConfig, TrainLoader
from training.errors import TrainingError
from training.finetune.chat import CHAT_TEMPLATE, END, ChatEncoder, with_chat_tokens
from training.generate import generate
from training.model import IGNORE
from training.tokenizer.load import load_tokenizer
from training.trainer import train

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "data"))
from make_chat_capitals import SYSTEMS, conversations, write

TALK = [{"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of Vel?"},
        {"role": "assistant", "content": "Ostra."},
        {"role": "user", "content": "And <|end|> of Mor?"},
        {"role": "assistant", "content": "Dun."}]


def chat_run(root: Path, **run: object) -> Path:
    """The capitals set (a third of it), a character tokenizer, a 2-layer model."""
    train_rows, validation = conversations()
    write(root / "data" / "train", train_rows[:80], "train")
    write(root / "data" / "validation", validation[:20], "val")
    char_tokenizer().save(str(root / "chars.json"))
    config = {"model": {"n_layer": 2, "n_head": 2, "n_embd": 32, "dropout": 0.1},
              "data": {"sources": [str(root / "data")], "tokenizer": str(root / "chars.json"),
                       "block_size": 64, "batch_size": 4},
              "optim": {"lr": 3e-3, "min_lr": 3e-4}, "schedule": {"warmup_steps": 2},
              "run": {"out_dir": str(root / "run"), "max_steps": 8, "log_every": 1,
                      "dtype": "float32", "eval_every": 4, "eval_tokens": 4096,
                      "checkpoint_every": 4, "keep_last": 3, **run}}
    (root / "sft.yaml").write_text(yaml.safe_dump(config))
    return root / "sft.yaml"


def test_the_template_trains_on_the_assistants_tokens_and_end_only() -> None:
    tokenizer = with_chat_tokens(char_tokenizer())
    encoder = ChatEncoder(tokenizer)
    ids, trained = encoder.encode(TALK)
    learned = tokenizer.decode(ids[trained].tolist(), skip_special_tokens=False)
    assert learned == "Ostra.<|end|>Dun.<|end|>"
    end = tokenizer.token_to_id(END)
    assert (ids == end).sum() == len(TALK)  # the <|end|> typed by the user stays text
    assert tokenizer.decode(ids.tolist(), skip_special_tokens=False) == (
        "<|system|>Be brief.<|end|><|user|>Capital of Vel?<|end|><|assistant|>Ostra.<|end|>"
        "<|user|>And <|unk|><|unk|>end<|unk|><|unk|> of Mor?<|end|><|assistant|>Dun.<|end|>")
    assert encoder.prompt(TALK[:2])[-1] == tokenizer.token_to_id("<|assistant|>")


def test_the_loader_masks_every_target_but_the_assistants(tmp_path: Path) -> None:
    chat_run(tmp_path)
    tokenizer = with_chat_tokens(char_tokenizer())
    for pack in (True, False):
        # 256 tokens hold any of these conversations, so padding starts each in a window
        config = DataConfig([str(tmp_path / "data")], 256, 4, chat=True, pack=pack,
                            text_column="messages")
        x, y = next(iter(TrainLoader(config, tokenizer)))
        assert x.min() >= 0 and (y == IGNORE).any()
        learned = tokenizer.decode(y[y != IGNORE].tolist(), skip_special_tokens=False)
        assert "capital of" in learned and not any(s in learned for s in SYSTEMS)
        assert "?" not in learned and "<|user|>" not in learned  # no question is trained
        first = {tokenizer.id_to_token(int(t)) for t in x[:, 0]}
        if not pack:  # every window starts a conversation
            assert first <= {"<|system|>", "<|user|>"}


def test_chat_sft_resumes_bit_for_bit_and_exports_its_template(tmp_path: Path) -> None:
    whole = chat_run(tmp_path / "whole")
    metrics = train(load_config(whole), quiet=True)
    assert metrics["val_loss"] < losses(tmp_path / "whole" / "run")[1]
    again = chat_run(tmp_path / "again")
    train(load_config(again), quiet=True)
    shutil.rmtree(tmp_path / "again" / "run" / "checkpoints" / "step-00000008")
    train(load_config(again), resume=True, quiet=True)
    assert losses(tmp_path / "again" / "run") == losses(tmp_path / "whole" / "run")
    ours_weights = open_checkpoint(tmp_path / "again" / "run").load_model().state_dict()
    for name, tensor in open_checkpoint(tmp_path / "whole" / "run").load_model(
            ).state_dict().items():
        assert torch.equal(tensor, ours_weights[name]), name

    transformers = pytest.importorskip("transformers")
    ckpt = open_checkpoint(tmp_path / "whole" / "run")
    done = gristmill("export", str(ckpt.path), "--out", str(tmp_path / "hf"))
    assert done.returncode == 0, done.stderr
    hf = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert hf.chat_template == CHAT_TEMPLATE
    talk = [m for m in TALK if "<|end|>" not in m["content"]]
    ours = ChatEncoder(with_chat_tokens(char_tokenizer()))
    theirs = hf.apply_chat_template(talk, tokenize=True, return_dict=False)
    assert list(theirs) == ours.encode(talk)[0].tolist()
    prompt = hf.apply_chat_template(talk[:2], tokenize=True, add_generation_prompt=True,
                                    return_dict=False)
    assert list(prompt) == ours.prompt(talk[:2])


def test_chat_command_replies_once_greedily(tmp_path: Path) -> None:
    train(load_config(chat_run(tmp_path)), quiet=True)
    args = ("chat", str(tmp_path / "run"), "--message", "What is the capital of Vel?",
            "--temperature", "0", "--max-new-tokens", "30")
    first, second = gristmill(*args), gristmill(*args, "--system", "Be brief.")
    assert first.returncode == 0, first.stderr
    ckpt = open_checkpoint(tmp_path / "run")
    tokenizer = load_tokenizer(ckpt.path / "tokenizer.json")
    encoder = ChatEncoder(tokenizer)
    prompt = encoder.prompt([{"role": "user", "content": "What is the capital of Vel?"}])
    reply = [t for t in generate(ckpt.load_model(), prompt, 30, temperature=0)
             if t != encoder.end]
    assert first.stdout == tokenizer.decode(reply, skip_special_tokens=False) + "\n"
    assert "<|end|>" not in first.stdout
    assert second.returncode == 0, second.stderr
    talk = subprocess.run([sys.executable, "-m", "gristmill.launcher", "chat",
                           str(tmp_path / "run"), "--temperature", "0", "--max-new-tokens", "5"],
                          input="Capital of Vel?\n/reset\nAnd of Mor?\n", capture_output=True,
                          text=True, timeout=300)
    assert talk.returncode == 0, talk.stderr
    assert talk.stdout.count("assistant> ") == 2 and "(conversation cleared)" in talk.stdout
    (tmp_path / "plain").mkdir()
    plain = open_checkpoint(tmp_path / "run").path
    refused = gristmill("chat", str(_plain_copy(plain, tmp_path / "plain")), "--message", "hi")
    assert refused.returncode == 2 and "no chat tokens" in refused.stderr


def _plain_copy(ckpt: Path, into: Path) -> Path:
    """The checkpoint with a tokenizer that has no chat tokens (checksum updated)."""
    copy = into / "ckpt"
    shutil.copytree(ckpt, copy)
    char_tokenizer().save(str(copy / "tokenizer.json"))
    meta = json.loads((copy / "meta.json").read_text())
    meta["sha256"]["tokenizer.json"] = hashlib.sha256(
        (copy / "tokenizer.json").read_bytes()).hexdigest()
    (copy / "meta.json").write_text(json.dumps(meta))
    return copy


@pytest.mark.parametrize(("messages", "error"), [
    ([], r"messages is \[\], not a non-empty list"),
    ([{"content": "hi"}], r"messages\[0\] has no role"),
    ([{"role": "bot", "content": "hi"}], r"messages\[0\] has role 'bot'; roles are"),
    ([{"role": "user", "content": None}], r"messages\[0\] content is None, not a string"),
    ([{"role": "user", "content": "hi"}], "the conversation has no assistant message"),
])
def test_a_malformed_conversation_names_its_row(tmp_path: Path, messages: list,
                                                error: str) -> None:
    config = chat_run(tmp_path)
    rows = pq.read_table(tmp_path / "data" / "train" / "part-00000.parquet").to_pylist()
    rows[3]["messages"] = messages
    (tmp_path / "data" / "train" / "part-00000.parquet").unlink()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "data" / "train" / "part.parquet")
    with pytest.raises(TrainingError, match=rf"part.parquet: row 3: {error}"):
        train(load_config(config, ["data.shuffle=false"]), quiet=True)


def test_chat_sft_from_an_imported_model_grows_its_vocabulary(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from tests.test_hf_import import hf_gpt2
    from training.finetune.hf_import import import_hf

    hf_gpt2(tmp_path / "hf")
    base = import_hf(tmp_path / "hf", tmp_path / "imported")
    config = chat_run(tmp_path, max_steps=2, init_from=str(tmp_path / "imported"))
    with pytest.raises(TrainingError, match="tokenizer mismatch"):  # not the import's
        train(load_config(config, ["data.block_size=32"]), quiet=True)
    train(load_config(config, [f"data.tokenizer={base.path / 'tokenizer.json'}",
                               "data.block_size=32"]), quiet=True)
    tuned = open_checkpoint(tmp_path / "run")
    assert tuned.model_config.vocab_size == base.model_config.vocab_size + 4
    assert tuned.model_config.mlp_hidden == 80 and len(losses(tmp_path / "run")) == 2
    ChatEncoder(load_tokenizer(tuned.path / "tokenizer.json"))  # it is a chat model now


def test_checkpoints_from_before_these_fields_still_load(tmp_path: Path) -> None:
    """Checkpoints written before n_kv_head and mlp_hidden existed have no such keys."""
    train(load_config(chat_run(tmp_path, max_steps=2)), quiet=True)
    path = open_checkpoint(tmp_path / "run").path
    meta = json.loads((path / "meta.json").read_text())
    for key in ("n_kv_head", "mlp_hidden"):
        del meta["model"][key]
    (path / "meta.json").write_text(json.dumps(meta))
    ckpt = open_checkpoint(path)
    assert ckpt.model_config.kv_heads == 2 and ckpt.model_config.hidden == 128
    assert ckpt.load_model()(torch.zeros(1, 4, dtype=torch.long))[0].shape[-1] == 128
