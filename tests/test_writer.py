"""The shard writer and the manifest: row groups, rotation, zstd, checksums, atomic output.

Everything here writes real Parquet files and reads them back with pyarrow (and `datasets`);
the atomicity test runs the real command in a subprocess and kills it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from curation.core.config import OutputConfig
from curation.io.shards import BATCH_ROWS, ShardWriter, build_schema
from gristmill.launcher import main
from tests.support.curation import manifest, write_jsonl, write_pipeline
from tests.support.runs import group_alive

SCHEMA = build_schema([], {"n": pa.int64()})
CLI = [sys.executable, "-m", "gristmill.launcher", "curate"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows_of(n: int, size: int = 10, start: int = 0) -> list[dict]:
    """`n` rows whose text is exactly `size` UTF-8 bytes."""
    return [{"id": f"d{i}", "text": f"{i:0{size}d}"[-size:], "source": "s", "n": i}
            for i in range(start, start + n)]


def write_all(tmp_path: Path, rows: list[dict], prefix: str = "kept", **cfg) -> list:
    writer = ShardWriter(tmp_path, prefix, SCHEMA, OutputConfig(path=str(tmp_path), **cfg))
    for row in rows:
        writer.write(row, len(row["text"].encode()))
    return writer.close()


def groups(path: Path) -> list[int]:
    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def group_text_bytes(path: Path) -> list[list[int]]:
    """Per row group, the UTF-8 size of each row's text."""
    handle = pq.ParquetFile(path)
    return [[len(t.encode()) for t in handle.read_row_group(i, columns=["text"])
             .column("text").to_pylist()] for i in range(handle.num_row_groups)]


# ---------------------------------------------------------------- ShardWriter


def test_row_groups_capped_at_row_group_rows(tmp_path):
    rows = rows_of(25)
    shards = write_all(tmp_path, rows, row_group_rows=10)
    assert [s.path.name for s in shards] == ["kept-00000.parquet"]
    assert groups(shards[0].path) == [10, 10, 5]
    assert pq.read_table(shards[0].path).to_pylist() == rows


def test_rows_become_arrow_batches_while_a_row_group_fills(tmp_path):
    """A row group of 20,000 rows is built from batches of at most BATCH_ROWS Python rows
    (a row group of dicts took ~3x its text in memory); groups and order are unchanged."""
    rows = rows_of(26_000, size=12)
    writer = ShardWriter(tmp_path, "kept", SCHEMA,
                         OutputConfig(path=str(tmp_path), row_group_rows=20_000))
    held = 0
    for row in rows:
        writer.write(row, 12)
        held = max(held, len(writer._rows))
    assert held == BATCH_ROWS - 1
    (shard,) = writer.close()
    assert groups(shard.path) == [20_000, 6_000]
    assert pq.read_table(shard.path).to_pylist() == rows


def test_row_groups_capped_at_row_group_bytes(tmp_path):
    # 10-byte texts, groups close once they hold >= 35 bytes: 4 rows (40 bytes) each.
    shards = write_all(tmp_path, rows_of(25), row_group_bytes=35)
    assert groups(shards[0].path) == [4, 4, 4, 4, 4, 4, 1]


def test_one_huge_document_closes_its_row_group(tmp_path):
    rows = rows_of(2) + rows_of(1, size=5000, start=2) + rows_of(3, start=3)
    shards = write_all(tmp_path, rows, row_group_bytes=100)
    assert groups(shards[0].path) == [3, 3]
    for group in group_text_bytes(shards[0].path):
        assert sum(group[:-1]) < 100  # a group closes as soon as it reaches the cap


