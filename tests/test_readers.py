"""Every reader, end to end through `gristmill curate` and directly through discover/read_file.

Real files in tmp_path (JSONL plain/.gz/.zst, Parquet, plain text, `datasets.save_to_disk`),
real Parquet output read back with pyarrow and `datasets`; exact texts, ids and counts.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from curation.core.config import InputConfig
from curation.core.document import Document, Rejected
from curation.core.errors import ConfigError
from curation.io.readers import discover, read_file
from tests.support.curation import manifest, write_jsonl, write_pipeline


def kept_rows(output: Path) -> list[dict[str, Any]]:
    """The kept rows, from the files the manifest lists (not rejected/), in manifest order."""
    files = [f["path"] for f in manifest(output)["files"] if f["split"] != "rejected"]
    if not files:
        return []
    return pa.concat_tables([pq.read_table(output / f) for f in files]).to_pylist()


def run_ok(curate, tmp_path: Path, inputs: list[str] | str, *args: str,
           **input_cfg: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run a step-less pipeline over `inputs`; return kept rows and the manifest."""
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "p.yaml", inputs, out, input=input_cfg)
    assert curate(pipeline, *args) == 0
    return kept_rows(out), manifest(out)


def read_all(path: Path | str, **cfg: Any) -> list[Document | Rejected]:
    config = InputConfig(paths=[str(path)], **cfg)
    return [r for f in discover(config) for r in read_file(f, config)]


def zstd_frames(*chunks: bytes) -> bytes:
    """One zstd frame per chunk, concatenated (as `zstd` CLI and pzstd can produce)."""
    compressor = zstandard.ZstdCompressor(level=3)
    return b"".join(compressor.compress(chunk) for chunk in chunks)


# ---------------------------------------------------------------------------- JSONL

RECORDS = [{"text": "first document"}, {"text": "second, with ünïcödé and 😀"},
           {"text": "third\nhas\nlines"}]


