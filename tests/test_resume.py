"""Kill a real run (SIGKILL to its whole process group) at many moments; resume; compare.

A resumed run must end byte-for-byte identical to an uninterrupted one: same Parquet
files (names and sha256), same manifest (less `created_at` and timings), no `_work/`, no
temporaries, and every input document exactly once in kept or rejected.

Each run happens in its own directory `<case>/run` with the same pipeline YAML, whose
paths are relative (`../corpus`, `out`), so manifests of different runs can be equal.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gristmill.launcher import main
from gristmill.shards import MANIFEST
from tests.support.curation import REPO
from tests.support.runs import comparable, kill_when, output_files

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
PIPELINE = """\
name: resume-test
input:
  paths: [../corpus]
output:
  path: out
  shard_max_bytes: 1000000
  row_group_rows: 500
steps:
  - length: {min_words: 5}
  - exact_dedup
  - split: {validation_fraction: 0.1}
"""
WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ro", "si", "tu", "va", "ze")
         for b in ("n", "r", "s", "t", "l", "m", "x", "d", "g", "b", "", "ph")]


# ---------------------------------------------------------------- corpus and runs


def make_corpus(directory: Path, files: int, docs: int, seed: int) -> set[str]:
    """JSONL files with ~10% exact (and case/punctuation) duplicates across files, ~5% short
    documents, a few empty texts and two malformed lines per file. Returns every input id."""
    rng = random.Random(seed)
    directory.mkdir(parents=True)
    earlier: list[str] = []
    ids = set()
    for f in range(files):
        lines = []
        for line in range(1, docs + 1):
            ids.add(f"f{f}.jsonl:{line}")
            r = rng.random()
            if line in (docs // 3, 2 * docs // 3):
                lines.append('{"text": "broken')
                continue
            if r < 0.07 and earlier:
                text = rng.choice(earlier)
            elif r < 0.10 and earlier:
                text = rng.choice(earlier).upper() + "!"
            elif r < 0.15:
                text = " ".join(rng.choices(WORDS, k=rng.randint(1, 4)))
            elif r < 0.152:
                text = ""
            else:
                text = " ".join(rng.choices(WORDS, k=rng.randint(5, 120)))
                earlier.append(text)
            lines.append(json.dumps({"text": text}))
        (directory / f"f{f}.jsonl").write_text("\n".join(lines) + "\n")
    return ids


@dataclass
class Case:
    """One place to run the pipeline: `root/corpus` (a private copy) and `root/run`."""

    root: Path

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def corpus(self) -> Path:
        return self.root / "corpus"

    @property
    def out(self) -> Path:
        return self.run / "out"

    @property
    def work(self) -> Path:
        return self.out / "_work"


def new_case(root: Path, corpus: Path) -> Case:
    case = Case(root)
    shutil.copytree(corpus, case.corpus)
    case.run.mkdir()
    (case.run / "pipeline.yaml").write_text(PIPELINE)
    return case


def command(workers: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "gristmill.launcher", "curate", "pipeline.yaml",
            "--workers", str(workers), "--quiet", *extra]


@contextlib.contextmanager
def inside(directory: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)


def gristmill(case: Case, *extra: str, workers: int = 2) -> tuple[int, str]:
    """`gristmill curate pipeline.yaml --workers N --quiet EXTRA` in this process (the
    killed runs are subprocesses; finishing in-process saves an interpreter start)."""
    err = io.StringIO()
    with inside(case.run), contextlib.redirect_stderr(err), \
            contextlib.redirect_stdout(io.StringIO()):
        code = main(command(workers, *extra)[3:])
    return code, err.getvalue()


def start(case: Case, workers: int = 2, argv: list[str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(argv or command(workers), cwd=case.run, env=ENV,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def units_done(case: Case, stage: int) -> int:
    return len(list((case.work / f"stage-{stage}").glob("u*/done.json")))


def in_reduce(case: Case) -> bool:
    """The reduce has started (its temporary directory exists) or just finished."""
    return any(case.work.glob(".tmp-reduce-*")) or any(case.work.glob("reduce-*"))


def finish(case: Case, workers: int = 2) -> None:
    """Run the same command again; it must complete."""
    finished_before = (case.out / MANIFEST).exists()
    code, stderr = gristmill(case, workers=workers)
    if not finished_before:
        assert code == 0, stderr


# ---------------------------------------------------------------- checks


def read_manifest(out: Path) -> dict:
    return json.loads((out / MANIFEST).read_text())


def visible_parts(out: Path) -> list[Path]:
    return [p for d in (out, out / "train", out / "validation", out / "rejected")
            if d.is_dir() for p in d.glob("part-*.parquet")]


def check_killed_state(case: Case) -> None:
    """What a kill may leave: complete part files only, and a manifest only when finished."""
    for path in visible_parts(case.out):
        pq.read_table(path)
    if (case.out / MANIFEST).exists():
        read_manifest(case.out)


def ids_in(paths: list[Path]) -> list[str]:
    return [i for p in paths for i in pq.read_table(p, columns=["id"]).column("id").to_pylist()]


def assert_same_output(out: Path, reference: Path, input_ids: set[str]) -> None:
    assert not (out / "_work").exists()
    assert not [p for p in out.rglob(".tmp-*")]
    files = output_files(out)
    assert files == output_files(reference)
    assert {f.split("/")[0] for f in files} == {"train", "validation", "rejected"}
    assert comparable(read_manifest(out)) == comparable(read_manifest(reference))
    kept = ids_in([*out.glob("train/*.parquet"), *out.glob("validation/*.parquet")])
    rejected = ids_in(list(out.glob("rejected/*.parquet")))
    assert len(kept) == len(set(kept))
    assert len(rejected) == len(set(rejected))
    assert not set(kept) & set(rejected)
    assert set(kept) | set(rejected) == input_ids
    counts = read_manifest(out)["counts"]
    assert (counts["input"], counts["kept"], counts["rejected"]) == (
        len(input_ids), len(kept), len(rejected))


# ---------------------------------------------------------------- fixtures


@dataclass
class Reference:
    corpus: Path
    ids: set[str]
    out: Path


def _reference(root: Path, files: int, docs: int, seed: int) -> Reference:
    ids = make_corpus(root / "corpus", files, docs, seed)
    case = new_case(root / "reference", root / "corpus")
    code, stderr = gristmill(case)
    assert code == 0, stderr
    return Reference(root / "corpus", ids, case.out)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Reference:
    """6 files x 3,000 documents, run once without interruption."""
    return _reference(tmp_path_factory.mktemp("big"), 6, 3000, seed=7)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Reference:
    """6 files x 400 documents, run once without interruption."""
    return _reference(tmp_path_factory.mktemp("small"), 6, 400, seed=8)


def test_reference_is_what_the_corpus_implies(big):
    m = read_manifest(big.out)
    steps = {s["name"]: s for s in m["steps"]}
    assert m["counts"]["input"] == 18_000 == len(big.ids)
    assert steps["read"]["rejected"] == {"empty": steps["read"]["rejected"]["empty"],
                                         "malformed_json": 12}
    assert steps["length"]["rejected"]["too_few_words"] > 500
    assert steps["exact_dedup"]["rejected"]["duplicate"] > 1000
    assert m["counts"]["kept_by_split"]["validation"] > 1000
    assert len(m["files"]) > 3


# ---------------------------------------------------------------- kills


def test_killed_three_times_then_resumed_is_identical(big, tmp_path):
    """Kills during stage 1, around the reduce, and during stage 2 / finalize."""
    rng = random.Random(20240601)
    case = new_case(tmp_path, big.corpus)
    moments = [
        (lambda: units_done(case, 0) >= 1, rng.uniform(0.0, 0.3), {"stage 1"}),
        (lambda: in_reduce(case), 0.0, {"reduce"}),
        (lambda: units_done(case, 1) >= 1, rng.uniform(0.0, 0.2), {"stage 2", "finalize"}),
    ]
    for condition, delay, phases in moments:
        assert kill_when(start(case), condition, delay)
        assert where_is(case) in phases
        check_killed_state(case)
        assert (case.work / "run.json").exists()
    finish(case)
    assert_same_output(case.out, big.out, big.ids)


def seconds_into_run(case: Case, wait: float) -> Callable[[], bool]:
    """True `wait` s after the run registered itself in _work/run.json (earlier kills hit
    only imports, or the window of test_crash_point[work-dir-created])."""
    seen: list[float] = []

    def condition() -> bool:
        if not seen and (case.work / "run.json").exists():
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] > wait

    return condition


def where_is(case: Case) -> str:
    """Which part of the run a kill interrupted, from what it left in _work/."""
    if (case.out / MANIFEST).exists():
        return "after the manifest"
    if (case.work / "finalize.json").exists():
        return "finalize"
    if units_done(case, 1):
        return "stage 2"
    if in_reduce(case):
        return "reduce"
    if units_done(case, 0):
        return "stage 1"
    return "start"


@pytest.mark.slow
def test_killed_ten_times_at_random_moments(big, tmp_path):
    """Ten kills, each at a random time or at a random event of the run being killed
    (a unit finishes, the reduce starts, finalize starts); each chain of resumes that
    completes is compared with the reference, then the output is removed to start again."""
    rng = random.Random(99)
    case = new_case(tmp_path, big.corpus)
    hits: list[str] = []
    chains = 0
    while len(hits) < 10:
        units = units_done(case, 0) + units_done(case, 1)
        reduce, final = in_reduce(case), (case.work / "finalize.json").exists()
        events = [
            seconds_into_run(case, rng.uniform(0.0, 5.0)),
            lambda units=units: units_done(case, 0) + units_done(case, 1) > units,
            lambda reduce=reduce: not reduce and in_reduce(case),
            lambda final=final: not final and (case.work / "finalize.json").exists(),
        ]
        condition = rng.choice(events)
        if kill_when(start(case, rng.choice([1, 2, 3])), condition, rng.uniform(0.0, 0.5)):
            if (case.out / "report.html").exists():  # the kill came after the run finished
                assert_same_output(case.out, big.out, big.ids)
                shutil.rmtree(case.out)
                continue
            hits.append(where_is(case))
            check_killed_state(case)
            continue
        assert_same_output(case.out, big.out, big.ids)
        chains += 1
        shutil.rmtree(case.out)
    print(f"kills: {hits}; {chains} chains completed before the last")
    finish(case)
    assert_same_output(case.out, big.out, big.ids)


def test_resume_with_other_worker_counts(small, tmp_path):
    """Killed with one worker (no pool), finished with three."""
    case = new_case(tmp_path, small.corpus)
    assert kill_when(start(case, workers=1), lambda: units_done(case, 0) >= 2)
    finish(case, workers=3)
    assert_same_output(case.out, small.out, small.ids)


def test_resume_does_not_redo_finished_units(small, tmp_path):
    """Inputs of finished units are replaced by garbage of the same size after the kill:
    the resumed run only gives the reference output if it never reads them again."""
    case = new_case(tmp_path, small.corpus)
    assert kill_when(start(case), lambda: units_done(case, 0) >= 3)
    done = sorted(int(d.parent.name[1:]) for d in (case.work / "stage-0").glob("u*/done.json"))
    assert len(done) >= 3
    for unit in done:
        path = case.corpus / f"f{unit}.jsonl"
        path.write_bytes(b"x" * (path.stat().st_size - 1) + b"\n")
    finish(case)
    assert_same_output(case.out, small.out, small.ids)


# ---------------------------------------------------------------- refusals


def test_changed_pipeline_refuses_to_resume(small, tmp_path):
    case = new_case(tmp_path, small.corpus)
    assert kill_when(start(case), lambda: units_done(case, 0) >= 1)
    before = output_files(case.out)
    code, stderr = gristmill(case, "steps.length.min_words=7")
    assert code == 2
    assert stderr.startswith("error: ") and "--overwrite" in stderr
    assert output_files(case.out) == before
    finish(case)
    assert_same_output(case.out, small.out, small.ids)


def test_finished_output_refuses_a_second_run(small, tmp_path):
    case = new_case(tmp_path, small.corpus)
    shutil.copytree(small.out, case.out)
    before = output_files(case.out), (case.out / MANIFEST).read_bytes()
    code, stderr = gristmill(case)
    assert code == 2
    assert stderr.startswith("error: ") and "--overwrite" in stderr
    assert (output_files(case.out), (case.out / MANIFEST).read_bytes()) == before
    code, stderr = gristmill(case, "--overwrite")
    assert code == 0, stderr
    assert_same_output(case.out, small.out, small.ids)


def test_foreign_directory_is_refused_even_with_overwrite(small, tmp_path):
    case = new_case(tmp_path, small.corpus)
    case.out.mkdir()
    (case.out / "notes.txt").write_text("not yours")
    for extra in ([], ["--overwrite"]):
        code, stderr = gristmill(case, *extra)
        assert code == 2
        assert "not made by gristmill" in stderr
        assert [p.name for p in case.out.iterdir()] == ["notes.txt"]


# ---------------------------------------------------------------- crash points

# A real process that SIGKILLs its own process group right before or right after an atomic
# JSON write: the moments between two steps of the run that a timer rarely hits.
CRASH_DRIVER = """\
import os, signal, sys
from pathlib import Path
import gristmill.atomic as atomic
name, when = sys.argv[1], sys.argv[2]
original = atomic.write_bytes_atomic
def crashing(path, data):
    if Path(path).name == name and when == "before":
        os.killpg(os.getpgrp(), signal.SIGKILL)
    original(path, data)
    if Path(path).name == name and when == "after":
        os.killpg(os.getpgrp(), signal.SIGKILL)
