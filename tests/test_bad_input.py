"""Bad input, through the real CLI: every bad record is rejected with its exact reason and
its original bytes, every unreadable file is one clear error naming it, and
documents in = kept + rejected holds in the manifest and in the Parquet files themselves.
Bad pipeline files and overrides are exit code 2 with file and key path, never a traceback.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import lzma
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from rich.console import Console

from curation.cli.summary import print_summary
from curation.core.config import InputConfig
from curation.core.errors import InputFileError
from curation.io.readers import discover, read_file
from tests.support.curation import manifest, write_jsonl, write_pipeline


def rows_of(output: Path, rejected: bool) -> list[dict[str, Any]]:
    """Rows of the kept (or rejected) files the manifest lists, checking each file's row count."""
    m = manifest(output)
    tables = []
    for f in m["files"]:
        if (f["split"] == "rejected") == rejected:
            table = pq.read_table(output / f["path"])
            assert table.num_rows == f["rows"], f["path"]
            tables.append(table)
    return pa.concat_tables(tables).to_pylist() if tables else []


def check_accounting(output: Path) -> tuple[list[dict], list[dict], dict[str, Any]]:
    """input = kept + rejected, in the manifest counts and in the actual Parquet rows."""
    m = manifest(output)
    kept, rejected = rows_of(output, False), rows_of(output, True)
    counts = m["counts"]
    assert counts["input"] == counts["kept"] + counts["rejected"]
    assert counts["kept"] == len(kept) == sum(counts["kept_by_split"].values())
    assert counts["rejected"] == len(rejected)
    assert counts["input"] == len(kept) + len(rejected) == m["steps"][0]["docs_in"]
    assert len({r["id"] for r in kept}) == len(kept)
    return kept, rejected, m


def run(curate, tmp_path: Path, inputs: list[str] | str, *args: str,
        **input_cfg: Any) -> tuple[int, Path]:
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "p.yaml", inputs, out, input=input_cfg)
    return curate(pipeline, *args), out


