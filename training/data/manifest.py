"""Refuse a shard directory whose `_manifest.json` disagrees with its files.

A curated output lists every Parquet file with its rows, bytes and sha256. A file that is
missing, unlisted, truncated or rewritten would silently change what a model is trained on,
so training checks the listing before reading. Rows and sizes are always compared (they cost
one footer read per file); sha256 reads every byte, so `verify="auto"` hashes only when the
split's files add up to at most `SHA256_AUTO_LIMIT`, `"full"` always and `"quick"` never.
A directory without a manifest (made by another tool) is read as it is.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from training.errors import TrainingError

MANIFEST = "_manifest.json"
SHA256_AUTO_LIMIT = 1 << 30
Verify = Literal["auto", "full", "quick"]


def check_manifest(folder: Path, rows: dict[Path, int], verify: Verify = "auto") -> None:
    """Compare the Parquet files of `folder` (with their row counts) to the manifest, if any.

    The manifest is `folder/_manifest.json`, or the parent's when it lists files in `folder`
    (the `train/` and `validation/` folders of a curated output).
    """
    if verify not in ("auto", "full", "quick"):
        raise TrainingError(f"verify must be auto, full or quick, not {verify!r}")
    found = _listing(folder)
    if found is None:
        return
    path, listed = found
    root = path.parent
    present = {p.relative_to(root).as_posix(): p for p in rows}
    hint = f"delete {path} to train on the files as they are"
    missing = sorted(listed.keys() - present.keys())
    if missing:
        raise TrainingError(f"{root / missing[0]} is listed in {path} but missing; copy the "
                            f"whole directory again, or {hint}")
    unlisted = sorted(present.keys() - listed.keys())
    if unlisted:
        raise TrainingError(f"{root / unlisted[0]} is not listed in {path}; remove it, or {hint}")
    total = sum(entry.get("bytes", 0) for entry in listed.values())
    hash_files = verify == "full" or (verify == "auto" and total <= SHA256_AUTO_LIMIT)
    for name, entry in sorted(listed.items()):
        file = present[name]
        stat = file.stat()
        problem = None
        if stat.st_size != entry.get("bytes"):
            problem = f"has {stat.st_size} bytes, the manifest says {entry.get('bytes')}"
        elif rows[file] != entry.get("rows"):
            problem = f"has {rows[file]} rows, the manifest says {entry.get('rows')}"
        elif hash_files and _sha256(str(file), stat.st_size, stat.st_mtime_ns) != entry.get(
                "sha256"):
            problem = "has a different sha256 than the manifest says"
        if problem:
            raise TrainingError(f"{file} {problem} (changed since curation); {hint}")


def _listing(folder: Path) -> tuple[Path, dict[str, dict[str, Any]]] | None:
    for root in (folder, folder.parent):
        path = root / MANIFEST
        if not path.is_file():
            continue
        prefix = PurePosixPath(folder.relative_to(root).as_posix())
        try:
            listed = {e["path"]: e for e in json.loads(path.read_text())["files"]
                      if PurePosixPath(e["path"]).parent == prefix
                      and e["path"].endswith(".parquet")}
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise TrainingError(f"{path} is not a readable gristmill manifest ({err})") from None
        if root == folder or listed:
            return path, listed
    return None


@lru_cache(maxsize=4096)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """Hash each unchanged file once per process (size and mtime are part of the key)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
