"""`executor: ray` on a real local Ray cluster (2 CPUs): the same output as the local
executor, the distributed MinHash clustering decides like the single-node reduce, a killed
driver resumes, and without Ray the error says what to install."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from curation.core.config import validate
from curation.core.pipeline import Pipeline
from curation.io.readers import discover
from curation.run.unit import run_unit
from curation.run.workdir import WorkDir
from tests.support.curation import write_jsonl, write_pipeline
from tests.support.runs import comparable, kill_when, output_files

ray = pytest.importorskip("ray")
from curation.dedup.ray_reduce import forest, reduce_minhash  # noqa: E402 (needs ray)

FILES, DOCS = 4, 150


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> str:
    """A 2-CPU Ray cluster for the module; its address, for drivers in subprocesses."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _temp_dir=str(tmp_path_factory.mktemp("ray")))
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def make_corpus(directory: Path, seed: int = 3) -> set[str]:
    """Random-word documents with exact copies, a repeated id, and chains of near copies
    (each edits the one before), spread over the files."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    docs: list[list[str]] = []
    for _ in range(FILES * DOCS):
        r = rng.random()
        if docs and r < 0.05:
            words = list(rng.choice(docs))
        elif docs and r < 0.25:
            words = list(docs[-rng.randint(1, min(len(docs), 40))])
            for _ in range(rng.randint(1, 4)):
                words[rng.randrange(len(words))] = rng.choice(vocab)
        else:
            words = rng.choices(vocab, k=rng.randint(3, 120))
        docs.append(words)
    ids = [f"d{i}" for i in range(len(docs))]
    ids[7] = ids[3]  # unique_ids rejects the second
    for f in range(FILES):
        part = range(f * DOCS, (f + 1) * DOCS)
        write_jsonl(directory / f"f{f}.jsonl", [{"id": ids[i], "text": " ".join(docs[i])}
                                                for i in part])
    return set(ids)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("corpus")
    make_corpus(directory)
    return directory


def steps(minhash: dict[str, Any]) -> list[Any]:
    return [{"length": {"min_words": 5}}, {"exact_dedup": {}}, {"minhash_dedup": minhash},
            {"split": {"validation_fraction": 0.1}}]


def run(curate, root: Path, corpus: Path, minhash: dict[str, Any], *extra: str) -> Path:
    out = root / "out"
    root.mkdir(parents=True, exist_ok=True)
    pipeline = write_pipeline(root / "p.yaml", str(corpus / "*.jsonl"), out, steps(minhash),
                              input={"id_field": "id"})
    assert curate(pipeline, *extra) == 0
    return out


def same_run(manifest: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on the executor: everything but timings and the command line."""
    out = comparable(manifest)
    out.pop("pipeline")
    return out


def manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "_manifest.json").read_text())


@pytest.mark.parametrize("minhash", [
    {}, {"ngram": 3, "threshold": 0.5, "verify": True, "keep": "longest"}])
def test_same_output_as_the_local_executor(cluster, corpus, tmp_path, curate, minhash):
    local = run(curate, tmp_path / "local", corpus, minhash, "--workers", "2")
    remote = run(curate, tmp_path / "ray", corpus, minhash, "--executor", "ray")
    assert output_files(remote) == output_files(local)
    assert same_run(manifest(remote)) == same_run(manifest(local))
    removed = manifest(local)["steps"][4]["rejected"]
    assert removed.get("near_duplicate", 0) >= 20  # the corpus does exercise clustering


def map_stage(root: Path, corpus: Path, minhash: dict[str, Any]) -> tuple[Any, dict[int, Path]]:
    """The minhash step and its unit directories after the map stage, run in-process."""
    raw = {"input": {"paths": [str(corpus / "*.jsonl")]}, "output": {"path": str(root)},
           "steps": [{"minhash_dedup": minhash}]}
    pipeline = Pipeline(validate(raw, "test"))
    work = WorkDir(root)
    files = discover(pipeline.config.input)
    for unit in files:
        run_unit(pipeline, pipeline.stages[0], unit, work)
    return pipeline.step(1), {u.index: work.unit_dir(0, u.index) for u in files}