atomic.write_bytes_atomic = crashing
from gristmill.launcher import main
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.parametrize("name,when", [
    pytest.param("finalize.json", "after", id="finalize-planned", marks=pytest.mark.slow),
    pytest.param(MANIFEST, "before", id="files-published", marks=pytest.mark.slow),
    pytest.param(MANIFEST, "after", id="manifest-published"),
    pytest.param("run.json", "before", id="work-dir-created"),
])
def test_crash_point(small, tmp_path, name, when):
    case = new_case(tmp_path, small.corpus)
    argv = [sys.executable, "-c", CRASH_DRIVER, name, when,
            *command(2)[3:]]  # curate pipeline.yaml --workers 2 --quiet
    proc = start(case, argv=argv)
    proc.wait(timeout=300)
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, stderr
    check_killed_state(case)
    code, stderr = gristmill(case)
    if code == 2:  # only acceptable when the killed run had already finished
        assert (name, when) == (MANIFEST, "after")
        assert "finished run" in stderr
    else:
        assert code == 0, stderr
    assert_same_output(case.out, small.out, small.ids)


def test_killed_while_writing_the_report_finishes_it(small, tmp_path):
    """Manifest landed, report half-written: the rerun writes the report and tidies up."""
    case = new_case(tmp_path, small.corpus)
    shutil.copytree(small.out, case.out)
    (case.out / "report.html").unlink()
    (case.out / ".tmp-999999-report.html").write_text("<html>half")
    code, stderr = gristmill(case)
    assert code == 0, stderr
    assert (case.out / "report.html").stat().st_size > 1000
    assert not list(case.out.rglob(".tmp-*"))
    assert_same_output(case.out, small.out, small.ids)
