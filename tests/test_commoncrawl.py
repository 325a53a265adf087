"""pipelines/commoncrawl.yaml end to end on the real WARC files in the shared data, locally
and on a real local Ray cluster (2 CPUs): the same output from both executors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.support.curation import REPO, SHARED_DATA, read_rows
from tests.support.runs import comparable, output_files

WARCS = ["web_dolma_tests/sample-0000.warc.gz", "web_dolma_tests/sample-0001.warc.gz",
         "web_cc_whirlwind/whirlwind.warc.gz"]
pytestmark = pytest.mark.skipif(not (SHARED_DATA / WARCS[0]).exists(),
                                reason="shared WARC files not present")


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("crawl")
    for name in WARCS:
        shutil.copy(SHARED_DATA / name, directory)
    return directory


def curate_cc(curate, crawl: Path, out: Path, *extra: str) -> dict:
    assert curate(REPO / "pipelines" / "commoncrawl.yaml", "--input", str(crawl / "*.warc.gz"),
                  "--output", str(out), *extra) == 0
    return json.loads((out / "_manifest.json").read_text())


@pytest.mark.slow  # presidio and the language model load: about 20-30 s
def test_commoncrawl_yaml_on_real_warcs(crawl: Path, tmp_path: Path, curate) -> None:
    found = curate_cc(curate, crawl, tmp_path / "out")
    steps = {s["name"]: s for s in found["steps"]}
    read = steps["read"]
    assert read["docs_in"] == read["docs_out"] + sum(read["rejected"].values()) == 42
    assert read["flagged"]["skipped_request"] == 38
    assert steps["extract"]["docs_out"] == 38
    kept = [r for r in read_rows(tmp_path / "out") if r.get("reason") is None]
    assert sum(s["rows"] for s in found["files"] if s["split"] != "rejected") == len(kept)
    assert 10 <= len(kept) <= 38 and {r["split"] for r in kept} <= {"train", "validation"}
    for row in kept:
        assert row["url"].startswith("http") and row["id"].startswith("urn:uuid:")
        assert row["lang"] == "en" and row["html_bytes"] > len(row["text"])
        assert not re.search(r"</?(?:div|p|span|script|a)\b", row["text"])
        assert "\n" in row["text"]  # lines survive extraction and the line rules


@pytest.mark.slow  # starts Ray and runs the pipeline twice
def test_a_warc_run_on_ray_matches_local(crawl: Path, tmp_path_factory, curate) -> None:
    ray = pytest.importorskip("ray")
    overrides = ["steps.pii.entities=[EMAIL]"]
    tmp_path = tmp_path_factory.mktemp("cc")  # short: Ray's socket paths have a limit
    local = tmp_path / "local"
    curate_cc(curate, crawl, local, "--workers", "2", *overrides)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _temp_dir=str(tmp_path_factory.mktemp("ray")))
    try:
        remote = tmp_path / "ray-out"
        curate_cc(curate, crawl, remote, "--executor", "ray", *overrides)
    finally:
        ray.shutdown()
    assert output_files(remote) == output_files(local)

    def same(manifest: dict) -> dict:
        out = comparable(manifest)
        out.pop("pipeline")
        return out
    assert same(json.loads((remote / "_manifest.json").read_text())) == \
        same(json.loads((local / "_manifest.json").read_text()))
