"""paragraph_dedup removes repeated paragraphs/lines in corpus order; the Bloom filter
keeps its stated false-positive rate."""

from __future__ import annotations

import numpy as np
import pytest

from curation.dedup.bloom import BloomFilter
from tests.support.curation import manifest, read_rows, write_jsonl, write_pipeline

BOILER = "Share this: Facebook Twitter Email"


def _doc(i: int, extra: str = "") -> str:
    body = f"Paragraph {i} talks about topic number {i} in words of its own."
    return f"{body}\n\n{BOILER}\n\n{extra or f'Closing remark for document {i}.'}"


def _run(tmp_path, curate, records_per_file, **params):
    for n, records in enumerate(records_per_file):
        write_jsonl(tmp_path / "in" / f"part-{n}.jsonl", records)
    out = tmp_path / "out"
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in"), out,
                              [{"paragraph_dedup": params}])
    assert curate(pipeline, "--workers", "2") == 0
    return out


def test_repeats_removed_after_first_occurrence_across_files(tmp_path, curate):
    files = [[{"text": _doc(i)} for i in range(0, 5)], [{"text": _doc(i)} for i in range(5, 10)]]
    out = _run(tmp_path, curate, files)
    rows = {r["id"]: r for r in read_rows(out / "part-00000.parquet")}
    first = rows["part-0.jsonl:1"]
    assert BOILER in first["text"] and first["dup_paragraphs"] == 0
    for doc_id, row in rows.items():
        if doc_id != "part-0.jsonl:1":
            assert BOILER not in row["text"]
            assert row["dup_paragraphs"] == 1
            assert row["text"].count("\n\n") == 1  # one separator left between two paragraphs
    report = manifest(out)["steps"][1]["report"]
    assert report["total"] == 30 and report["removed"] == 9
    assert report["expected_false_positive_rate"] == pytest.approx(1e-5, rel=0.5)


def test_document_made_only_of_seen_paragraphs_is_rejected(tmp_path, curate):
    out = _run(tmp_path, curate, [[{"text": "alpha beta\n\ngamma delta"},
                                   {"text": "Alpha, beta!\n\n gamma   delta"}]])
    m = manifest(out)
    assert m["counts"] == {**m["counts"], "input": 2, "kept": 1, "rejected": 1}
    rejected = read_rows(out / "rejected")
    assert [r["reason"] for r in rejected] == ["paragraph_dedup:all_duplicate"]


def test_lines_min_chars_and_annotate(tmp_path, curate):
    text = "Home\nthe same long line of boilerplate text\nunique {i}"
    files = [[{"text": text.format(i=i)} for i in range(3)]]
    out = _run(tmp_path, curate, files, unit="line", min_chars=5)
    texts = [r["text"] for r in read_rows(out / "part-00000.parquet")]
    assert texts == [text.format(i=0), "Home\nunique 1", "Home\nunique 2"]  # short kept

    annotated = _run(tmp_path / "a", curate, files, unit="line", mode="annotate")
    rows = read_rows(annotated / "part-00000.parquet")
    assert [r["text"] for r in rows] == [text.format(i=i) for i in range(3)]
    assert [r["dup_paragraphs"] for r in rows] == [0, 2, 2]


def test_bloom_filter_rate_and_no_false_negatives():
    rng = np.random.default_rng(0)
    bloom = BloomFilter(50_000, 1e-3)
    seen = rng.integers(1, 2**63, 50_000, dtype=np.uint64)
    bloom.add(seen)
    assert bloom.contains(seen).all()
    fresh = rng.integers(1, 2**63, 400_000, dtype=np.uint64)
    assert bloom.contains(fresh).mean() == pytest.approx(1e-3, rel=0.3)
    assert bloom.expected_false_positive_rate() == pytest.approx(1e-3, rel=0.05)