def error_text(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "Traceback" not in err
    return err


# ------------------------------------------------------------------- bad records

BAD_LINES: list[tuple[bytes, str | None]] = [
    (b'{"text": "good one"}', None),
    (b'{"text": "broken", ', "read:malformed_json"),
    (b"not json at all", "read:malformed_json"),
    (b'{"text": "caf\xe9 latin-1 \xff\xfe"}', "read:invalid_utf8"),
    (b'{"text": "half a pair \\ud800 here"}', "read:invalid_utf8"),
    (b'{"text": "low half \\uDC00"}', "read:invalid_utf8"),
    (b'["text", "an array"]', "read:not_an_object"),
    (b'"just a string"', "read:not_an_object"),
    (b'{"body": "no text field"}', "read:missing_text"),
    (b'{"text": null}', "read:missing_text"),
    (b'{"text": 42}', "read:text_not_string"),
    (b'{"text": ["a", "list"]}', "read:text_not_string"),
    (b'{"text": {"nested": "object"}}', "read:text_not_string"),
    (b'{"text": ""}', "read:empty"),
    (b'{"text": " \\n\\t \\u00a0 "}', "read:empty"),
    (b'{"text": "a full pair \\ud83d\\ude00 is fine"}', None),
    (b'{"text": "crlf line is fine"}\r', None),
    (b'{"text": "last good"}', None),
]


def test_bad_records_are_rejected_with_exact_reasons_and_raw_bytes(curate, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(line for line, _ in BAD_LINES) + b"\n")

    rc, out = run(curate, tmp_path, str(path))

    assert rc == 0
    kept, rejected, m = check_accounting(out)
    expected = {f"bad.jsonl:{n}": (line, reason)
                for n, (line, reason) in enumerate(BAD_LINES, start=1)}
    assert [r["id"] for r in kept] == [i for i, (_, why) in expected.items() if why is None]
    assert [r["text"] for r in kept] == ["good one", "a full pair 😀 is fine",
                                         "crlf line is fine", "last good"]
    assert {r["id"]: r["reason"] for r in rejected} == {
        i: why for i, (_, why) in expected.items() if why is not None}
    for row in rejected:
        line, _ = expected[row["id"]]
        assert row["raw"] == line + b"\n"  # the exact bytes of the line in the file
        assert row["source"] == "bad.jsonl"
        assert row["duplicate_of"] is None
    assert m["counts"] == {**m["counts"], "input": 18, "kept": 4, "rejected": 14}
    assert m["steps"][0]["rejected"] == {"empty": 2, "invalid_utf8": 3, "malformed_json": 2,
                                         "missing_text": 2, "not_an_object": 2,
                                         "text_not_string": 3}
    # bytes in counts what was read: kept texts plus the raw bytes of every reject
    kept_bytes = sum(len(r["text"].encode()) for r in kept)
    assert m["counts"]["bytes_in"] == kept_bytes + sum(len(r["raw"]) for r in rejected)
    assert m["counts"]["bytes_kept"] == kept_bytes


def test_invalid_utf8_raw_bytes_survive_exactly(curate, tmp_path):
    weird = b'{"text": "\x80\x81\xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 \x00"}'
    write_jsonl(tmp_path / "in.jsonl", [{"text": "fine"}, weird])

    rc, out = run(curate, tmp_path, str(tmp_path / "in.jsonl"))

    assert rc == 0
    _, rejected, _ = check_accounting(out)
    assert [(r["id"], r["reason"], r["raw"]) for r in rejected] == [
        ("in.jsonl:2", "read:invalid_utf8", weird + b"\n")]
    assert pq.read_schema(out / "rejected" / "part-00000.parquet").field("raw").type == \
        pa.binary()


def test_lone_surrogate_in_any_kept_field_is_invalid_utf8_not_a_crash(curate, tmp_path):
    lines = [b'{"id": "a", "text": "ok", "title": "\\ud800"}',
             b'{"id": "\\udfff", "text": "ok"}',
             b'{"id": "c", "text": "ok", "source": "\\ud800x"}',
             b'{"id": "d", "text": "ok", "unused": "\\ud800"}',
             b'{"id": "e", "text": "ok", "title": ["\\ud800"]}']
    write_jsonl(tmp_path / "in.jsonl", lines)

    rc, out = run(curate, tmp_path, str(tmp_path / "in.jsonl"), id_field="id",
                  metadata=["title"])

    assert rc == 0
    kept, rejected, _ = check_accounting(out)
    assert [r["id"] for r in kept] == ["d"]  # a field that is not kept does not matter
    assert [(r["id"], r["reason"]) for r in rejected] == [
        ("in.jsonl:1", "read:invalid_utf8"), ("in.jsonl:2", "read:invalid_utf8"),
        ("in.jsonl:3", "read:invalid_utf8"), ("in.jsonl:5", "read:invalid_utf8")]
    assert [r["raw"] for r in rejected] == [lines[i] + b"\n" for i in (0, 1, 2, 4)]


def test_missing_or_unusable_id_is_rejected_when_id_field_is_set(curate, tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "x"}, {"text": "no id"},
                                        {"id": "", "text": "empty id"},
                                        {"id": ["l"], "text": "list id"}, {"id": 7, "text": "y"}])
    rc, out = run(curate, tmp_path, str(tmp_path / "in.jsonl"), id_field="id")
    assert rc == 0
    kept, rejected, _ = check_accounting(out)
    assert [r["id"] for r in kept] == ["a", "7"]
    assert [(r["id"], r["reason"], r["text"]) for r in rejected] == [
        ("in.jsonl:2", "read:missing_id", "no id"), ("in.jsonl:3", "read:missing_id", "empty id"),
        ("in.jsonl:4", "read:missing_id", "list id")]


def test_invalid_utf8_paragraph_in_text_file(curate, tmp_path):
    (tmp_path / "t.txt").write_bytes(b"good para\n\nbad \xff para\n\nlast para\n")
    rc, out = run(curate, tmp_path, str(tmp_path / "t.txt"), text_mode="paragraph")
    assert rc == 0
    kept, rejected, _ = check_accounting(out)
    assert [(r["id"], r["text"]) for r in kept] == [("t.txt:0", "good para"),
                                                    ("t.txt:2", "last para")]
    assert [(r["id"], r["reason"], r["raw"]) for r in rejected] == [
        ("t.txt:1", "read:invalid_utf8", b"bad \xff para")]


def test_50mb_document_goes_through_intact(curate, tmp_path):
    # 50 numbered copies of a random 1 MiB block: every byte checked, cheap to compress
    block = os.urandom(1 << 19).hex()
    text = "début " + "".join(f"{i:04d}{block}" for i in range(50)) + " fin 😀"
    encoded = text.encode()
    assert len(encoded) > 50 * 1024 * 1024
    path = tmp_path / "big.jsonl"
    # no quotes, backslashes or control characters in `text`: this is valid JSON
    path.write_bytes(b'{"text": "small"}\n{"text": "' + encoded + b'"}\n')

    rc, out = run(curate, tmp_path, str(path))

    assert rc == 0
    m = manifest(out)
    assert m["counts"]["input"] == m["counts"]["kept"] == 2
    (data,) = [f["path"] for f in m["files"] if f["split"] == "data"]
    table = pq.read_table(out / data)
    assert table.column("id").to_pylist() == ["big.jsonl:1", "big.jsonl:2"]
    big = table.column("text")[1].as_py()
    assert len(big) == len(text) == 52_429_012
    assert hashlib.sha256(big.encode()).digest() == hashlib.sha256(encoded).digest()
    assert m["counts"]["bytes_in"] == len(encoded) + len(b"small")


