"""`gristmill tokenizer train | encode | info` through the real launcher."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from gristmill.launcher import main
from tests.support.training import curated, shakespeare_docs, write_shards
from training.data.corpus import find_splits, iter_texts
from training.tokenizer.load import EOT, compression, load_tokenizer


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main(["tokenizer", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def data(tmp_path: Path) -> Path:
    docs = list(shakespeare_docs()[:1500])
    return curated(tmp_path / "run", docs[:1400], docs[1400:])


def test_train_writes_a_tokenizer_and_reports_compression(data: Path, tmp_path: Path,
                                                          capsys) -> None:
    out = tmp_path / "tokenizer.json"
    code, text, _ = run(capsys, "train", "--data", data, "--vocab-size", 600, "--out", out,
                        "--quiet")
    assert code == 0
    tokenizer = load_tokenizer(out)
    assert tokenizer.get_vocab_size() == 600
    chars = sum(min(len(d), 10_000) for d in shakespeare_docs()[:1400])
    assert f"read 1,400 documents, {chars:,} characters" in text
    assert "600 ids, <|endoftext|> = 0" in text
    c = compression(tokenizer, iter_texts(find_splits(data).validation))
    assert (f"validation of {data}: 100 documents, {c.bytes:,} bytes, {c.tokens:,} tokens: "
            f"{c.bytes_per_token:.2f} bytes/token") in text
    code, _, err = run(capsys, "train", "--data", data, "--vocab-size", 600, "--out", out)
    assert code == 2
    assert err == f"error: --out {out}: exists; pass --overwrite to replace it\n"


def test_train_caps_characters(data: Path, tmp_path: Path, capsys) -> None:
    code, text, _ = run(capsys, "train", "--data", data, "--kind", "char", "--max-doc-chars",
                        20, "--max-chars", 1000, "--out", tmp_path / "c.json")
    assert code == 0
    total = docs = 0
    while total < 1000:
        total += min(len(shakespeare_docs()[docs]), 20)
        docs += 1
    assert f"read {docs} documents, 1,000 characters (at most 20 per document)" in text
    assert "trained character tokenizer" in text


def test_train_on_a_folder_without_validation_holds_documents_out(tmp_path: Path,
                                                                  capsys) -> None:
    write_shards(tmp_path / "flat", list(shakespeare_docs()[:2000]))
    code, text, _ = run(capsys, "train", "--data", tmp_path / "flat", "--vocab-size", 300,
                        "--holdout", 0.1, "--out", tmp_path / "t.json", "--quiet")
    assert code == 0
    held = int(re.search(r"held-out documents of \S+: (\d+) documents", text).group(1))
    read = int(re.search(r"read ([\d,]+) documents", text).group(1).replace(",", ""))
    assert held + read == 2000
    assert 150 < held < 250


@pytest.mark.parametrize(("args", "message"), [
    (["--vocab-size", 100], "vocab size 100 is too small: byte-level BPE needs 256 byte "
                            "tokens + 1 special, so at least 257"),
    ([], "--vocab-size is required for a bpe tokenizer"),
])
def test_train_argument_errors(data: Path, tmp_path: Path, capsys, args, message) -> None:
    code, _, err = run(capsys, "train", "--data", data, "--out", tmp_path / "t.json", *args)
    assert (code, err) == (2, f"error: {message}\n")


def test_bad_data_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "notext").mkdir()
    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), tmp_path / "notext" / "a.parquet")
    code, _, err = run(capsys, "train", "--data", tmp_path / "notext", "--vocab-size", 300,
                       "--out", tmp_path / "t.json")
    assert code == 2
    assert err.count("\n") == 1
    assert "has no 'text' column (columns: id, body)" in err
    code, _, err = run(capsys, "train", "--data", tmp_path / "nowhere", "--vocab-size", 300,
                       "--out", tmp_path / "t.json")
    assert (code, err) == (2, f"error: {tmp_path / 'nowhere'}: no such directory\n")


def test_encode_builds_a_cache_once(data: Path, tmp_path: Path, capsys) -> None:
    run(capsys, "train", "--data", data, "--vocab-size", 400, "--out", tmp_path / "t.json",
        "--quiet")
    cache = tmp_path / "cache"
    code, text, _ = run(capsys, "encode", "--data", data, "--tokenizer", tmp_path / "t.json",
                        "--out", cache)
    assert code == 0
    assert re.search(r"train: 1 files, 1,400 documents, [\d,]+ tokens \(uint16\)", text)
    files = sorted(cache.rglob("*.tokens"))
    assert [f.relative_to(cache).as_posix() for f in files] == [
        "train/part-00000.tokens", "validation/part-00000.tokens"]
    stamps = [f.stat().st_mtime_ns for f in files]
    assert run(capsys, "encode", "--data", data, "--tokenizer", tmp_path / "t.json",
               "--out", cache)[0] == 0
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_info(data: Path, tmp_path: Path, capsys) -> None:
    run(capsys, "train", "--data", data, "--vocab-size", 400, "--special-token", "<|pad|>",
        "--out", tmp_path / "t.json", "--quiet")
    code, text, _ = run(capsys, "info", tmp_path / "t.json", "--text", "Hello there",
                        "--data", data)
    assert code == 0
    assert "BPE, 400 ids, sha256 " in text
    assert f"special tokens: {EOT} = 0, <|pad|> = 1" in text
    tokens = re.search(r"(\d+) tokens: (.*)", text)
    assert "".join(eval(t) for t in re.findall(r"'[^']*'", tokens.group(2))) == "Hello there"
    assert "validation of" in text


def test_real_curated_output(tmp_path: Path, capsys) -> None:
    """Curate JSONL with the real pipeline, then train on its output as it is."""
    docs = [{"text": d} for d in shakespeare_docs()[:800] if len(d.split()) >= 5]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({
        "name": "t", "input": {"paths": [str(tmp_path / "in.jsonl")]},
        "output": {"path": str(tmp_path / "out")},
        "steps": [{"split": {"validation_fraction": 0.1}}]}))
    assert main(["curate", "--quiet", str(tmp_path / "p.yaml")]) == 0
    capsys.readouterr()
    code, text, err = run(capsys, "train", "--data", tmp_path / "out", "--vocab-size", 300,
                          "--out", tmp_path / "t.json", "--quiet", "--verify", "full")
    assert (code, err) == (0, "")
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert f"read {manifest['counts']['kept_by_split']['train']:,} documents" in text


def test_small_text_allows_fewer_ids_and_says_so(tmp_path: Path, capsys) -> None:
    write_shards(tmp_path / "tiny", ["to be or not to be"] * 5)
    code, text, _ = run(capsys, "train", "--data", tmp_path / "tiny", "--vocab-size", 5000,
                        "--holdout", 0, "--out", tmp_path / "t.json", "--quiet")
    size = load_tokenizer(tmp_path / "t.json").get_vocab_size()
    assert code == 0 and 257 < size < 300
    assert f"{size:,} ids (5,000 asked; the text allows no more merges)" in text
    assert "no validation split, compression not measured" in text
