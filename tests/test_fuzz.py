"""Fuzz the readers and the pipeline loader with hypothesis.

The contract under test: bad input ends in a documented outcome, never a traceback. A bad
record becomes `Rejected` with a `read:*` reason, an unreadable file raises `InputFileError`,
a bad pipeline raises `ConfigError` naming the file; and every record read comes back as
exactly one kept or rejected record (documents in = kept + rejected).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from curation.core.config import InputConfig, load_pipeline
from curation.core.document import Document, Rejected
from curation.core.errors import ConfigError, InputFileError
from curation.core.registry import all_steps
from curation.io.readers import InputFile, read_file

FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
READ_REASONS = {"read:malformed_json", "read:invalid_utf8", "read:not_an_object",
                "read:missing_text", "read:text_not_string", "read:empty", "read:missing_id"}
Record = Document | Rejected

# ------------------------------------------------------------------------- strategies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
field_names = st.sampled_from(["text", "id", "source", "meta", "other"])
records = st.dictionaries(field_names, json_values, max_size=5)
# Lines a JSON encoder never writes: broken bytes, lone surrogates, NaN, deep or huge values.
odd_lines = st.binary(max_size=60) | st.sampled_from([
    b'{"text": "a\\ud800b"}', b'{"text": "x", "id": "\\uDFFF"}', b'{"text": NaN, "id": 1}',
    b'{"text": "x", "id": Infinity}', b"\xef\xbb\xbf{\"text\": \"bom\"}", b'{"text": "\xff"}',
    b"[" * 5_000, b'{"text": "x", "id": ' + b"7" * 5000 + b"}", b"null", b'"text"',
    b'{"text": "x", "text": 5}', b"\x00", b" \t\r", b"{"])


encoded_records = st.builds(lambda record, ascii: json.dumps(record, ensure_ascii=ascii).encode(),
                            records, st.booleans())
jsonl_bytes = st.builds(bytes.join, st.sampled_from([b"\n", b"\r\n"]),
                        st.lists(encoded_records | odd_lines, max_size=12))


input_configs = st.builds(
    lambda id_field, source_field, metadata: InputConfig(
        paths=["x"], id_field=id_field, source_field=source_field, metadata=metadata),
    st.sampled_from([None, "id"]), st.sampled_from([None, "source", "meta"]),
    st.sampled_from([[], ["meta"], ["meta", "other"]]))


# --------------------------------------------------------------------------- helpers

def read(path: Path, fmt: str, cfg: InputConfig) -> list[Record] | InputFileError:
    """Every record of one file, or the documented file-level error."""
    unit = InputFile(0, str(path), path.name, fmt, path.stat().st_size)
    try:
        return list(read_file(unit, cfg))
    except InputFileError as err:
        assert str(path) in str(err)
        return err


def check_writable(records: list[Record]) -> None:
    """Each record can go into a UTF-8 Parquet shard; rejections carry a documented reason."""
    for record in records:
        doc = record.doc if isinstance(record, Rejected) else record
        if isinstance(record, Rejected):
            assert record.reason in READ_REASONS, record.reason
        else:
            assert doc.text.strip()
        for value in (doc.id, doc.text, doc.source, *doc.meta.values()):
            assert value is None or isinstance(value, str)
            if value is not None:
                value.encode("utf-8")  # no lone surrogates


def nonblank_lines(data: bytes) -> list[int]:
    """The line numbers a JSONL reader must account for (blank lines are not records)."""
    lines = data.split(b"\n")
    if lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    return [number for number, line in enumerate(lines, start=1) if line.strip()]


def record_id(record: Record) -> str:
    return record.doc.id if isinstance(record, Rejected) else record.id


# ----------------------------------------------------------------------------- JSONL

@FUZZ
@given(data=jsonl_bytes, cfg=input_configs, compress=st.booleans())
def test_jsonl_accounts_for_every_line(tmp_path: Path, data: bytes, cfg: InputConfig,
                                       compress: bool) -> None:
    path = tmp_path / ("in.jsonl.gz" if compress else "in.jsonl")
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    result = read(path, "jsonl", cfg)
    assert not isinstance(result, InputFileError), result
    check_writable(result)
    expected = nonblank_lines(data)
    assert len(result) == len(expected)
    if cfg.id_field is None:  # derived ids name the line: no line lost, none read twice
        assert [record_id(r) for r in result] == [f"{path.name}:{n}" for n in expected]


@FUZZ
@given(data=jsonl_bytes, cut=st.floats(0, 0.999))
def test_truncated_gzip_is_a_file_error(tmp_path: Path, data: bytes, cut: float) -> None:
    packed = gzip.compress(data, mtime=0)
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(packed[:max(1, int(len(packed) * cut))])  # an empty file is no stream
    result = read(path, "jsonl", InputConfig(paths=["x"]))
    assert isinstance(result, InputFileError), "a cut gzip stream must not pass as complete"


@FUZZ
@given(data=st.binary(max_size=200), fmt=st.sampled_from(["jsonl", "text", "parquet"]),
       suffix=st.sampled_from(["", ".gz", ".bz2", ".xz", ".zst"]))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes, fmt: str, suffix: str) -> None:
    path = tmp_path / f"in.{fmt}{suffix if fmt != 'parquet' else ''}"
    path.write_bytes(data)
    result = read(path, fmt, InputConfig(paths=["x"]))
    if not isinstance(result, InputFileError):
        check_writable(result)


# ------------------------------------------------------------------------------ text

@FUZZ
@given(blocks=st.lists(st.binary(max_size=40) | st.text(max_size=40).map(str.encode),
                       max_size=8),
       separator=st.sampled_from([b"\n\n", b"\r\n\r\n", b"\n \t\n\n", b"\n"]),
       mode=st.sampled_from(["file", "paragraph"]))
def test_text_keeps_every_byte(tmp_path: Path, blocks: list[bytes], separator: bytes,
                               mode: str) -> None:
    data = separator.join(blocks)
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    result = read(path, "text", InputConfig(paths=["x"], text_mode=mode))
    assert not isinstance(result, InputFileError), result
    check_writable(result)
    if mode == "file":
        assert len(result) == 1
    # Only ASCII whitespace between blocks may go: every other byte is kept or rejected.
    got = b"".join(r.raw or r.doc.text.encode() if isinstance(r, Rejected) else r.text.encode()
                   for r in result)
    assert squeeze(got) == squeeze(data)


def squeeze(data: bytes) -> bytes:
    return re.sub(rb"[ \t\r\n\x0b\x0c]", b"", data)


# --------------------------------------------------------------------------- Parquet

columns = st.sampled_from([
    pa.array(["a", None, " ", "ok text"]), pa.array(["a", "b", "c", "d"], pa.large_string()),
    pa.array([1, 2, None, 4]), pa.array([b"x", b"\xff", None, b""]),
    pa.array([True, False, None, True]), pa.array([[1], [], None, [2, 3]]),
    pa.array([1.5, float("nan"), None, 0.0]), pa.array([{"a": 1}, None, {"a": 2}, {"a": 3}]),
    pa.array(["a", "b", "a", "b"]).dictionary_encode()])


@FUZZ
@given(text=columns, id_col=columns, meta=columns, cfg=input_configs,
       has_text=st.booleans())
def test_parquet_accounts_for_every_row(tmp_path: Path, text: pa.Array, id_col: pa.Array,
                                        meta: pa.Array, cfg: InputConfig,
                                        has_text: bool) -> None:
    table = pa.table({"id": id_col, "meta": meta, **({"text": text} if has_text else {})})
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    result = read(path, "parquet", cfg)
    if isinstance(result, InputFileError):  # no text column, or one that is not text
        assert "input.text_field" in result.problem
        return
    check_writable(result)
    assert len(result) == table.num_rows
    if cfg.id_field is None:
        assert [record_id(r) for r in result] == [f"in.parquet:{row}" for row in range(4)]


@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0, 0.999), st.integers(0, 255)), min_size=1,
                      max_size=6),
       cut=st.none() | st.floats(0, 0.999))
def test_corrupt_parquet_is_a_file_error(tmp_path: Path, flips: list[tuple[float, int]],
                                         cut: float | None) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": [f"document {i}" for i in range(50)]}), buffer)
    data = bytearray(buffer.getvalue())
    for where, byte in flips:
        data[int(len(data) * where)] = byte
    path = tmp_path / "in.parquet"
    path.write_bytes(bytes(data[:int(len(data) * cut)] if cut is not None else data))
    result = read(path, "parquet", InputConfig(paths=["x"]))
    if not isinstance(result, InputFileError):
        check_writable(result)


# ------------------------------------------------------------------------ huge lines

@pytest.mark.slow
def test_huge_lines(tmp_path: Path) -> None:
    """A 30 MB JSON line and a 30 MB text line without a newline are read whole."""
    text = "word " * 6_000_000
    path = tmp_path / "in.jsonl"
    path.write_bytes(json.dumps({"text": text}).encode() + b"\n" + b"[" * 1_000_000)
    (doc, deep) = read(path, "jsonl", InputConfig(paths=["x"]))
    assert doc.text == text and deep.reason == "read:malformed_json"
    path = tmp_path / "in.txt"
    path.write_text(text)
    (doc,) = read(path, "text", InputConfig(paths=["x"]))
    assert doc.text == text


# ---------------------------------------------------------------------- pipeline YAML

def expect_config_error(path: Path, overrides: list[str] = ()) -> None:
    """Loading succeeds or fails with a ConfigError that starts with the file or override."""
    try:
        load_pipeline(path, overrides)
    except ConfigError as err:
        assert str(err).startswith((str(path), "override")), str(err)


step_names = st.sampled_from(sorted(all_steps())) | st.text(max_size=10)
yaml_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=12) | st.integers() | st.none(), inner, max_size=3),
    max_leaves=8)
steps = st.lists(step_names | st.dictionaries(step_names | st.integers() | st.none(),
                                              yaml_values | st.dictionaries(
                                                  st.text(max_size=12), yaml_values,
                                                  max_size=3), min_size=1, max_size=2)
                 | yaml_values, max_size=4)
sections = st.fixed_dictionaries(
    {}, optional={"name": yaml_values, "steps": steps | yaml_values,
                  "input": st.fixed_dictionaries(
                      {"paths": st.just(["a/*.jsonl"]) | yaml_values},
                      optional={"text_field": yaml_values, "format": yaml_values,
                                "text_mode": yaml_values}) | yaml_values,
                  "output": st.fixed_dictionaries(
                      {"path": st.just("out") | yaml_values},
                      optional={"shard_max_bytes": yaml_values}) | yaml_values,
                  "executor": yaml_values}).flatmap(
    lambda known: st.dictionaries(st.text(max_size=8) | st.integers(), yaml_values,
                                  max_size=2).map(lambda extra: {**extra, **known}))


@FUZZ
@given(document=sections)
def test_random_pipelines_fail_with_config_errors(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    expect_config_error(path)


@FUZZ
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(
    lambda b: b.decode("latin-1")))
def test_random_yaml_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    expect_config_error(path)


override_keys = st.lists(st.sampled_from(["steps", "input", "output", "paths", "length",
                                          "min_words", "0", "1", "7", "x", ""]),
                         min_size=1, max_size=4).map(".".join)


@FUZZ
@given(overrides=st.lists(st.tuples(override_keys, st.text(max_size=15)), max_size=3),
       bare=st.booleans())
def test_random_overrides(tmp_path: Path, overrides: list[tuple[str, str]],
                          bare: bool) -> None:
    assume(all("=" not in key for key, _ in overrides))
    path = tmp_path / "p.yaml"
    steps_yaml = "[length, exact_dedup]" if bare else "[{length: {min_words: 1}}, exact_dedup]"
    path.write_text(f"input: {{paths: [a.jsonl]}}\noutput: {{path: o}}\nsteps: {steps_yaml}\n")
    expect_config_error(path, [f"{key}={value}" for key, value in overrides])


@pytest.mark.parametrize("text", ["[" * 3_000, "{a: " * 3_000, "- " * 3_000])
def test_deep_yaml_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=str(path)):
        load_pipeline(path)


# ------------------------------------------------------- regressions the fuzzing found

def test_json_that_python_cannot_hold_is_malformed(tmp_path: Path) -> None:
    """Deep nesting (RecursionError) and >4300-digit ints (ValueError) used to crash."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"[" * 5_000 + b"\n" + b'{"text": "x", "n": ' + b"7" * 5_000 + b"}\n")
    result = read(path, "jsonl", InputConfig(paths=["x"]))
    assert [r.reason for r in result] == ["read:malformed_json"] * 2


def test_parquet_string_with_invalid_utf8_is_a_file_error(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": ["valid MARK text"]}), buffer, compression="none",
                   use_dictionary=False, write_statistics=False)
    path = tmp_path / "in.parquet"
    path.write_bytes(buffer.getvalue().replace(b"MARK", b"\x80\xffMA"))
    result = read(path, "parquet", InputConfig(paths=["x"]))
    assert isinstance(result, InputFileError)
    assert "string column holds invalid UTF-8" in result.problem


def test_override_value_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("input: {paths: [a.jsonl]}\noutput: {path: o}\n")
    with pytest.raises(ConfigError, match=r"override name: '\[a' is not a valid YAML value"):
        load_pipeline(path, ["name=[a"])


@pytest.mark.parametrize("step", ["1: {}", "null: {min_words: 2}"])
def test_step_name_that_is_not_a_string(tmp_path: Path, step: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"input: {{paths: [a.jsonl]}}\noutput: {{path: o}}\nsteps:\n  - {step}\n")
    with pytest.raises(ConfigError, match=r"steps\[0\]: write a step as `- name`"):
        load_pipeline(path)
