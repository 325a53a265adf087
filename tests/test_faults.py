"""Fault injection: training killed (SIGKILL) at random moments and resumed, and a disk that
fills up under curation and training. Curation's random kills are in test_resume.py and
test_minhash_dedup.py; corrupt shards and checkpoints in test_loader_corpus.py and
test_trainer.py."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.support.curation import read_rows, write_jsonl, write_pipeline
from tests.support.training import losses, tiny_run
from training.checkpoint import open_checkpoint, steps

pytestmark = pytest.mark.slow

# Runs the gristmill command with one write function replaced: the `fail_at`-th call
# raises the errno a full disk gives.
FULL_DISK_DRIVER = """\
import errno, importlib, os, sys
module, name, fail_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
target = importlib.import_module(module)
original, calls = getattr(target, name), [0]
def failing(*args, **kwargs):
    calls[0] += 1
    if calls[0] == fail_at:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[0]))
    return original(*args, **kwargs)
setattr(target, name, failing)
from gristmill.launcher import main
sys.exit(main(sys.argv[4:]))
"""


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gristmill.launcher", *args]


def training_config(root: Path) -> Path:
    return tiny_run(root, model={"n_embd": 64, "n_head": 4}, data={"block_size": 64},
                    run={"max_steps": 40, "checkpoint_every": 3, "eval_every": 10,
                         "keep_last": 2, "log_every": 1})


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    config = training_config(tmp_path_factory.mktemp("reference"))
    done = subprocess.run(command("train", str(config), "--quiet"), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return config.parent / "run"


def logged_steps(out: Path) -> int:
    try:
        return len((out / "metrics.jsonl").read_text().splitlines())
    except OSError:
        return 0


def assert_same_run(out: Path, reference: Path) -> None:
    assert losses(out) == losses(reference)
    final, expected = load_file(open_checkpoint(out).path / "model.safetensors"), \
        load_file(open_checkpoint(reference).path / "model.safetensors")
    assert all(torch.equal(final[name], expected[name]) for name in expected)
    assert [p.name for p in steps(out / "checkpoints")] == \
        [p.name for p in steps(reference / "checkpoints")]
    assert not list((out / "checkpoints").glob(".tmp-*"))
    for path in steps(out / "checkpoints"):
        open_checkpoint(path)  # every published checkpoint is complete and verifies


def test_training_killed_at_random_moments_ends_like_an_uninterrupted_run(
        reference: Path, tmp_path: Path) -> None:
    config = training_config(tmp_path)
    out, rng, kills = tmp_path / "run", random.Random(5), 0
    while True:
        # Kill at startup, or once a few more steps are logged (a checkpoint every third).
        target = logged_steps(out) + rng.choice([0, 1, 2, 3, 4, 5, 7])
        proc = subprocess.Popen(command("train", str(config), "--resume", "--quiet"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        while proc.poll() is None and logged_steps(out) < target:
            time.sleep(0.002)
        if proc.poll() is None:
            time.sleep(rng.uniform(0, 0.05))
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        stderr = proc.stderr.read().decode()
        proc.stderr.close()
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, stderr
        kills += 1
        assert kills < 40, "the run never finished"
    assert kills >= 3
    assert_same_run(out, reference)


def test_training_on_a_full_disk_keeps_its_checkpoints_and_resumes(
        reference: Path, tmp_path: Path) -> None:
    config = training_config(tmp_path)
    # Each checkpoint is three writes; the 10th write is the 4th checkpoint's weights.
    failed = subprocess.run([sys.executable, "-c", FULL_DISK_DRIVER, "training.checkpoint",
                             "_write", "10", "train", str(config), "--quiet"],
                            capture_output=True, text=True, timeout=600)
    assert failed.returncode == 2, failed.stderr
    assert failed.stderr.startswith("error: cannot write ")
    assert "the disk is full" in failed.stderr and "with --resume" in failed.stderr
    assert failed.stderr.count("\n") == 1
    out = tmp_path / "run"
    assert [p.name for p in steps(out / "checkpoints")] == ["step-00000006", "step-00000009"]
    done = subprocess.run(command("train", str(config), "--resume", "--quiet"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert_same_run(out, reference)


def test_curation_on_a_full_disk_keeps_finished_work_and_resumes(tmp_path: Path) -> None:
    for f in range(4):
        write_jsonl(tmp_path / "in" / f"f{f}.jsonl",
                    [{"text": f"document {f}-{i} " + "word " * (i % 30 + 20)}
                     for i in range(300)])
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in" / "*.jsonl"),
                              tmp_path / "out", steps=[{"length": {"min_words": 25}},
                                                       {"exact_dedup": {}}])
    failed = subprocess.run([sys.executable, "-c", FULL_DISK_DRIVER, "gristmill.atomic",
                             "publish", "3", "curate", str(pipeline), "--workers", "1",
                             "--quiet"], capture_output=True, text=True, timeout=600)
    assert failed.returncode == 2, failed.stderr
    assert failed.stderr.startswith("error: cannot write ") and "disk is full" in failed.stderr
    assert not (tmp_path / "out" / "_manifest.json").exists()
    done = subprocess.run(command("curate", str(pipeline), "--quiet"), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    kept = [row["id"] for entry in manifest["files"] if not entry["path"].startswith("rejected")
            for row in read_rows(tmp_path / "out" / entry["path"])]
    assert len(kept) == len(set(kept)) == manifest["counts"]["kept"]
    assert manifest["counts"]["input"] == 1200
    assert manifest["counts"]["kept"] + manifest["counts"]["rejected"] == 1200
