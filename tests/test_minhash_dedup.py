"""The minhash_dedup step through the real command: planted near-duplicate clusters in
real text, keep rules, verify, annotate, the report, determinism and resume after SIGKILL.

Documents are passages of Project Gutenberg books (copied from /work/shared/data into
tmp), 150-300 words each, from the middle of each book (no license boilerplate). Planted
clusters are edited copies of some passages, spread over three files.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support.curation import (
    REPO,
    SHARED_DATA,
    manifest,
    read_rows,
    write_jsonl,
    write_pipeline,
)

SHARED = SHARED_DATA / "clean_gutenberg_en"
BOOKS = ["dracula.txt", "moby_dick.txt", "jane_eyre.txt", "pride_and_prejudice.txt",
         "time_machine.txt", "dubliners.txt"]
RULE = "minhash_dedup:near_duplicate"
PII = "Write to jane.roe@example.com or call +1 (555) 010-4477 before noon."
BOILERPLATE = "Share this page: Facebook | Twitter | Email. Subscribe to our newsletter."


# ---------------------------------------------------------------- corpus


@pytest.fixture(scope="module")
def passages(tmp_path_factory) -> list[str]:
    """90 passages of 150-300 words: 15 from the middle of each of six books."""
    if not SHARED.is_dir():
        pytest.skip("needs /work/shared/data/clean_gutenberg_en")
    root = tmp_path_factory.mktemp("books")
    out = []
    for name in BOOKS:
        text = Path(shutil.copy(SHARED / name, root / name)).read_text(encoding="utf-8-sig")
        paragraphs = [" ".join(p.split()) for p in re.split(r"\r?\n\s*\r?\n", text)]
        paragraphs = paragraphs[len(paragraphs) // 5:]
        current: list[str] = []
        for paragraph in paragraphs:
            current.append(paragraph)
            words = sum(len(p.split()) for p in current)
            if words >= 150:
                if words <= 300:
                    out.append("\n\n".join(current))
                current = []
            if len(out) % 15 == 0 and len(out) == 15 * (BOOKS.index(name) + 1):
                break
    assert len(out) == 90
    return out


def substitute(text: str, count: int, seed: int) -> str:
    """Replace `count` words (not the first ten) with a word from elsewhere in the text."""
    rng = random.Random(seed)
    words = text.split(" ")
    for _ in range(count):
        words[rng.randrange(10, len(words))] = rng.choice(["river", "lantern", "quietly"])
    return " ".join(words)


@dataclass
class Corpus:
    """Where each document went, and the clusters planted (ids, first = input order)."""

    root: Path
    texts: dict[str, str] = field(default_factory=dict)
    clusters: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ids(self) -> set[str]:
        return set(self.texts)

    def cluster_of(self, doc_id: str) -> list[str] | None:
        return next((c for c in self.clusters.values() if doc_id in c), None)


def build_corpus(root: Path, passages: list[str]) -> Corpus:
    """Three JSONL files holding 86 unique passages and four planted clusters (11 docs):

    A (4): passage 0 in file 0; 2 words substituted (file 1); an exact copy upper-cased
           with punctuation changed (file 1); a copy with a sentence appended (file 2).
    B (3): passage 1 first appears in file 1; a copy with boilerplate appended sits in
           file 0 (so it is first in input order); a copy with 3 words dropped in file 2.
    C (2): passage 2 with contact details prepended (file 0) and the same with 2 words
           substituted (file 2): the report must scrub both.
    D (2): passage 3 (file 2) and the same with its first paragraph removed and a sentence
           added (file 2).
    """
    a, b, c, d = passages[:4]
    files: list[list[tuple[str, str]]] = [[], [], []]
    for i, text in enumerate(passages[4:], start=4):
        files[i % 3].append((f"u{i}", text))
    planted = {
        "A": [(0, 0, a), (1, 5, substitute(a, 2, 1)),
              (1, 20, a.upper().replace(",", " ;").replace(".", "!")),
              (2, 3, a + " And that was the end of the matter, as far as anyone could tell.")],
        "B": [(1, 10, b), (0, 25, b + "\n\n" + BOILERPLATE),
              (2, 15, " ".join(w for i, w in enumerate(b.split(" ")) if i not in (30, 60, 90)))],
        "C": [(0, 8, PII + "\n\n" + c), (2, 25, PII + "\n\n" + substitute(c, 2, 2))],
        "D": [(2, 7, d), (2, 28, d.split("\n\n", 1)[-1] + " The rest was silence.")],
    }
    inserts: dict[str, list[tuple[int, int, str]]] = {}
    for name, members in planted.items():
        for f, position, text in members:
            files[f].insert(position, (name, text))
            inserts.setdefault(name, []).append((f, position, text))
    corpus = Corpus(root)
    for f, docs in enumerate(files):
        write_jsonl(root / f"part-{f}.jsonl", [{"text": text} for _, text in docs])
        for line, (tag, text) in enumerate(docs, start=1):
            doc_id = f"part-{f}.jsonl:{line}"
            corpus.texts[doc_id] = text
            if tag in planted:
                corpus.clusters.setdefault(tag, []).append(doc_id)
    for members in corpus.clusters.values():
        members.sort(key=lambda i: (i.split(":")[0], int(i.split(":")[1])))
    return corpus


@pytest.fixture(scope="module")
def corpus(passages, tmp_path_factory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("corpus") / "in", passages)


# ---------------------------------------------------------------- running


def run(tmp_path: Path, inputs: Path, params: dict[str, Any], *extra: str,
        name: str = "out", **sections: Any) -> Path:
    from gristmill.launcher import main

    out = tmp_path / name
    pipeline = write_pipeline(tmp_path / f"{name}.yaml", str(inputs), out,
                              [{"minhash_dedup": params}], **sections)
    assert main(["curate", "--quiet", str(pipeline), *extra]) == 0
    return out


def rows_by_id(out: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """Kept rows (top-level part files) and rejected rows, by id."""
    kept = {r["id"]: r for p in sorted(out.glob("*.parquet")) for r in read_rows(p)}
    rejected = {r["id"]: r for r in read_rows(out / "rejected")} \
        if (out / "rejected").is_dir() else {}
    return kept, rejected


def step_report(out: Path) -> dict[str, Any]:
    (step,) = [s for s in manifest(out)["steps"] if s["name"] == "minhash_dedup"]
    return step


def check_clusters(out: Path, corpus: Corpus, kept_of: Callable[[list[str]], str]) -> None:
    """Exactly the planted non-kept members are rejected, pointing at the kept one."""
    kept, rejected = rows_by_id(out)
    reps = {name: kept_of(members) for name, members in corpus.clusters.items()}
    expected_rejected = {m for name, members in corpus.clusters.items() for m in members
                         if m != reps[name]}
    assert set(rejected) == expected_rejected
    assert set(kept) == corpus.ids - expected_rejected
    for name, members in corpus.clusters.items():
        rep = kept[reps[name]]
        assert (rep["dup_cluster"], rep["dup_cluster_size"], rep["dup_jaccard"]) == (
            rep["id"], len(members), None)
        for m in members:
            if m == reps[name]:
                continue
            row = rejected[m]
            assert (row["reason"], row["duplicate_of"], row["dup_cluster"],
                    row["dup_cluster_size"]) == (RULE, rep["id"], rep["id"], len(members))
            assert 0.7 <= row["dup_jaccard"] <= 1.0
    singles = [r for i, r in kept.items() if corpus.cluster_of(i) is None]
    assert len(singles) == 86
    assert all((r["dup_cluster"], r["dup_cluster_size"], r["dup_jaccard"]) == (None, 1, None)
               for r in singles)


# ---------------------------------------------------------------- keep rules


def test_keep_first_rejects_exactly_the_planted_copies(tmp_path, corpus):
    out = run(tmp_path, corpus.root, {})
    check_clusters(out, corpus, kept_of=lambda members: members[0])
    assert BOILERPLATE in corpus.texts[corpus.clusters["B"][0]]  # that copy came first
    _, rejected = rows_by_id(out)
    a_upper = corpus.clusters["A"][2]
    assert rejected[a_upper]["dup_jaccard"] == 1.0  # same words after normalization
    m = manifest(out)
    assert (m["counts"]["input"], m["counts"]["kept"], m["counts"]["rejected"]) == (97, 90, 7)
    assert step_report(out)["rejected"] == {"near_duplicate": 7}


def test_keep_longest(tmp_path, corpus):
    out = run(tmp_path, corpus.root, {"keep": "longest"})

    def longest(members: list[str]) -> str:  # ties: first in input order
        return max(members, key=lambda m: (len(corpus.texts[m]), -members.index(m)))

    check_clusters(out, corpus, kept_of=longest)
    assert longest(corpus.clusters["A"]) == corpus.clusters["A"][3]  # the appended sentence


def test_keep_quality_from_a_parquet_column(tmp_path, corpus):
    """A float column listed in input.metadata arrives as text ("0.25"): it still ranks.
    A null score ranks last."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    score = {}
    for f in range(3):
        rows = [r for r in read_jsonl(corpus.root / f"part-{f}.jsonl")]
        scores = []
        for line, _ in enumerate(rows, start=1):
            doc_id = f"part-{f}.jsonl:{line}"
            scores.append(None if doc_id == corpus.clusters["C"][1] else
                          round(random.Random(doc_id).random(), 4))
            score[f"part-{f}.parquet:{line - 1}"] = scores[-1]
        pq.write_table(pa.table({"text": [r["text"] for r in rows],
                                 "quality_score": pa.array(scores, pa.float64())}),
                       inputs / f"part-{f}.parquet")
    out = run(tmp_path, inputs, {"keep": "quality"}, input={"metadata": ["quality_score"]})
    kept, rejected = rows_by_id(out)
    as_parquet = {name: [f"part-{m.split('.')[0][-1]}.parquet:{int(m.split(':')[1]) - 1}"
                         for m in members] for name, members in corpus.clusters.items()}
    for members in as_parquet.values():
        best = max(members, key=lambda m: (score[m] if score[m] is not None else -1,
                                           -members.index(m)))
        assert best in kept
        assert all(rejected[m]["duplicate_of"] == best for m in members if m != best)
    assert as_parquet["C"][0] in kept  # the other member has no score
    assert isinstance(kept[as_parquet["C"][0]]["quality_score"], str)
    assert len(rejected) == 7


