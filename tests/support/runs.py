"""Helpers for tests that run, kill and compare real curation runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from gristmill.hashing import file_sha256


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def kill_group(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.stderr.close()


def kill_when(proc: subprocess.Popen, condition: Callable[[], bool], delay: float = 0.0,
              timeout: float = 300) -> bool:
    """SIGKILL the process group `delay` s after `condition` holds; False if it ended first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            hit = condition()
        except FileNotFoundError:
            hit = False
        if hit:
            time.sleep(delay)
            if proc.poll() is not None:
                break
            kill_group(proc)
            return True
        time.sleep(0.002)
    assert proc.poll() is not None, "run did not finish in time"
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert proc.returncode == 0, stderr.decode()
    return False


def output_files(out: Path) -> dict[str, str]:
    """Every data file (the manifest is compared separately; report.html/stats.json carry
    the run's timings, so they differ between runs by design)."""
    return {str(p.relative_to(out)): file_sha256(p) for p in sorted(out.rglob("*.parquet"))}


def comparable(manifest: dict) -> dict:
    """The manifest less what may differ between runs: when, and how long each step took
    (`seconds`, and any other `*_seconds` timing such as a global step's reduce)."""
    manifest = json.loads(json.dumps(manifest))
    manifest.pop("created_at")
    for step in manifest["steps"]:
        step.pop("seconds")
        for key in [k for k in step if k.endswith("_seconds")]:
            step.pop(key)
    return manifest