def jsonl_bytes(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst", ".zstd"])
def test_jsonl_compressions_texts_count_and_derived_ids(curate, tmp_path, suffix):
    # a blank line between records: derived ids are 1-based *line* numbers, not record numbers
    lines = [json.dumps(RECORDS[0]).encode(), json.dumps(RECORDS[1]).encode(), b"",
             json.dumps(RECORDS[2], ensure_ascii=False).encode()]
    data = jsonl_bytes(lines)
    path = tmp_path / "in" / f"docs.jsonl{suffix}"
    path.parent.mkdir()
    if suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    elif suffix in (".zst", ".zstd"):
        data = zstd_frames(data[:40], data[40:])  # two frames: both must be read
    path.write_bytes(data)

    rows, m = run_ok(curate, tmp_path, str(path))

    assert [r["text"] for r in rows] == [r["text"] for r in RECORDS]
    name = f"docs.jsonl{suffix}"
    assert [r["id"] for r in rows] == [f"{name}:1", f"{name}:2", f"{name}:4"]
    assert [r["source"] for r in rows] == [name] * 3  # no source field: the relative path
    assert m["counts"]["input"] == 3
    assert m["counts"]["kept"] == 3
    assert m["counts"]["rejected"] == 0
    assert m["inputs"]["files"] == 1
    assert m["inputs"]["bytes"] == len(data)
    assert m["counts"]["bytes_in"] == sum(len(r["text"].encode()) for r in RECORDS)


def test_jsonl_zst_read_directly_is_multiframe_and_line_iterable(tmp_path):
    lines = [json.dumps({"text": f"doc {i}"}).encode() for i in range(5000)]
    data = jsonl_bytes(lines)
    (tmp_path / "a.jsonl.zst").write_bytes(zstd_frames(data[:1000], data[1000:30000],
                                                       data[30000:]))
    records = read_all(tmp_path / "a.jsonl.zst")
    assert [r.text for r in records] == [f"doc {i}" for i in range(5000)]
    assert records[-1].id == "a.jsonl.zst:5000"


def test_jsonl_id_field_source_field_and_metadata(curate, tmp_path):
    records = [
        {"id": "doc-a", "text": "alpha", "src": "web", "url": "http://a", "n": 3,
         "tags": ["x", "y"], "info": {"b": 2, "a": "é"}, "flag": True, "empty": None},
        {"id": 17, "text": "beta", "src": "books", "url": "http://b", "n": 2.5},
        {"id": "doc-c", "text": "gamma"},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    metadata = ["url", "n", "tags", "info", "flag", "empty", "never"]
    rows, m = run_ok(curate, tmp_path, str(path), id_field="id", source_field="src",
                     metadata=metadata)

    assert [r["id"] for r in rows] == ["doc-a", "17", "doc-c"]
    assert [r["text"] for r in rows] == ["alpha", "beta", "gamma"]
    assert [r["source"] for r in rows] == ["web", "books", "in.jsonl"]
    assert rows[0] == {"id": "doc-a", "text": "alpha", "source": "web", "url": "http://a",
                       "n": "3", "tags": '["x", "y"]', "info": '{"a": "é", "b": 2}',
                       "flag": "true", "empty": None, "never": None}
    assert [r["n"] for r in rows] == ["3", "2.5", None]
    assert [r["url"] for r in rows] == ["http://a", "http://b", None]
    schema = {f["name"]: f["type"] for f in m["schema"]}
    assert schema == {"id": "string", "text": "string", "source": "string",
                      **dict.fromkeys(metadata, "string")}
    # the implicit unique-id check runs (and keeps everything) when ids come from the input
    assert [s["name"] for s in m["steps"]] == ["read", "unique_ids"]
    assert m["steps"][1]["docs_in"] == m["steps"][1]["docs_out"] == 3


def test_fixed_source_overrides_source_field(curate, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": "a", "source": "x"}, {"text": "b"}])
    rows, _ = run_ok(curate, tmp_path, str(path), source="my-crawl")
    assert [r["source"] for r in rows] == ["my-crawl", "my-crawl"]


def test_default_source_field_is_used_when_present(curate, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": "a", "source": "x"}, {"text": "b"}])
    rows, _ = run_ok(curate, tmp_path, str(path))
    assert [r["source"] for r in rows] == ["x", "in.jsonl"]


# -------------------------------------------------------------------------- Parquet

def write_parquet(path: Path, columns: dict[str, list[Any]], row_group_size: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def test_parquet_text_field_id_field_and_metadata(curate, tmp_path):
    bodies = [f"body number {i}" for i in range(5)]
    path = write_parquet(tmp_path / "in" / "docs.parquet", {
        "doc_key": [f"k{i}" for i in range(5)], "body": bodies, "score": [1, 2, 3, 4, None],
        "text": ["not this"] * 5, "ignored": [0.5] * 5})
    assert pq.ParquetFile(path).num_row_groups == 3  # batches cross row groups

    rows, m = run_ok(curate, tmp_path, str(path), text_field="body", id_field="doc_key",
                     metadata=["score"])

    assert [r["text"] for r in rows] == bodies
    assert [r["id"] for r in rows] == ["k0", "k1", "k2", "k3", "k4"]
    assert [r["score"] for r in rows] == ["1", "2", "3", "4", None]
    assert [r["source"] for r in rows] == ["docs.parquet"] * 5
    assert set(rows[0]) == {"id", "text", "source", "score"}
    assert m["counts"]["input"] == m["counts"]["kept"] == 5


def test_parquet_derived_ids_are_zero_based_row_numbers(tmp_path):
    write_parquet(tmp_path / "a.parquet", {"text": ["x", "y", "z"]})
    records = read_all(tmp_path / "a.parquet")
    assert [(r.id, r.text) for r in records] == [("a.parquet:0", "x"), ("a.parquet:1", "y"),
                                                 ("a.parquet:2", "z")]


def test_parquet_null_and_empty_text_are_rejected_with_reasons(tmp_path):
    write_parquet(tmp_path / "a.parquet", {"text": ["ok", None, " "]})
    records = read_all(tmp_path / "a.parquet")
    assert isinstance(records[0], Document)
    assert [(r.doc.id, r.reason) for r in records[1:]] == [("a.parquet:1", "read:missing_text"),
                                                           ("a.parquet:2", "read:empty")]


# ----------------------------------------------------------------------- plain text

def test_text_mode_file_one_document_per_file(curate, tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("Alpha.\n\nStill alpha.\n")
    (root / "sub" / "b.md").write_text("# Beta\n")
    (root / "c.txt.gz").write_bytes(gzip.compress("Gämma\r\n".encode(), mtime=0))

    rows, m = run_ok(curate, tmp_path, str(root), text_mode="file")

    assert [(r["id"], r["text"]) for r in rows] == [
        ("a.txt", "Alpha.\n\nStill alpha.\n"), ("c.txt.gz", "Gämma\r\n"), ("sub/b.md", "# Beta\n")]
    assert [r["source"] for r in rows] == ["a.txt", "c.txt.gz", "sub/b.md"]
    assert m["inputs"]["files"] == 3


def test_text_mode_paragraph_splits_on_blank_lines(curate, tmp_path):
    path = tmp_path / "book.txt"
    path.write_text("\n\nAlpha one.\nAlpha two.\n\n\nBeta.\n  \t\nGamma.\r\n\r\nDelta.\n")

    rows, m = run_ok(curate, tmp_path, str(path), text_mode="paragraph")

    assert [r["id"] for r in rows] == ["book.txt:0", "book.txt:1", "book.txt:2", "book.txt:3"]
    # every paragraph without its line ending, the last one too
    assert [r["text"] for r in rows] == ["Alpha one.\nAlpha two.", "Beta.", "Gamma.", "Delta."]
    assert m["counts"]["input"] == 4


def test_text_format_forced_for_unknown_extension(tmp_path):
    (tmp_path / "notes.log").write_text("a log line\n")
    with pytest.raises(ConfigError, match="matches no readable files"):
        discover(InputConfig(paths=[str(tmp_path)]))  # .log is not an input by default
    records = read_all(tmp_path / "notes.log", format="text")
    assert [(r.id, r.text) for r in records] == [("notes.log", "a log line\n")]


# ------------------------------------------------------------- datasets.save_to_disk

HF_TEXTS = ["hf one", "hf two", "hf three", "hf four", "hf five"]


def save_dataset(directory: Path, num_shards: int) -> Path:
    ds = datasets.Dataset.from_dict({"text": HF_TEXTS, "uid": [f"u{i}" for i in range(5)],
                                     "lang": ["en", "fr", "en", "de", "en"]})
    ds.save_to_disk(str(directory), num_shards=num_shards)
    return directory


@pytest.mark.parametrize("fmt", ["auto", "hf_disk"])
def test_hf_save_to_disk_directory(curate, tmp_path, fmt):
    directory = save_dataset(tmp_path / "ds", num_shards=1)
    rows, m = run_ok(curate, tmp_path, str(directory), format=fmt, metadata=["lang"])
    assert [r["text"] for r in rows] == HF_TEXTS
    name = "data-00000-of-00001.arrow"
    assert [r["id"] for r in rows] == [f"{name}:{i}" for i in range(5)]
    assert [r["lang"] for r in rows] == ["en", "fr", "en", "de", "en"]
    assert m["inputs"]["files"] == 1
    assert m["counts"]["input"] == m["counts"]["kept"] == 5


def test_hf_save_to_disk_two_shards_are_two_units(curate, tmp_path):
    directory = save_dataset(tmp_path / "ds", num_shards=2)
    files = discover(InputConfig(paths=[str(directory)]))
    assert [(f.relpath, f.format) for f in files] == [
        ("data-00000-of-00002.arrow", "hf_disk"), ("data-00001-of-00002.arrow", "hf_disk")]

    rows, m = run_ok(curate, tmp_path, str(directory), id_field="uid")

    assert [r["text"] for r in rows] == HF_TEXTS
    assert [r["id"] for r in rows] == ["u0", "u1", "u2", "u3", "u4"]
    assert m["inputs"]["files"] == 2
    assert m["steps"][0]["docs_in"] == 5


# ------------------------------------------------------ discovery: globs, dirs, URLs

def make_tree(root: Path) -> None:
    for rel in ["b.jsonl", "a.jsonl", "sub/c.jsonl.gz", "sub/deeper/d.json", "z.ndjson",
                ".hidden.jsonl", "_SUCCESS", "_partial.jsonl", "sub/.e.jsonl",
                "readme.rst", "sub/data.csv"]:
        write_jsonl(root / rel, [{"text": rel}], compress=rel.endswith(".gz"))


def test_directory_is_recursive_sorted_and_skips_hidden_and_underscore_files(tmp_path):
    make_tree(tmp_path / "in")
    files = discover(InputConfig(paths=[str(tmp_path / "in")]))
    assert [f.relpath for f in files] == ["a.jsonl", "b.jsonl", "sub/c.jsonl.gz",
                                          "sub/deeper/d.json", "z.ndjson"]
    assert [f.index for f in files] == [0, 1, 2, 3, 4]
    assert {f.format for f in files} == {"jsonl"}
    assert all(f.url.startswith("file://") for f in files)
    assert files[0].size == (tmp_path / "in" / "a.jsonl").stat().st_size


def test_files_inside_hidden_or_underscore_folders_are_skipped(tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"text": "a"}])
    write_jsonl(tmp_path / "in" / ".git" / "x.json", [{"text": "git"}])
    write_jsonl(tmp_path / "in" / "_work" / "stage-0" / "y.jsonl", [{"text": "work"}])
    files = discover(InputConfig(paths=[str(tmp_path / "in")]))
    assert [f.relpath for f in files] == ["a.jsonl"]


def test_globs_dedupe_sort_and_relpaths_from_their_own_spec(tmp_path):
    make_tree(tmp_path / "in")
    root = tmp_path / "in"
    files = discover(InputConfig(paths=[f"{root}/*.jsonl", f"{root}/sub/*.gz",
                                        f"{root}/a.jsonl"]))
    assert [f.url for f in files] == [f"file://{root}/a.jsonl", f"file://{root}/b.jsonl",
                                      f"file://{root}/sub/c.jsonl.gz"]
    # a file's relative path starts where the spec that found it starts (before the glob)
    assert [f.relpath for f in files] == ["a.jsonl", "b.jsonl", "c.jsonl.gz"]
    recursive = discover(InputConfig(paths=[f"{root}/**/*.json*"]))
    assert [f.relpath for f in recursive] == ["a.jsonl", "b.jsonl", "sub/c.jsonl.gz",
                                              "sub/deeper/d.json"]


def test_single_file_relpath_is_its_name(tmp_path):
    make_tree(tmp_path / "in")
    files = discover(InputConfig(paths=[str(tmp_path / "in" / "sub" / "deeper" / "d.json")]))
    assert [f.relpath for f in files] == ["d.json"]


def test_file_url_through_fsspec(curate, tmp_path):
    make_tree(tmp_path / "in")
    rows, m = run_ok(curate, tmp_path, f"file://{tmp_path / 'in'}/*.jsonl")
    assert [r["text"] for r in rows] == ["a.jsonl", "b.jsonl"]
    assert [r["id"] for r in rows] == ["a.jsonl:1", "b.jsonl:1"]
    assert m["inputs"]["files"] == 2
    assert m["pipeline"]["resolved"]["input"]["paths"] == [f"file://{tmp_path / 'in'}/*.jsonl"]


def test_directory_through_cli_reads_every_file_in_order(curate, tmp_path):
    make_tree(tmp_path / "in")
    rows, m = run_ok(curate, tmp_path, str(tmp_path / "in"))
    assert [r["text"] for r in rows] == ["a.jsonl", "b.jsonl", "sub/c.jsonl.gz",
                                         "sub/deeper/d.json", "z.ndjson"]
    assert [r["id"] for r in rows] == ["a.jsonl:1", "b.jsonl:1", "sub/c.jsonl.gz:1",
                                       "sub/deeper/d.json:1", "z.ndjson:1"]
    assert m["counts"]["input"] == 5


def test_path_matching_nothing_is_a_config_error_naming_the_entry(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"text": "a"}])
    with pytest.raises(ConfigError, match=r"^input\.paths\[0\]: .*nothing-\*\.jsonl"):
        discover(InputConfig(paths=[str(tmp_path / "nothing-*.jsonl")]))
    with pytest.raises(ConfigError, match=r"^input\.paths\[1\]: .*matches no readable files"):
        discover(InputConfig(paths=[str(tmp_path / "a.jsonl"), str(tmp_path / "missing")]))


def test_path_matching_nothing_through_cli(curate, tmp_path, capsys):
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "nope" / "*.jsonl"),
                              tmp_path / "out")
    assert curate(pipeline) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: input.paths[0]: ")
    assert str(tmp_path / "nope" / "*.jsonl") in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------- output is a standard dataset

