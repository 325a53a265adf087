"""Layout of `OUTPUT/_work/`, where unfinished runs keep their state.

A unit's directory is renamed into place only when all its files are complete, so its
existence is the completion marker; a killed run leaves only `.tmp-*` names, which a
resumed run deletes and redoes.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from gristmill.atomic import fsync_dir, fsync_file


class WorkDir:
    """Paths of stage outputs, reduce outputs and the finalize plan of one run."""

    def __init__(self, output: Path):
        self.output = output
        self.root = output / "_work"

    @property
    def run_file(self) -> Path:
        return self.root / "run.json"

    @property
    def finalize_plan(self) -> Path:
        return self.root / "finalize.json"

    def unit_dir(self, stage: int, unit: int) -> Path:
        return self.root / f"stage-{stage}" / f"u{unit:05d}"

    def reduce_dir(self, stage: int) -> Path:
        return self.root / f"reduce-{stage}"

    def fresh_tmp(self, final: Path) -> Path:
        """An empty temporary sibling of `final`, unique to this process."""
        tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        return tmp

    def clean_stale(self) -> None:
        """Remove temporaries a killed run left in the work or output directories."""
        if self.output.exists():
            for tmp in self.output.glob("**/.tmp-*"):
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)


def commit_dir(tmp: Path, final: Path) -> None:
    """Atomically publish a finished directory, its files durable before the rename.

    If another attempt at the same work published it first (a Ray task retried, or one
    of a killed driver still finishing), that copy stays: the work is deterministic."""
    for path in tmp.iterdir():
        if path.is_file():
            fsync_file(path)
    fsync_dir(tmp)
    try:
        os.replace(tmp, final)
    except OSError as err:
        if err.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not final.is_dir():
            raise
        shutil.rmtree(tmp)
    fsync_dir(final.parent)
