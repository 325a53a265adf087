"""Start-up work is done once per run, in the driver, not once per worker (issue 19)."""

from __future__ import annotations

from curation.core.config import PipelineConfig
from curation.core.pipeline import Pipeline
from curation.run.local import LocalBackend
from curation.steps import pii
from tests.support.curation import read_rows, write_jsonl, write_pipeline


def _analyzers_built() -> int:
    return pii._analyzer.cache_info().misses


def _pipeline(tmp_path, steps) -> Pipeline:
    config = PipelineConfig.model_validate({
        "input": {"paths": [str(tmp_path / "*.jsonl")]},
        "output": {"path": str(tmp_path / "out")}, "steps": steps})
    return Pipeline(config)


def test_workers_inherit_the_pii_analyzer_built_before_the_fork(tmp_path):
    pii._analyzer.cache_clear()
    with LocalBackend(2, _pipeline(tmp_path, [{"pii": {}}])) as backend:
        assert _analyzers_built() == 1  # built in the driver, before the pool forked
        in_workers = backend.pool.map(_analyzers_built_after_use, range(4))
    assert in_workers == [1, 1, 1, 1]  # each worker analyzed a text and built nothing new


def _analyzers_built_after_use(_: int) -> int:
    step = pii.Pii()
    step.prepare()
    return _analyzers_built()


def test_one_worker_loads_lazily(tmp_path):
    pii._analyzer.cache_clear()
    with LocalBackend(1, _pipeline(tmp_path, [{"pii": {}}])):
        assert _analyzers_built() == 0


def test_a_two_worker_run_scrubs_as_before(tmp_path, curate):
    records = [{"id": str(i), "text": f"Write to jane{i}@example.org or call 555-010-01{i:02d}."}
               for i in range(6)]
    for part in range(3):
        write_jsonl(tmp_path / f"in{part}.jsonl", records[part * 2:part * 2 + 2])
    pipe = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in*.jsonl"), tmp_path / "out",
                          steps=[{"pii": {}}], input={"id_field": "id"})
    assert curate(pipe, "--workers", "2") == 0
    texts = sorted(r["text"] for r in read_rows(tmp_path / "out"))
    assert texts == ["Write to <EMAIL> or call <PHONE>."] * 6