def decisions(directory: Path) -> dict[str, Any]:
    """Per-unit decision files (byte for byte; their NaNs defeat ==) and the report."""
    return {p.name: (json.loads(p.read_text()) if p.suffix == ".json" else p.read_bytes())
            for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("minhash", [{}, {"threshold": 0.5, "verify": True}])
def test_distributed_clustering_decides_like_the_single_node_reduce(cluster, corpus, tmp_path,
                                                                    minhash):
    step, unit_dirs = map_stage(tmp_path / "work", corpus, minhash)
    (tmp_path / "local").mkdir()
    step.reduce(unit_dirs, 1, tmp_path / "local")
    expected = decisions(tmp_path / "local")
    assert expected["report.json"]["clusters"] >= 10
    assert max(h["min_size"] for h in expected["report.json"]["size_histogram"]) >= 3
    for partitions in (1, 3):
        out = tmp_path / f"ray-{partitions}"
        out.mkdir()
        reduce_minhash(step, unit_dirs, 1, out, partitions)
        assert decisions(out) == expected


def components_of(links: np.ndarray) -> dict[int, int]:
    return {int(a): int(b) for a, b in links}


def test_merged_forests_are_the_components_of_all_edges():
    """Forests of random shares of the edges, merged pairwise, give every node the
    smallest node of its component in the whole graph."""
    rng = np.random.default_rng(0)
    for trial in range(20):
        nodes = int(rng.integers(2, 200))
        edges = np.sort(rng.integers(0, nodes, size=(int(rng.integers(1, 150)), 2)), axis=1)
        shares = np.array_split(edges[rng.permutation(len(edges))], 1 + trial % 5)
        forests = [forest(share) for share in shares]
        while len(forests) > 1:
            forests = [forest(np.concatenate(forests[i:i + 2]))
                       for i in range(0, len(forests), 2)]
        assert components_of(forests[0]) == components_of(forest(edges))
        for node, root in components_of(forests[0]).items():
            assert root <= node


@pytest.mark.slow
def test_killed_driver_resumes_without_redoing_finished_units(cluster, corpus, tmp_path,
                                                             curate):
    """A driver on the cluster is SIGKILLed after some units finished; those units' inputs
    are then replaced by garbage, so the rerun matches the reference only if it skips them."""
    reference = run(curate, tmp_path / "reference", corpus, {})
    case = tmp_path / "case"
    data = case / "corpus"
    data.mkdir(parents=True)
    make_corpus(data)
    out = case / "out"
    write_pipeline(case / "p.yaml", str(data / "*.jsonl"), out, steps({}),
                   input={"id_field": "id"})
    argv = [sys.executable, "-m", "gristmill.launcher", "curate", "p.yaml", "--quiet",
            "--executor", "ray", "--address", cluster]
    proc = subprocess.Popen(argv, cwd=case, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finished = out / "_work" / "stage-0"
    assert kill_when(proc, lambda: any(finished.glob("u*/done.json")))
    for done in finished.glob("u*/done.json"):
        path = data / f"f{int(done.parent.name[1:])}.jsonl"
        path.write_bytes(b"x" * (path.stat().st_size - 1) + b"\n")
    assert curate(case / "p.yaml", "--executor", "ray") == 0
    assert output_files(out) == output_files(reference)
    assert same_run(manifest(out)) == same_run(manifest(reference))


def test_an_unreachable_cluster_is_one_line_at_once(corpus, tmp_path, curate, capsys):
    """Nothing listens at the port: one error line naming the address, instead of Ray's
    own two minutes of retries (the test would time out)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pipeline = write_pipeline(tmp_path / "p.yaml", str(corpus / "*.jsonl"), tmp_path / "out",
                              ["length"])
    assert curate(pipeline, "--executor", "ray", "--address", f"127.0.0.1:{port}") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot reach the Ray cluster at 127.0.0.1:{port} "
                          "(Connection refused)")
    assert "\n" not in err
    assert not (tmp_path / "out" / "_manifest.json").exists()


def test_a_config_error_in_a_task_is_one_line(cluster, corpus, tmp_path, curate, capsys):
    """keep: quality without the column fails inside a Ray task, and reads as locally."""
    pipeline = write_pipeline(tmp_path / "p.yaml", str(corpus / "*.jsonl"), tmp_path / "out",
                              [{"minhash_dedup": {"keep": "quality"}}])
    assert curate(pipeline, "--executor", "ray") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: minhash_dedup: keep: quality reads the column "
                          "'quality_score', which no document has;")
    assert "\n" not in err


def test_without_ray_the_error_says_what_to_install(tmp_path, corpus, curate, capsys,
                                                    monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    for name in ("curation.run.ray", "curation.dedup.ray_reduce"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    pipeline = write_pipeline(tmp_path / "p.yaml", str(corpus / "*.jsonl"), tmp_path / "out")
    assert curate(pipeline, "--executor", "ray") == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: executor 'ray' needs Ray, which is not installed: "
                   "pip install 'gristmill[ray]' (or use executor.type=local)")