def test_shard_rotation_at_shard_max_bytes(tmp_path):
    # 95 rows of 10 bytes, one row per group, a shard closes once it holds >= 95 bytes.
    rows = rows_of(95)
    shards = write_all(tmp_path, rows, row_group_rows=1, shard_max_bytes=95)
    assert [s.path.name for s in shards] == [f"kept-{i:05d}.parquet" for i in range(10)]
    assert [s.rows for s in shards] == [10] * 9 + [5]
    assert sorted(p.name for p in tmp_path.iterdir()) == [s.path.name for s in shards]
    assert [pq.ParquetFile(s.path).metadata.num_rows for s in shards] == [10] * 9 + [5]
    back = [r for s in shards for r in pq.read_table(s.path).to_pylist()]
    assert back == rows


def test_shard_rotation_with_row_groups(tmp_path):
    # Groups of 4 rows (40 bytes); a shard closes at the row that reaches 100 bytes, which
    # also closes its last (short) row group.
    shards = write_all(tmp_path, rows_of(50), row_group_rows=4, shard_max_bytes=100)
    assert [s.rows for s in shards] == [10] * 5
    assert [groups(s.path) for s in shards] == [[4, 4, 2]] * 5


def test_shard_max_bytes_holds_with_default_row_groups(tmp_path):
    shards = write_all(tmp_path, rows_of(95), shard_max_bytes=95)
    assert len(shards) >= 9
    for shard in shards:
        sizes = [b for g in group_text_bytes(shard.path) for b in g]
        assert sum(sizes[:-1]) < 95


@pytest.mark.parametrize("caps", [
    {"row_group_rows": 7}, {"row_group_bytes": 333}, {"shard_max_bytes": 1000},
    {"row_group_rows": 5, "shard_max_bytes": 260}, {}])
def test_arrow_batches_write_the_same_files_as_rows(tmp_path, caps):
    """`write_batch` cuts batches where `write` would have converted and flushed (Parquet
    pages depend on where chunks end), so the files are byte for byte the same, mixed too."""
    rows = [row for i in range(0, 20_000, 400) for row in rows_of(400, size=7 + i % 13, start=i)]
    by_rows = write_all(tmp_path / "rows", rows, **caps)
    writer = ShardWriter(tmp_path / "batches", "kept", SCHEMA,
                         OutputConfig(path=str(tmp_path), **caps))
    start = 0
    for i, size in enumerate([1, 3000, 5, 9000, 6000, 1994]):
        part = rows[start:start + size]
        if i % 2:  # odd parts as one Arrow batch, even parts row by row
            batch = pa.RecordBatch.from_pylist(part, schema=SCHEMA)
            writer.write_batch(batch, pc.binary_length(batch.column("text")).to_numpy())
        else:
            for row in part:
                writer.write(row, len(row["text"]))
        start += size
    by_batches = writer.close()
    assert start == len(rows) and len(by_rows) == len(by_batches)
    for a, b in zip(by_rows, by_batches, strict=True):
        assert (a.rows, a.bytes, a.sha256, a.text_bytes) == (b.rows, b.bytes, b.sha256,
                                                             b.text_bytes)
        assert groups(a.path) == groups(b.path)


def test_zstd_and_sha256_in_shard_info(tmp_path):
    shards = write_all(tmp_path, rows_of(300), row_group_rows=100, shard_max_bytes=1000)
    assert len(shards) == 3
    for shard in shards:
        assert shard.sha256 == sha256(shard.path)
        assert shard.bytes == shard.path.stat().st_size
        assert shard.rows == pq.ParquetFile(shard.path).metadata.num_rows == 100
        assert codecs_of(shard.path) == {"ZSTD"}
        assert pq.read_schema(shard.path).equals(SCHEMA)


def codecs_of(path: Path) -> set[str]:
    meta = pq.ParquetFile(path).metadata
    return {meta.row_group(g).column(c).compression
            for g in range(meta.num_row_groups) for c in range(meta.num_columns)}


def test_a_small_output_is_provisional_lz4_until_finalize(tmp_path):
    """Under merge_below_bytes and never flushed: lz4, since finalize recompresses it."""
    (small,) = write_all(tmp_path / "a", rows_of(50))
    assert small.provisional and codecs_of(small.path) == {"LZ4"}
    (final,) = write_all(tmp_path / "b", rows_of(50), merge_below_bytes=0)
    assert not final.provisional and codecs_of(final.path) == {"ZSTD"}


