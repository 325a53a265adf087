"""Finding the splits of a shard directory, holding documents out, checking the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gristmill import shards
from gristmill.shards import ShardContractError
from tests.support.training import add_to_manifest, curated, word_docs, write_shards
from training.data.corpus import find_splits, iter_texts
from training.errors import TrainingError


def texts(split) -> list[str]:
    return [t for batch in iter_texts(split) for t in batch]


def test_curated_layout_gives_both_splits(tmp_path: Path) -> None:
    root = curated(tmp_path / "run", word_docs(120), word_docs(30, seed=1))
    for path in (root, root / "train"):
        splits = find_splits(path)
        assert splits.train.name == str(root / "train")
        assert splits.validation.name == str(root / "validation")
        assert (splits.train.rows, splits.validation.rows) == (120, 30)
        assert splits.train.shards[0].row_groups == (50, 50, 20)
        assert texts(splits.train) == word_docs(120)


def test_held_out_fraction_is_disjoint_and_stable(tmp_path: Path) -> None:
    docs = word_docs(2000)
    write_shards(tmp_path / "flat", docs, files=3)
    train, validation = find_splits(tmp_path / "flat", holdout=0.05)
    kept, held = texts(train), texts(validation)
    assert sorted(kept + held) == sorted(docs)
    assert 70 < len(held) < 130
    again = find_splits(tmp_path / "flat", holdout=0.05)
    assert (texts(again.train), texts(again.validation)) == (kept, held)
    assert find_splits(tmp_path / "flat", holdout=0.0).validation is None


def test_iter_texts_skips_empty_and_null_and_cuts(tmp_path: Path) -> None:
    write_shards(tmp_path / "d", ["abcdef", "", None, "xyz"])
    assert texts_cut(find_splits(tmp_path / "d", holdout=0).train, 4) == ["abcd", "xyz"]


def texts_cut(split, limit: int) -> list[str]:
    return [t for batch in iter_texts(split, limit) for t in batch]


def test_no_text_column(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    pq.write_table(pa.table({"id": ["a"], "content": ["x"]}), tmp_path / "d" / "a.parquet")
    with pytest.raises(TrainingError, match=r"a.parquet has no 'text' column \(columns: id, "
                                            r"content\)"):
        find_splits(tmp_path / "d")
    assert find_splits(tmp_path / "d", text_column="content").train.rows == 1
    (tmp_path / "d" / "a.parquet").unlink()
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "d" / "b.parquet")
    with pytest.raises(TrainingError, match="column 'text' is int64, not a string"):
        find_splits(tmp_path / "d")


def test_empty_corpus(tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    with pytest.raises(TrainingError, match="no Parquet files"):
        find_splits(tmp_path / "none")
    write_shards(tmp_path / "zero", [])
    with pytest.raises(TrainingError, match=r"the corpus is empty \(0 documents in 1 files\)"):
        find_splits(tmp_path / "zero")


def test_unreadable_parquet(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "part-00000.parquet").write_bytes(b"not parquet")
    with pytest.raises(TrainingError, match="not a readable Parquet file"):
        find_splits(tmp_path / "d")


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return curated(tmp_path / "run", word_docs(100), word_docs(20, seed=1))


def test_manifest_missing_file(tmp_path: Path) -> None:
    run = curated(tmp_path / "run", word_docs(100), word_docs(20, seed=1), files=2)
    (run / "train" / "part-00001.parquet").unlink()
    with pytest.raises(ShardContractError, match=r"train/part-00001.parquet is listed in "
                                            r".*_manifest.json but missing"):
        find_splits(run)


def test_manifest_unlisted_file(run: Path) -> None:
    write_shards(run / "validation2", word_docs(5))
    (run / "validation2" / "part-00000.parquet").rename(run / "train" / "part-00009.parquet")
    with pytest.raises(ShardContractError, match=r"part-00009.parquet is not listed in "):
        find_splits(run)


def test_manifest_size_rows_and_checksum(run: Path) -> None:
    path = run / "_manifest.json"
    original = json.loads(path.read_text())
    for key, value, message in [("bytes", 5, r"has \d+ bytes, the manifest says 5"),
                                ("rows", 7, "has 100 rows, the manifest says 7"),
                                ("sha256", "0" * 64, "has a different sha256")]:
        edited = json.loads(json.dumps(original))
        edited["files"][0][key] = value
        path.write_text(json.dumps(edited))
        with pytest.raises(ShardContractError, match=message + r".*changed since curation"):
            find_splits(run)
    # quick skips the checksum; auto skips it above the size limit, full never does.
    find_splits(run, verify="quick")
    limit = shards.SHA256_AUTO_LIMIT
    try:
        shards.SHA256_AUTO_LIMIT = 10
        find_splits(run)
        with pytest.raises(ShardContractError, match="different sha256"):
            find_splits(run, verify="full")
    finally:
        shards.SHA256_AUTO_LIMIT = limit


def test_rewritten_file_is_caught_by_checksum(run: Path) -> None:
    shard = run / "train" / "part-00000.parquet"
    table = pq.read_table(shard)
    texts_ = table.column("text").to_pylist()
    texts_[0] = texts_[0][::-1]
    pq.write_table(table.set_column(1, "text", pa.array(texts_)), shard, row_group_size=50,
                   compression="zstd")
    if shard.stat().st_size == json.loads((run / "_manifest.json").read_text()
                                          )["files"][0]["bytes"]:
        with pytest.raises(ShardContractError, match="different sha256"):
            find_splits(run)
    else:
        with pytest.raises(ShardContractError, match="bytes, the manifest says"):
            find_splits(run)


def test_manifest_of_a_flat_output_ignores_rejected(tmp_path: Path) -> None:
    write_shards(tmp_path / "out", word_docs(10))
    write_shards(tmp_path / "out" / "rejected", word_docs(3))
    add_to_manifest(tmp_path / "out", sorted((tmp_path / "out").rglob("*.parquet")))
    assert find_splits(tmp_path / "out").train.rows == 10
    (tmp_path / "out" / "_manifest.json").write_text("{broken")
    with pytest.raises(ShardContractError, match="not a readable gristmill manifest"):
        find_splits(tmp_path / "out")


def test_parent_manifest_that_does_not_list_the_folder_is_ignored(tmp_path: Path) -> None:
    write_shards(tmp_path / "a" / "train", word_docs(10), manifest=True)
    write_shards(tmp_path / "a" / "other", word_docs(4))
    assert find_splits(tmp_path / "a" / "other").train.rows == 4
