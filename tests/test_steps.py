"""Steps through the real command: length, exact_dedup, sample, split.

Every run also checks the accounting invariant against the rows actually in the files:
input = kept + rejected, each input id exactly once, and the manifest agrees.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.support.curation import manifest, write_jsonl, write_pipeline


@dataclass
class Output:
    kept: dict[str, list[dict[str, Any]]]  # by split: "data" or "train"/"validation"
    rejected: list[dict[str, Any]]
    manifest: dict[str, Any]

    @property
    def all_kept(self) -> list[dict[str, Any]]:
        return [row for rows in self.kept.values() for row in rows]

    def kept_ids(self) -> set[str]:
        return {row["id"] for row in self.all_kept}

    def step(self, name: str) -> dict[str, Any]:
        return next(s for s in self.manifest["steps"] if s["name"] == name)


def read(paths: list[Path]) -> list[dict[str, Any]]:
    return [row for p in sorted(paths) for row in pq.read_table(p).to_pylist()]


def load_output(out: Path, input_ids: list[str]) -> Output:
    """Read every output file and check the accounting invariant on them."""
    m = manifest(out)
    kept_files = {"data": list(out.glob("part-*.parquet")),
                  "train": list(out.glob("train/part-*.parquet")),
                  "validation": list(out.glob("validation/part-*.parquet"))}
    rejected_files = list(out.glob("rejected/part-*.parquet"))
    every = [*rejected_files, *(p for files in kept_files.values() for p in files)]
    on_disk = {str(p.relative_to(out)) for p in every}
    assert on_disk == {f["path"] for f in m["files"]}
    kept = {split: read(files) for split, files in kept_files.items() if files}
    result = Output(kept, read(rejected_files), m)

    ids = [row["id"] for row in result.all_kept] + [row["id"] for row in result.rejected]
    assert len(ids) == len(set(ids)), "a document was written twice"
    assert sorted(ids) == sorted(input_ids), "documents lost or invented"
    counts = m["counts"]
    assert counts["input"] == len(input_ids) == counts["kept"] + counts["rejected"]
    assert counts["kept"] == len(result.all_kept)
    assert counts["rejected"] == len(result.rejected)
    assert counts["kept_by_split"] == {k: len(v) for k, v in kept.items()}
    for f in m["files"]:
        assert f["rows"] == pq.ParquetFile(out / f["path"]).metadata.num_rows
    for split, rows in kept.items():
        if split != "data":
            assert {row["split"] for row in rows} == {split}
    return result


@pytest.fixture
def run(tmp_path, curate):
    """run(files, steps, **options) -> Output; `files` maps file names to records."""
    counter = iter(range(1000))

    def go(files: dict[str, list[Any]], steps: list[Any], workers: int = 2,
           id_field: str | None = None, input_ids: list[str] | None = None) -> Output:
        n = next(counter)
        folder = tmp_path / f"in{n}"
        for name, records in files.items():
            write_jsonl(folder / name, records)
        if input_ids is None:
            input_ids = ([r[id_field] for recs in files.values() for r in recs] if id_field
                         else [f"{name}:{line}" for name, recs in files.items()
                               for line in range(1, len(recs) + 1)])
        out = tmp_path / f"out{n}"
        extra = {"input": {"id_field": id_field}} if id_field else {}
        yaml_path = write_pipeline(tmp_path / f"p{n}.yaml", str(folder), out, steps, **extra)
        assert curate(yaml_path, "--workers", workers) == 0
        return load_output(out, input_ids)

    return go


def docs(*texts: str) -> list[dict[str, str]]:
    return [{"text": t} for t in texts]


# ---------------------------------------------------------------- length

CHAR_DOCS = ["abc", "abcd", "abcde", "abcdef"]  # 3..6 characters, one word each
WORD_DOCS = ["w", "w w", "w w w", "w w w w", "w w w w w"]  # 1..5 words


@pytest.mark.parametrize("bound,value,texts,kept,rule", [
    ("min_chars", 5, CHAR_DOCS, ["abcde", "abcdef"], "too_few_chars"),
    ("max_chars", 5, CHAR_DOCS, ["abc", "abcd", "abcde"], "too_many_chars"),
    ("min_words", 3, WORD_DOCS, WORD_DOCS[2:], "too_few_words"),
    ("max_words", 3, WORD_DOCS, WORD_DOCS[:3], "too_many_words"),
])
def test_length_bounds_are_inclusive(run, bound, value, texts, kept, rule):
    out = run({"a.jsonl": docs(*texts)}, [{"length": {bound: value}}])
    assert sorted(r["text"] for r in out.all_kept) == sorted(kept)
    dropped = sorted(set(texts) - set(kept))
    assert sorted(r["text"] for r in out.rejected) == dropped
    assert {r["reason"] for r in out.rejected} == {f"length:{rule}"}
    for row in out.all_kept + out.rejected:
        assert (row["n_chars"], row["n_words"]) == (len(row["text"]), len(row["text"].split()))
    step = out.step("length")
    assert step["rejected"] == {rule: len(dropped)}
    assert (step["docs_in"], step["docs_out"]) == (len(texts), len(kept))


def test_length_annotate_keeps_everything_and_counts_flags(run):
    short = ["a b"] * 3  # 3 chars, 2 words: too few words
    long = ["aaaa bbbb cccc dddd eeee"] * 2  # 24 chars: too many chars
    fine = ["aa bb cc"] * 4
    texts = short + long + fine
    out = run({"a.jsonl": docs(*texts)},
              [{"length": {"min_words": 3, "max_chars": 20, "mode": "annotate"}}])
    assert len(out.all_kept) == 9 and out.rejected == []
    step = out.step("length")
    assert step["rejected"] == {}
    assert step["flagged"] == {"too_few_words": 3, "too_many_chars": 2}
    assert (step["docs_in"], step["docs_out"]) == (9, 9)
    assert sorted(r["n_words"] for r in out.all_kept) == [2, 2, 2, 3, 3, 3, 3, 5, 5]


# ---------------------------------------------------------------- exact_dedup

X, Y = "the same text again", "another repeated text"


def test_exact_dedup_keeps_first_copy_in_input_order_across_files(run):
    files = {  # input order is by file name: a, b, c (written in another order on purpose)
        "c.jsonl": docs(Y, X, "unique c"),
        "a.jsonl": docs("unique a", X, "unique a2", X),
        "b.jsonl": docs(X, Y),
    }
    out = run(files, ["exact_dedup"], workers=3)
    kept = {r["id"]: r for r in out.all_kept}
    assert sorted(kept) == ["a.jsonl:1", "a.jsonl:2", "a.jsonl:3", "b.jsonl:2", "c.jsonl:3"]
    assert kept["a.jsonl:2"]["text"] == X and kept["a.jsonl:2"]["exact_dup_copies"] == 4
    assert kept["b.jsonl:2"]["text"] == Y and kept["b.jsonl:2"]["exact_dup_copies"] == 2
    for unique in ("a.jsonl:1", "a.jsonl:3", "c.jsonl:3"):
        assert kept[unique]["exact_dup_copies"] == 1
    rejected = {r["id"]: r for r in out.rejected}
    assert {i: r["duplicate_of"] for i, r in rejected.items()} == {
        "a.jsonl:4": "a.jsonl:2", "b.jsonl:1": "a.jsonl:2", "c.jsonl:2": "a.jsonl:2",
        "c.jsonl:1": "b.jsonl:2"}
    assert {r["reason"] for r in out.rejected} == {"exact_dedup:duplicate"}
    assert {i: r["exact_dup_copies"] for i, r in rejected.items()} == {
        "a.jsonl:4": 4, "b.jsonl:1": 4, "c.jsonl:2": 4, "c.jsonl:1": 2}
    for row in out.rejected:
        if "exact_dup_of" in row:  # the annotate-friendly copy of duplicate_of
            assert row["exact_dup_of"] == row["duplicate_of"]
    assert out.step("exact_dedup")["rejected"] == {"duplicate": 4}


@pytest.mark.parametrize("normalize,kept", [(True, 2), (False, 4)])
def test_exact_dedup_normalize(run, normalize, kept):
    texts = ["Hello, World!", "hello world", "HELLO   world...", "something else"]
    out = run({"a.jsonl": docs(*texts)}, [{"exact_dedup": {"normalize": normalize}}])
    assert len(out.all_kept) == kept
    if normalize:
        assert sorted(r["text"] for r in out.all_kept) == ["Hello, World!", "something else"]
        assert {r["duplicate_of"] for r in out.rejected} == {"a.jsonl:1"}
        first = next(r for r in out.all_kept if r["id"] == "a.jsonl:1")
        assert first["exact_dup_copies"] == 3
    else:
        assert out.rejected == []
        assert {r["exact_dup_copies"] for r in out.all_kept} == {1}


def test_exact_dedup_counts_only_copies_that_reach_it(run):
    """A copy dropped by an earlier step is not a duplicate, and is not counted."""
    files = {"a.jsonl": docs("x y", "x y z", "x y"), "b.jsonl": docs("x y z", "X Y Z!")}
    out = run(files, [{"length": {"min_words": 3}}, "exact_dedup"])
    assert [(r["id"], r["exact_dup_copies"]) for r in out.all_kept] == [("a.jsonl:2", 3)]
    assert sorted((r["id"], r["reason"]) for r in out.rejected) == [
        ("a.jsonl:1", "length:too_few_words"), ("a.jsonl:3", "length:too_few_words"),
        ("b.jsonl:1", "exact_dedup:duplicate"), ("b.jsonl:2", "exact_dedup:duplicate")]


# ---------------------------------------------------------------- sample and split


@pytest.fixture(scope="module")
def corpus() -> tuple[dict[str, list], dict[str, list]]:
    """10,000 documents with ids, as 4 files, and shuffled into 3 other files."""
    records = [{"id": f"doc-{i:05d}", "text": f"text of document number {i}"}
               for i in range(10_000)]
    shuffled = records[:]
    random.Random(5).shuffle(shuffled)
    first = {f"part{k}.jsonl": records[k * 2500:(k + 1) * 2500] for k in range(4)}
    second = {"zz.jsonl": shuffled[:5000], "mm.jsonl": shuffled[5000:7000],
              "aa.jsonl": shuffled[7000:]}
    return first, second


def test_sample_is_deterministic_by_id(run, corpus):
    first, shuffled = corpus
    step = [{"sample": {"rate": 0.3}}]
    a = run(first, step, workers=2, id_field="id")
    b = run(first, step, workers=1, id_field="id")
    c = run(shuffled, step, workers=3, id_field="id")
    assert a.kept_ids() == b.kept_ids() == c.kept_ids()
    assert abs(len(a.kept_ids()) / 10_000 - 0.3) <= 0.02
    assert {r["reason"] for r in a.rejected} == {"sample:sampled_out"}
    assert a.step("sample")["rejected"] == {"sampled_out": 10_000 - len(a.kept_ids())}


def test_split_depends_only_on_the_id(run, corpus):
    first, shuffled = corpus
    step = [{"split": {"validation_fraction": 0.1}}]
    a = run(first, step, id_field="id")
    b = run(shuffled, step, workers=3, id_field="id")
    assert set(a.kept) == {"train", "validation"}
    assert a.rejected == [] and len(a.all_kept) == 10_000
    train = {r["id"] for r in a.kept["train"]}
    validation = {r["id"] for r in a.kept["validation"]}
    assert not train & validation
    assert abs(len(validation) / 10_000 - 0.1) <= 0.015
    assert {r["id"] for r in b.kept["train"]} == train
    assert {r["id"] for r in b.kept["validation"]} == validation
    assert a.manifest["counts"]["kept_by_split"] == {"train": len(train),
                                                     "validation": len(validation)}