def test_output_loads_with_datasets_and_ids_are_unique(curate, tmp_path):
    root = tmp_path / "in"
    write_jsonl(root / "a.jsonl", [{"text": f"a {i}"} for i in range(40)])
    write_jsonl(root / "b.jsonl.gz", [{"text": f"b {i}"} for i in range(25)], compress=True)
    write_parquet(root / "c.parquet", {"text": [f"c {i}" for i in range(10)]})
    (root / "d.txt").write_text("one\n\ntwo\n\nthree\n")
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "p.yaml", str(root), out,
                              input={"text_mode": "paragraph"})
    assert curate(pipeline, "output.row_group_rows=7") == 0
    m = manifest(out)
    data_files = [str(out / f["path"]) for f in m["files"] if f["split"] == "data"]
    assert m["inputs"]["files"] == 4

    loaded = datasets.load_dataset("parquet", data_files=data_files, split="train",
                                   cache_dir=str(tmp_path / "hf-cache"))

    assert loaded.num_rows == 78 == m["counts"]["kept"] == m["counts"]["input"]
    assert sum(f["rows"] for f in m["files"] if f["split"] == "data") == 78
    assert loaded.column_names == ["id", "text", "source"]
    ids = loaded["id"]
    assert len(set(ids)) == len(ids)
    assert ids[:2] == ["a.jsonl:1", "a.jsonl:2"]
    assert ids[-3:] == ["d.txt:0", "d.txt:1", "d.txt:2"]
    assert loaded["text"][-3:] == ["one", "two", "three"]
    groups = [pq.ParquetFile(f).metadata.row_group(i).num_rows
              for f in data_files for i in range(pq.ParquetFile(f).metadata.num_row_groups)]
    assert sum(groups) == 78
    assert max(groups) == 7  # output.row_group_rows=7 from the command line
