"""Input ids by default: an `id` in every input file is used when `input.id_field` is unset."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.support.curation import manifest, read_rows, write_jsonl, write_pipeline


def run(curate, tmp_path: Path, inputs: list[str], name: str) -> tuple[dict, list[dict]]:
    out = tmp_path / name
    assert curate(write_pipeline(tmp_path / f"{name}.yaml", inputs, out)) in (0, 2)
    return manifest(out), read_rows(out)


def test_ids_of_the_input_are_kept(tmp_path: Path, curate) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "doc-1", "text": "one"},
                                           {"id": 2, "text": "two"},
                                           {"id": "doc-1", "text": "again"}])
    pq.write_table(pa.table({"id": ["p-1", "p-2"], "text": ["three", "four"]}),
                   tmp_path / "b.parquet")
    found, rows = run(curate, tmp_path, [str(a), str(tmp_path / "b.parquet")], "ids")
    kept = sorted(r["id"] for r in rows if r.get("reason") is None)
    assert kept == ["2", "doc-1", "p-1", "p-2"]
    assert {r["reason"] for r in rows if r.get("reason")} == {"unique_ids:duplicate_id"}
    assert found["pipeline"]["resolved"]["input"]["id_field"] == "id"


def test_ids_are_derived_unless_every_file_has_them(tmp_path: Path, curate) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "text": "one"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"text": "two"}])
    found, rows = run(curate, tmp_path, [str(a), str(b)], "derived")
    assert sorted(r["id"] for r in rows) == ["a.jsonl:1", "b.jsonl:1"]
    assert found["pipeline"]["resolved"]["input"]["id_field"] is None


def test_a_later_record_without_id_is_rejected_not_renamed(tmp_path: Path, curate) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "text": "one"}, {"text": "two"}])
    found, rows = run(curate, tmp_path, [str(a)], "later")
    assert found["steps"][0]["rejected"] == {"missing_id": 1}
    assert [r["id"] for r in rows if r.get("reason") is None] == ["x"]