def test_keep_quality_without_the_column_is_a_config_error(tmp_path, corpus, capsys):
    from gristmill.launcher import main

    pipeline = write_pipeline(tmp_path / "p.yaml", str(corpus.root), tmp_path / "out",
                              [{"minhash_dedup": {"keep": "quality"}}])
    assert main(["curate", "--quiet", "--workers", "1", str(pipeline)]) == 2
    assert "keep: quality reads the column 'quality_score'" in capsys.readouterr().err


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


# ---------------------------------------------------------------- verify, annotate


def test_verify_drops_candidates_below_the_threshold(tmp_path, passages):
    """28 bands x 4 rows make a pair at Jaccard ~0.6 a candidate (P = 0.98); verify with
    threshold 0.8 unlinks it, and keeps the pair at ~0.9 (2 words changed)."""
    x, y = passages[10], passages[11]
    words = x.split(" ")
    half = " ".join(words[: 3 * len(words) // 4]) + " " + " ".join(y.split(" ")[:len(words) // 4])
    inputs = tmp_path / "in"
    write_jsonl(inputs / "part-0.jsonl", [{"text": t} for t in
                                         [x, half, y, substitute(y, 2, 3), *passages[20:40]]])
    params = {"bands": 28, "rows": 4, "threshold": 0.8}
    loose = run(tmp_path, inputs, {**params, "verify": False}, name="loose")
    strict = run(tmp_path, inputs, {**params, "verify": True}, name="strict")
    assert set(rows_by_id(loose)[1]) == {"part-0.jsonl:2", "part-0.jsonl:4"}
    assert rows_by_id(loose)[1]["part-0.jsonl:2"]["dup_jaccard"] == pytest.approx(0.6, abs=0.1)
    assert set(rows_by_id(strict)[1]) == {"part-0.jsonl:4"}
    assert rows_by_id(strict)[0]["part-0.jsonl:2"]["dup_cluster_size"] == 1
    loose_report, strict_report = step_report(loose)["report"], step_report(strict)["report"]
    assert (loose_report["candidate_pairs"], "verified_pairs" in loose_report) == (2, False)
    assert (strict_report["candidate_pairs"], strict_report["verified_pairs"]) == (2, 1)
    assert (loose_report["clusters"], strict_report["clusters"]) == (2, 1)


def test_annotate_keeps_everything_and_records_the_columns(tmp_path, corpus):
    out = run(tmp_path, corpus.root, {"mode": "annotate"})
    kept, rejected = rows_by_id(out)
    assert set(kept) == corpus.ids and not rejected
    step = step_report(out)
    assert (step["rejected"], step["flagged"]) == ({}, {"near_duplicate": 7})
    for members in corpus.clusters.values():
        assert [kept[m]["dup_cluster"] for m in members] == [members[0]] * len(members)
        assert {kept[m]["dup_cluster_size"] for m in members} == {len(members)}
        assert kept[members[0]]["dup_jaccard"] is None
        assert all(kept[m]["dup_jaccard"] >= 0.7 for m in members[1:])


# ---------------------------------------------------------------- labeled quality

CLOUGH = SHARED_DATA / "neardup_clough_plagiarism"


@pytest.fixture(scope="module")
def clough(tmp_path_factory) -> tuple[Path, dict[str, tuple[str, str]]]:
    """The Clough & Stevenson corpus as JSONL with file names as ids (17 of the 100 files
    are Windows-1252), and (task, label) per file."""
    if not CLOUGH.is_dir():
        pytest.skip("needs /work/shared/data/neardup_clough_plagiarism")
    labels = {}
    for line in (CLOUGH / "file_information.csv").read_text().splitlines()[1:]:
        name, task, label = line.strip().split(",")
        labels[name] = (task, label)
    records, legacy = [], 0
    for name in sorted(labels):
        raw = (CLOUGH / "texts" / name).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text, legacy = raw.decode("cp1252"), legacy + 1
        records.append({"id": name, "text": text})
    assert (len(records), legacy) == (100, 17)
    inputs = tmp_path_factory.mktemp("clough") / "in"
    write_jsonl(inputs / "clough.jsonl", records)
    return inputs, labels


@pytest.mark.parametrize(("params", "found"), [
    ({}, {"cut": 3, "light": 1, "heavy": 0, "non": 0}),
    ({"ngram": 3, "threshold": 0.3}, {"cut": 18, "light": 17, "heavy": 8, "non": 0}),
])
def test_clough_answers_found_with_their_source(tmp_path, clough, params, found):
    """Answers clustered with their task's source, by label. The answers (33-344 words)
    are much shorter than the sources (239-526), so a near copy has a median 5-gram
    Jaccard of 0.28 with its source: the defaults (tuned for web pages at ~0.8) find 4
    of 38; 3-grams at threshold 0.3 find 35 of the 38 cut/light answers and no
    non-plagiarised one (benchmarks/dedup_quality.py has the full sweep)."""
    inputs, labels = clough
    out = run(tmp_path, inputs, params, input={"id_field": "id"})
    cluster = {row["id"]: row["dup_cluster"] or row["id"] for row in read_rows(out)}
    assert len(cluster) == 100
    source = {task: name for name, (task, label) in labels.items() if label == "orig"}
    got = {label: sum(1 for name, (task, lab) in labels.items()
                      if lab == label and cluster[name] == cluster[source[task]])
           for label in ("cut", "light", "heavy", "non")}
    assert got == found
    assert len({cluster[s] for s in source.values()}) == 5  # sources never merge


# ---------------------------------------------------------------- report


def test_report_counts_clusters_and_scrubs_examples(tmp_path, corpus):
    out = run(tmp_path, corpus.root, {})
    report = step_report(out)["report"]
    assert {k: v for k, v in report.items() if k != "largest_clusters"} == {
        "documents": 97, "clusters": 4, "documents_in_clusters": 11, "documents_removed": 7,
        "size_histogram": [{"min_size": 2, "clusters": 2}, {"min_size": 3, "clusters": 1},
                           {"min_size": 4, "clusters": 1}],
        "candidate_pairs": report["candidate_pairs"], "bands": 14, "rows": 8}
    assert 7 <= report["candidate_pairs"] <= 10  # star edges per band, de-duplicated
    largest = report["largest_clusters"]
    assert [(c["size"], c["kept_id"]) for c in largest] == [
        (4, corpus.clusters["A"][0]), (3, corpus.clusters["B"][0]),
        (2, corpus.clusters["C"][0]), (2, corpus.clusters["D"][0])]
    examples = [e for c in largest for e in c["examples"]]
    assert all(len(e) <= 240 for e in examples)
    pii = largest[2]["examples"]
    assert all(e.startswith("Write to <EMAIL> or call <PHONE> before noon.") for e in pii)
    text = json.dumps(report)
    assert "@" not in text and "555" not in text and "4477" not in text
    assert largest[1]["examples"][0].startswith(" ".join(corpus.texts[
        corpus.clusters["B"][0]].split())[:100])


# ---------------------------------------------------------------- determinism and resume


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def output_files(out: Path) -> dict[str, str]:
    """Data files only: the manifest is compared separately, the report carries timings."""
    return {str(p.relative_to(out)): sha256(p) for p in sorted(out.rglob("*.parquet"))}


def comparable(m: dict[str, Any]) -> dict[str, Any]:
    """The manifest less when it was made and how long steps took."""
    m = json.loads(json.dumps(m))
    m.pop("created_at")
    for step in m["steps"]:
        step.pop("seconds")
        step.pop("reduce_seconds", None)
    m["pipeline"]["resolved"]["output"].pop("path", None)
    m["pipeline"].pop("yaml")
    return m


def test_same_output_for_one_and_two_workers(tmp_path, corpus):
    one = run(tmp_path, corpus.root, {"keep": "longest"}, "--workers", "1", name="w1")
    two = run(tmp_path, corpus.root, {"keep": "longest"}, "--workers", "2", name="w2")
    assert output_files(one) == output_files(two)
    assert len(output_files(one)) == 2
    assert comparable(manifest(one)) == comparable(manifest(two))


WORDS = [f"{a}{b}{c}" for a in "bdfgklmnprstvz" for b in "aeiou" for c in ("", "n", "r", "s")]
RESUME_PIPELINE = """\
name: minhash-resume
input:
  paths: [../corpus]
output:
  path: out
  row_group_rows: 500
steps:
  - minhash_dedup: {keep: longest, verify: true}
  - split: {validation_fraction: 0.1}
"""


def random_corpus(directory: Path, files: int, docs: int, seed: int) -> set[str]:
    """Random-vocabulary documents (40-150 words); 15% are copies of an earlier document
    with 1-3 words changed, some in other files."""
    rng = random.Random(seed)
    directory.mkdir(parents=True)
    earlier: list[list[str]] = []
    ids = set()
    for f in range(files):
        lines = []
        for line in range(1, docs + 1):
            if earlier and rng.random() < 0.15:
                words = list(rng.choice(earlier))
                for _ in range(rng.randint(1, 3)):
                    words[rng.randrange(len(words))] = rng.choice(WORDS)
            else:
                words = rng.choices(WORDS, k=rng.randint(40, 150))
                earlier.append(words)
            lines.append(json.dumps({"text": " ".join(words)}))
            ids.add(f"f{f}.jsonl:{line}")
        (directory / f"f{f}.jsonl").write_text("\n".join(lines) + "\n")
    return ids


@dataclass
class Resumable:
    root: Path

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def out(self) -> Path:
        return self.run_dir / "out"

    @property
    def work(self) -> Path:
        return self.out / "_work"

    def command(self, workers: int) -> list[str]:
        return [sys.executable, "-m", "gristmill.launcher", "curate", "pipeline.yaml",
                "--workers", str(workers), "--quiet"]

    def start(self, workers: int = 2) -> subprocess.Popen:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
        return subprocess.Popen(self.command(workers), cwd=self.run_dir, env=env,
                                start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    def finish(self, workers: int = 2) -> None:
        """The same command in this process (saves an interpreter start)."""
        from gristmill.launcher import main

        previous = os.getcwd()
        os.chdir(self.run_dir)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                assert main(self.command(workers)[3:]) == 0
        finally:
            os.chdir(previous)

    def units_done(self, stage: int) -> int:
        return len(list((self.work / f"stage-{stage}").glob("u*/done.json")))

    def reducing(self) -> bool:
        return any(self.work.glob(".tmp-reduce-*"))


def new_resumable(root: Path, corpus: Path) -> Resumable:
    case = Resumable(root)
    shutil.copytree(corpus, root / "corpus")
    case.run_dir.mkdir()
    (case.run_dir / "pipeline.yaml").write_text(RESUME_PIPELINE)
    return case


def kill_when(proc: subprocess.Popen, condition: Callable[[], bool], delay: float = 0.0,
              timeout: float = 300) -> bool:
    """SIGKILL the whole process group once `condition` holds; False if the run ended."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if condition():
            time.sleep(delay)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stderr.close()
            time.sleep(0.05)  # let the killed workers go
            return True
        time.sleep(0.002)
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.returncode == 0, stderr
    return False


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path, set[str]]:
    """4 files x 1,000 random documents and their uninterrupted output."""
    root = tmp_path_factory.mktemp("resume")
    ids = random_corpus(root / "corpus", 4, 1000, seed=4)
    case = new_resumable(root / "reference", root / "corpus")
    case.finish()
    return root / "corpus", case.out, ids


def assert_same_as_reference(case: Resumable, reference: tuple[Path, Path, set[str]]) -> None:
    _, out, ids = reference
    assert not case.work.exists() and not list(case.out.rglob(".tmp-*"))
    assert output_files(case.out) == output_files(out)
    assert comparable(manifest(case.out)) == comparable(manifest(out))
    kept = [r["id"] for d in ("train", "validation") for r in read_rows(case.out / d)]
    rejected = [r["id"] for r in read_rows(case.out / "rejected")]
    assert len(kept) + len(rejected) == len(set(kept) | set(rejected)) == len(ids)


def test_reference_run_removes_the_planted_copies(reference):
    _, out, ids = reference
    step = step_report(out)
    assert len(ids) == 4000
    assert 400 <= step["rejected"]["near_duplicate"] <= 600  # of 600 edited copies
    assert step["report"]["verified_pairs"] <= step["report"]["candidate_pairs"]


def test_killed_in_map_reduce_and_apply_then_resumed_is_identical(tmp_path, reference):
    case = new_resumable(tmp_path, reference[0])
    assert kill_when(case.start(), lambda: case.units_done(0) >= 1)
    assert 1 <= case.units_done(0) < 4
    assert kill_when(case.start(), case.reducing)
    assert case.units_done(0) == 4 and not (case.work / "reduce-1").exists()
    assert kill_when(case.start(), lambda: case.units_done(1) >= 1)
    assert (case.work / "reduce-1").exists() and case.units_done(1) < 4
    case.finish(workers=1)
    assert_same_as_reference(case, reference)


@pytest.mark.slow
def test_killed_in_finalize_and_at_random_moments(tmp_path, reference):
    """A kill while finalize publishes files, then eight kills at random moments."""
    case = new_resumable(tmp_path, reference[0])
    assert kill_when(case.start(), lambda: (case.work / "finalize.json").exists())
    case.finish()
    assert_same_as_reference(case, reference)
    shutil.rmtree(case.out)
    rng = random.Random(12)
    kills = 0
    while kills < 8:
        started = time.monotonic()
        wait = rng.uniform(0.5, 6.0)
        condition = lambda t=started, w=wait: time.monotonic() - t > w  # noqa: E731
        if kill_when(case.start(rng.choice([1, 2])), condition):
            kills += 1
            if (case.out / "report.html").exists():  # the kill came after the run finished
                assert_same_as_reference(case, reference)
                shutil.rmtree(case.out)
            continue
        assert_same_as_reference(case, reference)
        shutil.rmtree(case.out)
    case.finish()
    assert_same_as_reference(case, reference)