def test_a_lone_small_output_is_recompressed_to_zstd(tmp_path, curate):
    """One small input file: nothing to merge it with, so finalize rewrites it as zstd
    (a rename would publish lz4); the manifest describes the rewritten file."""
    write_jsonl(tmp_path / "in.jsonl", [{"text": f"document number {i}"} for i in range(40)])
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in.jsonl"),
                              tmp_path / "out", ["length"])
    assert curate(pipeline) == 0
    (entry,) = manifest(tmp_path / "out")["files"]
    path = tmp_path / "out" / entry["path"]
    assert codecs_of(path) == {"ZSTD"}
    assert (entry["sha256"], entry["bytes"], entry["rows"]) == (
        sha256(path), path.stat().st_size, 40)


def test_finalize_merges_show_progress(tmp_path, capsys):
    """Merging is the slow part of finalize: in logs it gets its own progress line."""
    for f in range(3):
        write_jsonl(tmp_path / "in" / f"p{f}.jsonl",
                    [{"text": f"file {f} document {i}"} for i in range(40)])
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in"), tmp_path / "out",
                              ["length"])
    assert main(["curate", str(pipeline), "--workers", "2"]) == 0
    err = capsys.readouterr().err
    assert "finalize: 1/1 files, 120 docs" in err
    (entry,) = manifest(tmp_path / "out")["files"]
    assert entry["rows"] == 120 and codecs_of(tmp_path / "out" / entry["path"]) == {"ZSTD"}


def test_no_rows_no_file(tmp_path):
    assert write_all(tmp_path, []) == []
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- manifest


PIPELINE_YAML = """\
# A pipeline with comments and odd spacing: the manifest must keep it byte for byte.
name: manifest-test
input:
  paths: [in]
  id_field: id
output:
  path: out
  row_group_rows: 70     # small groups
  row_group_bytes: 1500
  shard_max_bytes: 4000
steps:
  - length: {min_words: 3}
  - exact_dedup
  - split: {validation_fraction: 0.2}
"""


@contextlib.contextmanager
def inside(directory: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)


@pytest.fixture(scope="module")
def manifest_run(tmp_path_factory) -> tuple[Path, list[dict]]:
    """600 records in 3 files (every 7th too short, texts repeated), run once with an
    override; relative paths, so the YAML is run from its own directory."""
    root = tmp_path_factory.mktemp("manifest")
    records = []
    for f in range(3):
        recs = [{"id": f"{f}-{i}", "text": f"document {i % 150} of a test corpus"
                 + " pad" * (i % 150 % 40) if i % 7 else "too short"} for i in range(200)]
        records += recs
        write_jsonl(root / "in" / f"p{f}.jsonl", recs)
    (root / "pipeline.yaml").write_text(PIPELINE_YAML)
    with inside(root), contextlib.redirect_stdout(io.StringIO()):
        assert main(["curate", "pipeline.yaml", "steps.split.seed=3", "--quiet"]) == 0
    return root, records


def kept_and_rejected_files(out: Path) -> tuple[list[Path], list[Path]]:
    kept = sorted([*out.glob("part-*.parquet"), *out.glob("train/part-*.parquet"),
                   *out.glob("validation/part-*.parquet")])
    return kept, sorted(out.glob("rejected/part-*.parquet"))