def test_duplicate_ids_within_and_across_files_keep_the_first(curate, tmp_path):
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": "x", "text": "x first"},
                                              {"id": "y", "text": "y first"},
                                              {"id": "x", "text": "x again in a"}])
    write_jsonl(tmp_path / "in" / "b.jsonl", [{"id": "y", "text": "y again in b"},
                                              {"id": "z", "text": "z only"},
                                              {"id": "x", "text": "x third"}])

    rc, out = run(curate, tmp_path, str(tmp_path / "in"), id_field="id")

    assert rc == 0
    kept, rejected, m = check_accounting(out)
    assert [(r["id"], r["text"]) for r in kept] == [("x", "x first"), ("y", "y first"),
                                                    ("z", "z only")]
    assert [(r["id"], r["text"], r["reason"], r["duplicate_of"]) for r in rejected] == [
        ("x", "x again in a", "unique_ids:duplicate_id", "x"),
        ("y", "y again in b", "unique_ids:duplicate_id", "y"),
        ("x", "x third", "unique_ids:duplicate_id", "x")]
    assert m["steps"][1] == {**m["steps"][1], "name": "unique_ids", "docs_in": 6,
                             "docs_out": 3, "rejected": {"duplicate_id": 3}}


# ------------------------------------------------------------ unreadable files

