"""Shared helpers: write inputs and pipeline files, run the real CLI, read the output back."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

REPO = Path(__file__).resolve().parent.parent
# The read-only corpora (shared/data) sit beside the checkout, in CI as on a developer machine.
SHARED_DATA = next((p for p in (REPO.parent / "shared" / "data", Path("/work/shared/data"))
                    if p.is_dir()), REPO.parent / "shared" / "data")


def write_jsonl(path: Path, records: list[Any], compress: bool = False) -> Path:
    """Records may be dicts (JSON-encoded) or raw bytes/str lines written as they are."""
    lines = []
    for record in records:
        if isinstance(record, bytes):
            lines.append(record)
        elif isinstance(record, str):
            lines.append(record.encode())
        else:
            lines.append(json.dumps(record).encode())
    data = b"\n".join(lines) + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def write_pipeline(path: Path, inputs: list[str] | str, out_dir: Path,
                   steps: list[Any] | None = None, **sections: Any) -> Path:
    """A pipeline YAML; `sections` may add keys to input/output/executor or top level."""
    config: dict[str, Any] = {
        "name": "test",
        "input": {"paths": inputs if isinstance(inputs, list) else [inputs],
                  **sections.pop("input", {})},
        "output": {"path": str(out_dir), **sections.pop("output", {})},
        "steps": steps or [],
        **sections,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def curate() -> Callable[..., int]:
    """Run `gristmill curate` in-process with the given arguments; returns the exit code."""
    from gristmill.launcher import main

    def run(*args: str) -> int:
        return main(["curate", "--quiet", *map(str, args)])

    return run


def read_rows(directory: Path) -> list[dict[str, Any]]:
    """All rows of every Parquet file under `directory`, in file order."""
    files = sorted(directory.rglob("*.parquet")) if directory.is_dir() else [directory]
    if not files:
        return []
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default"
                            ).to_pylist()


def manifest(output: Path) -> dict[str, Any]:
    return json.loads((output / "_manifest.json").read_text())