def test_manifest_matches_files(manifest_run):
    root, records = manifest_run
    out = root / "out"
    m = manifest(out)
    kept, rejected = kept_and_rejected_files(out)
    on_disk = {str(p.relative_to(out)) for p in [*kept, *rejected]}
    assert {f["path"] for f in m["files"]} == on_disk
    for f in m["files"]:
        path = out / f["path"]
        assert f["rows"] == pq.ParquetFile(path).metadata.num_rows
        assert f["bytes"] == path.stat().st_size
        assert f["sha256"] == sha256(path)
        assert f["split"] == f["path"].split("/")[0]
    rows = {split: sum(f["rows"] for f in m["files"] if f["split"] == split)
            for split in ("train", "validation", "rejected")}
    assert m["counts"]["kept_by_split"] == {"train": rows["train"],
                                            "validation": rows["validation"]}
    assert m["counts"]["kept"] == rows["train"] + rows["validation"]
    assert m["counts"]["rejected"] == rows["rejected"]
    # 600 records: every 7th is too short (87); the rest repeat 136 distinct texts.
    assert m["counts"]["input"] == 600
    too_short = sum(1 for r in records if r["text"] == "too short")
    distinct = {r["text"] for r in records if r["text"] != "too short"}
    assert (too_short, len(distinct)) == (87, 136)
    assert m["counts"]["kept"] == 136
    assert m["counts"]["rejected"] == 600 - 136
    assert rows["train"] > 0 and rows["validation"] > 0
    assert len(m["files"]) > 3  # shard_max_bytes=4000 made several shards
    steps = {s["name"]: s for s in m["steps"]}
    assert steps["length"]["rejected"] == {"too_few_words": too_short}
    assert steps["exact_dedup"]["docs_in"] == 600 - too_short
    assert steps["exact_dedup"]["docs_out"] == m["counts"]["kept"]


def test_manifest_pipeline_versions_schema(manifest_run):
    root, _ = manifest_run
    m = manifest(root / "out")
    assert m["pipeline"]["yaml"].encode() == (root / "pipeline.yaml").read_bytes()
    assert m["pipeline"]["overrides"] == ["steps.split.seed=3"]
    assert m["pipeline"]["name"] == "manifest-test"
    assert m["versions"]["pyarrow"] == pa.__version__
    assert m["versions"]["python"] == platform.python_version()
    schema = pq.read_schema(root / "out" / m["files"][0]["path"])
    assert m["schema"] == [{"name": f.name, "type": str(f.type)} for f in schema]
    assert {c["name"]: c["type"] for c in m["schema"]} == {
        "id": "string", "text": "string", "source": "string", "n_chars": "int64",
        "n_words": "int64", "exact_dup_copies": "int32", "exact_dup_of": "string",
        "split": "string"}
    assert isinstance(m["schema_version"], int)


def test_manifest_yaml_verbatim_with_crlf(tmp_path, monkeypatch, curate):
    """A CRLF file (edited on Windows) must be stored byte for byte too."""
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": "a", "text": "one two three"}])
    text = PIPELINE_YAML.replace("\n", "\r\n").encode()
    (tmp_path / "pipeline.yaml").write_bytes(text)
    monkeypatch.chdir(tmp_path)
    assert curate("pipeline.yaml") == 0
    assert manifest(tmp_path / "out")["pipeline"]["yaml"].encode() == text


def test_output_row_groups_close_at_either_cap(manifest_run):
    """In every output file (renamed or merged), each row group but the last closes at the
    row that reaches 70 rows or 1,500 bytes of text, and never later."""
    out = manifest_run[0] / "out"
    kept, rejected = kept_and_rejected_files(out)
    closed_by = set()
    for path in [*kept, *rejected]:
        sizes = group_text_bytes(path)
        for group in sizes:
            assert len(group) <= 70 and sum(group[:-1]) < 1500, path
        for group in sizes[:-1]:
            full_rows, full_bytes = len(group) == 70, sum(group) >= 1500
            assert full_rows or full_bytes, (path, len(group), sum(group))
            closed_by.add("rows" if full_rows else "bytes")
    assert closed_by == {"rows", "bytes"}


def test_output_loads_with_datasets(manifest_run, tmp_path_factory):
    import datasets

    out = manifest_run[0] / "out"
    cache = tmp_path_factory.mktemp("hf-cache")
    ds = datasets.load_dataset("parquet", data_files=str(out / "train" / "*.parquet"),
                               split="train", cache_dir=str(cache))
    m = manifest(out)
    assert ds.num_rows == m["counts"]["kept_by_split"]["train"]
    assert set(ds.column_names) == {c["name"] for c in m["schema"]}
    assert set(ds["split"]) == {"train"}
    assert len(set(ds["id"])) == ds.num_rows