def good_and_truncated(root: Path) -> Path:
    write_jsonl(root / "a.jsonl", [{"text": f"a{i}"} for i in range(3)])
    data = gzip.compress(b"".join(json.dumps({"text": f"b{i} " * 20}).encode() + b"\n"
                                  for i in range(2000)), mtime=0)
    bad = root / "b.jsonl.gz"
    bad.write_bytes(data[: len(data) // 2])
    write_jsonl(root / "c.jsonl", [{"text": f"c{i}"} for i in range(2)])
    return bad


def test_truncated_gzip_is_one_clear_error_then_skip_bad_files_finishes(curate, tmp_path,
                                                                         capsys):
    bad = good_and_truncated(tmp_path / "in")
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in"), tmp_path / "out")

    assert curate(pipeline) == 2
    err = error_text(capsys)
    naming = [line for line in err.splitlines() if "b.jsonl.gz" in line]
    assert len(naming) == 1
    assert naming[0].strip().startswith(f"file://{bad}: compressed stream is truncated")
    assert "a.jsonl" not in err and "c.jsonl" not in err
    assert "--skip-bad-files" in err
    # the readable files' units are finished (and kept for the resumed run)
    stage = tmp_path / "out" / "_work" / "stage-0"
    assert (stage / "u00000" / "done.json").exists()
    assert (stage / "u00002" / "done.json").exists()
    assert not (stage / "u00001").exists()
    assert not (tmp_path / "out" / "_manifest.json").exists()

    assert curate(pipeline, "--skip-bad-files") == 0
    kept, rejected, m = check_accounting(tmp_path / "out")
    assert [r["text"] for r in kept] == ["a0", "a1", "a2", "c0", "c1"]
    assert rejected == []
    assert m["inputs"]["files"] == 3
    (skipped,) = m["inputs"]["skipped_files"]
    assert skipped["path"] == f"file://{bad}"
    assert "truncated" in skipped["error"]
    assert not (tmp_path / "out" / "_work").exists()


def test_skip_bad_files_in_one_go(curate, tmp_path):
    bad = good_and_truncated(tmp_path / "in")
    rc, out = run(curate, tmp_path, str(tmp_path / "in"), "--skip-bad-files")
    assert rc == 0
    kept, _, m = check_accounting(out)
    assert len(kept) == 5
    assert [s["path"] for s in m["inputs"]["skipped_files"]] == [f"file://{bad}"]


def test_truncated_zstd_is_detected_not_silently_short(curate, tmp_path, capsys):
    data = b"".join(json.dumps({"text": f"doc {i}"}).encode() + b"\n" for i in range(10_000))
    compressed = zstandard.ZstdCompressor().compress(data)
    bad = tmp_path / "in.jsonl.zst"
    bad.write_bytes(compressed[: len(compressed) // 2])

    rc, _ = run(curate, tmp_path, str(bad))

    assert rc == 2
    err = error_text(capsys)
    assert f"file://{bad}: compressed stream is truncated or corrupt" in err


COMPRESSORS = {"gz": lambda d: gzip.compress(d, mtime=0), "bz2": bz2.compress,
               "xz": lzma.compress, "zst": zstandard.ZstdCompressor().compress}


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_compressed_file_raises_naming_the_file(tmp_path, suffix, damage):
    data = b"".join(json.dumps({"text": f"doc {i}"}).encode() + b"\n" for i in range(5_000))
    compressed = COMPRESSORS[suffix](data)
    payload = compressed[: len(compressed) // 2] if damage == "truncated" else \
        b"\x00garbage" + os.urandom(3000)
    path = tmp_path / f"in.jsonl.{suffix}"
    path.write_bytes(payload)
    config = InputConfig(paths=[str(path)])
    with pytest.raises(InputFileError) as info:
        list(read_file(discover(config)[0], config))
    assert info.value.path == f"file://{path}"
    assert str(info.value).startswith(f"file://{path}: ")
    if damage == "truncated":
        assert "compressed stream is truncated or corrupt" in info.value.problem


def test_parquet_without_text_column_names_file_and_columns(curate, tmp_path, capsys):
    path = tmp_path / "in" / "t.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"body": ["x"], "lang": ["en"]}), path)

    rc, _ = run(curate, tmp_path, str(path))

    assert rc == 2
    err = error_text(capsys)
    assert (f"file://{path}: no column 'text' (columns: body, lang); set input.text_field "
            "to the column that holds it") in err
    config = InputConfig(paths=[str(path)])
    with pytest.raises(InputFileError, match=r"no column 'text' \(columns: body, lang\)") as info:
        list(read_file(discover(config)[0], config))
    assert info.value.path == f"file://{path}"


def test_parquet_text_column_of_wrong_type(tmp_path):
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "n.parquet")
    config = InputConfig(paths=[str(tmp_path / "n.parquet")])
    with pytest.raises(InputFileError, match="column 'text' has type int64, not string"):
        list(read_file(discover(config)[0], config))


def test_corrupt_parquet_names_the_file(curate, tmp_path, capsys):
    path = tmp_path / "junk.parquet"
    path.write_bytes(os.urandom(4096))

    rc, _ = run(curate, tmp_path, str(path))

    assert rc == 2
    err = error_text(capsys)
    (line,) = [line for line in err.splitlines() if "junk.parquet" in line]
    assert line.strip().startswith(f"file://{path}: cannot read as parquet: ")


def test_empty_jsonl_is_zero_documents(curate, tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    rc, out = run(curate, tmp_path, str(tmp_path / "empty.jsonl"))
    assert rc == 0
    kept, rejected, m = check_accounting(out)
    assert kept == rejected == []
    assert m["counts"]["input"] == m["counts"]["bytes_in"] == 0
    assert m["inputs"] == {"files": 1, "bytes": 0, "skipped_files": [],
                           "empty_files": [f"file://{tmp_path}/empty.jsonl"]}


def test_empty_and_blank_files_beside_a_good_one(curate, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_bytes(b"")
    (tmp_path / "in" / "b.jsonl").write_bytes(b"\n\n  \n")
    (tmp_path / "in" / "c.jsonl.gz").write_bytes(gzip.compress(b"", mtime=0))
    write_jsonl(tmp_path / "in" / "d.jsonl", [{"text": "only one"}])
    rc, out = run(curate, tmp_path, str(tmp_path / "in"))
    assert rc == 0
    kept, _, m = check_accounting(out)
    assert [(r["id"], r["text"]) for r in kept] == [("d.jsonl:1", "only one")]
    assert m["inputs"]["files"] == 4
    folder = tmp_path / "in"
    assert m["inputs"]["empty_files"] == [f"file://{folder}/{name}"
                                          for name in ("a.jsonl", "b.jsonl", "c.jsonl.gz")]
    console = Console(width=300, record=True)
    print_summary(m, str(out), 1.0, console)
    assert (f"note: 3 input file(s) held no records: {folder}/a.jsonl, {folder}/b.jsonl, "
            f"{folder}/c.jsonl.gz") in console.export_text()


def test_strict_makes_the_first_bad_record_fatal(curate, tmp_path, capsys):
    path = write_jsonl(tmp_path / "s.jsonl", [{"text": "a"}, "{oops", {"text": 5}])

    rc, _ = run(curate, tmp_path, str(path), "--strict")

    assert rc == 2
    err = error_text(capsys)
    assert (f"file://{path}: record s.jsonl:2: read:malformed_json (--strict makes bad "
            "records fatal)") in err
    assert "s.jsonl:3" not in err

    rc, out = run(curate, tmp_path, str(path), "--overwrite")  # the same input, not strict
    assert rc == 0
    _, rejected, _ = check_accounting(out)
    assert [r["reason"] for r in rejected] == ["read:malformed_json", "read:text_not_string"]


# ---------------------------------------------------------- pipeline config errors

BASE = "name: t\ninput:\n  paths: [in.jsonl]\noutput:\n  path: out\n"

CONFIG_ERRORS = {
    "unknown_top_level_key": (
        BASE + "stepz: []\n",
        ["stepz: unknown key 'stepz' (did you mean 'steps'?)",
         "valid keys: name, input, output, executor, steps"]),
    "unknown_output_key": (
        BASE + "  compresion_level: 5\n",
        ["output.compresion_level: unknown key 'compresion_level' "
         "(did you mean 'compression_level'?)", "valid keys: path, write_rejected"]),
    "unknown_step": (
        BASE + "steps:\n  - lenght: {min_words: 3}\n",
        ["steps[0]: unknown step 'lenght' (did you mean 'length'?)", "valid steps: ",
         "exact_dedup", "sample", "split"]),
    "unknown_step_parameter": (
        BASE + "steps:\n  - length: {min_wrds: 3}\n",
        ["steps[0].length.min_wrds: unknown key 'min_wrds' (did you mean 'min_words'?)",
         "valid keys: mode, min_chars, max_chars, min_words, max_words"]),
    "wrong_value_type": (
        BASE + "  row_group_rows: many\n",
        ["output.row_group_rows: Input should be a valid integer", "(got 'many')"]),
    "wrong_step_value_type": (
        BASE + "steps:\n  - length: {min_words: [1]}\n",
        ["steps[0].length.min_words: Input should be a valid integer", "(got [1])"]),
    "missing_required_key": (
        "name: t\noutput:\n  path: out\n", ["input: required key is missing"]),
    "yaml_syntax_error": (
        "name: t\ninput:\n  paths: [in.jsonl]\n  text_field: text: body\n",
        [":4:19: invalid YAML: mapping values are not allowed here"]),
}


@pytest.mark.parametrize("case", list(CONFIG_ERRORS))
def test_config_errors_exit_2_with_file_and_key_path(curate, tmp_path, capsys, case):
    text, expected = CONFIG_ERRORS[case]
    pipeline = tmp_path / "bad.yaml"
    pipeline.write_text(text)

    assert curate(pipeline) == 2

    err = error_text(capsys)
    assert err.startswith(f"error: {pipeline}")
    for fragment in expected:
        assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_missing_pipeline_file(curate, tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert curate(missing) == 2
    err = error_text(capsys)
    assert err.startswith(f"error: {missing}: cannot read pipeline file")
    assert "No such file or directory" in err


def test_overrides_on_the_command_line_take_effect(curate, tmp_path):
    texts = ["one two three", "one two three four five", "a b c d e f g"]
    write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in.jsonl"),
                              tmp_path / "yaml-out", steps=[{"length": {"min_words": 1}}])
    elsewhere = tmp_path / "override-out"

    assert curate(pipeline, "steps.length.min_words=5", f"output.path={elsewhere}") == 0

    assert not (tmp_path / "yaml-out").exists()
    kept, rejected, m = check_accounting(elsewhere)
    assert [r["text"] for r in kept] == ["one two three four five", "a b c d e f g"]
    assert [r["n_words"] for r in kept] == [5, 7]
    assert [(r["id"], r["reason"]) for r in rejected] == [("in.jsonl:1", "length:too_few_words")]
    assert m["pipeline"]["overrides"] == ["steps.length.min_words=5", f"output.path={elsewhere}"]
    assert m["pipeline"]["resolved"]["steps"][0]["length"]["min_words"] == 5


def test_bad_override_is_a_config_error(curate, tmp_path, capsys):
    pipeline = write_pipeline(tmp_path / "p.yaml", "in.jsonl", tmp_path / "out",
                              steps=[{"length": {"min_words": 1}}])
    assert curate(pipeline, "steps.dedup.threshold=1") == 2
    err = error_text(capsys)
    assert err.startswith(f"error: {pipeline}: override steps.dedup.threshold: no list item "
                          "'dedup'")
    assert curate(pipeline, "steps.length.min_wordz=3") == 2
    err = error_text(capsys)
    assert "steps[0].length.min_wordz: unknown key 'min_wordz' (did you mean 'min_words'?)" in err
