"""Helpers the curation tests share: write inputs and pipeline files, read outputs back."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from gristmill.shards import read_manifest

REPO = Path(__file__).resolve().parents[2]
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


def read_rows(directory: Path) -> list[dict[str, Any]]:
    """All rows of every Parquet file under `directory`, in file order."""
    files = sorted(directory.rglob("*.parquet")) if directory.is_dir() else [directory]
    if not files:
        return []
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default"
                            ).to_pylist()


def manifest(output: Path) -> dict[str, Any]:
    found = read_manifest(output)
    assert found is not None, f"{output} has no manifest"
    return found