# ---------------------------------------------------------------- atomicity


def visible_parts(out: Path) -> list[Path]:
    return [p for folder in (out, out / "train", out / "validation", out / "rejected")
            if folder.is_dir() for p in folder.glob("part-*.parquet")]


def check_parts_readable(out: Path, seen: dict[Path, str]) -> None:
    """Every visible part file is complete Parquet, and never changes once it is visible."""
    for path in visible_parts(out):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise AssertionError(f"{path} disappeared after it was published") from None
        table = pq.read_table(pa.BufferReader(data))  # raises on a partial file
        assert table.num_rows > 0, path
        digest = hashlib.sha256(data).hexdigest()
        assert seen.setdefault(path, digest) == digest, f"{path} changed after publication"


def slow_motion_kill(proc: subprocess.Popen, out: Path, seen: dict[Path, str]) -> int:
    """Look at the output all along the run; once finalize starts, run the process group in
    1 ms slices (SIGCONT/SIGSTOP), looking between slices, and SIGKILL it as soon as some
    part files are published but not the manifest. Returns how many looks were taken."""
    looks = 0
    try:
        while proc.poll() is None and not (out / "_work" / "finalize.json").exists():
            check_parts_readable(out, seen)
            looks += 1
            time.sleep(0.002)
        os.killpg(proc.pid, signal.SIGSTOP)
        while proc.poll() is None:
            check_parts_readable(out, seen)
            looks += 1
            if visible_parts(out) and not (out / "_manifest.json").exists():
                break
            os.killpg(proc.pid, signal.SIGCONT)
            time.sleep(0.001)
            os.killpg(proc.pid, signal.SIGSTOP)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
    return looks


def test_part_files_are_never_visible_incomplete(tmp_path):
    """Look at the output while a run goes, kill it in the middle of finalize, look again,
    resume while looking: every visible part file is always complete and never changes.

    Eight small inputs make each output shard a merge of several unit files, so finalize
    writes Parquet files (not only renames) while we look.
    """
    for f in range(8):
        write_jsonl(tmp_path / "in" / f"f{f:02d}.jsonl",
                    [{"text": f"file {f} doc {i} " + "word " * (i % 50)} for i in range(300)])
    out = tmp_path / "out"
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text(yaml.safe_dump({
        "input": {"paths": [str(tmp_path / "in")]},
        "output": {"path": str(out), "shard_max_bytes": 100_000, "row_group_rows": 100},
        "steps": [{"length": {"min_words": 10}}, "exact_dedup", "split"]}))
    command = [*CLI, str(yaml_path), "--workers", "2", "--quiet"]
    seen: dict[Path, str] = {}

    proc = subprocess.Popen(command, env=ENV, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    looks = slow_motion_kill(proc, out, seen)
    assert proc.returncode == -signal.SIGKILL
    published = set(visible_parts(out))
    assert published and not (out / "_manifest.json").exists()
    check_parts_readable(out, seen)

    proc = subprocess.Popen(command, env=ENV, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while proc.poll() is None:
        check_parts_readable(out, seen)
        looks += 1
        time.sleep(0.002)
    assert proc.returncode == 0, proc.stderr.read().decode()
    proc.stderr.close()
    check_parts_readable(out, seen)

    m = manifest(out)
    assert looks > 20
    assert len(m["files"]) > len(published)
    assert {str(p.relative_to(out)) for p in visible_parts(out)} == {
        f["path"] for f in m["files"]}
    for f in m["files"]:
        assert seen[out / f["path"]] == f["sha256"]
    assert not (out / "_work").exists()
    assert not [p for p in out.rglob("*") if p.name.startswith(".tmp-")]
    assert m["counts"]["input"] == 2_400
