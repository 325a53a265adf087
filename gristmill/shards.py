"""The shard contract in one place: what a curated output directory holds and how its
`_manifest.json` is read, written and checked.

Curation writes the manifest; stats and training read it. A directory without one (made by
another tool) is read as it is. The manifest lists every Parquet file with its split, rows,
bytes and sha256; a file that is missing, unlisted, truncated or rewritten would silently
change what a model is trained on, so readers that need the guarantee check the listing.
Rows and sizes are cheap to compare (one footer read per file); sha256 reads every byte, so
`verify="auto"` hashes only when the files add up to at most `SHA256_AUTO_LIMIT`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from gristmill.atomic import write_json_atomic
from gristmill.errors import UserError
from gristmill.hashing import file_sha256

MANIFEST = "_manifest.json"
SCHEMA_VERSION = 1
REJECTED = "rejected"
SHA256_AUTO_LIMIT = 1 << 30
Verify = Literal["auto", "full", "quick"]


class ShardContractError(UserError):
    """A directory's files disagree with its manifest, or the manifest is unreadable."""


def read_manifest(root: Path) -> dict[str, Any] | None:
    """`root/_manifest.json`, or None when there is none."""
    path = root / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files", []), list):
            raise ValueError("no 'files' list")
    except (OSError, ValueError) as err:
        raise ShardContractError(f"{path} is not a readable gristmill manifest ({err}); "
                                 f"delete it to read the files as they are") from None
    return manifest


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Written last: its presence is what marks an output complete."""
    write_json_atomic(root / MANIFEST, manifest)


def kept_files(root: Path, manifest: dict[str, Any]) -> list[Path]:
    """The kept shards a manifest lists (every split but rejected/), in manifest order."""
    return [root / f["path"] for f in manifest.get("files", []) if f.get("split") != REJECTED]


def check_files(folder: Path, rows: dict[Path, int], verify: Verify = "auto") -> None:
    """Compare the Parquet files of `folder` (with their row counts) to the manifest, if any.

    The manifest is `folder/_manifest.json`, or the parent's when it lists files in `folder`
    (the `train/` and `validation/` folders of a curated output).
    """
    if verify not in ("auto", "full", "quick"):
        raise ShardContractError(f"verify must be auto, full or quick, not {verify!r}")
    found = _listing(folder)
    if found is None:
        return
    path, listed = found
    root = path.parent
    present = {p.relative_to(root).as_posix(): p for p in rows}
    hint = f"delete {path} to train on the files as they are"
    missing = sorted(listed.keys() - present.keys())
    if missing:
        raise ShardContractError(f"{root / missing[0]} is listed in {path} but missing; copy "
                                 f"the whole directory again, or {hint}")
    unlisted = sorted(present.keys() - listed.keys())
    if unlisted:
        raise ShardContractError(f"{root / unlisted[0]} is not listed in {path}; remove it, "
                                 f"or {hint}")
    total = sum(entry.get("bytes", 0) for entry in listed.values())
    hash_files = verify == "full" or (verify == "auto" and total <= SHA256_AUTO_LIMIT)
    for name, entry in sorted(listed.items()):
        problem = _file_problem(present[name], rows[present[name]], entry, hash_files)
        if problem:
            raise ShardContractError(f"{present[name]} {problem} (changed since curation); "
                                     f"{hint}")


def _file_problem(file: Path, rows: int, entry: dict[str, Any], hash_file: bool) -> str | None:
    stat = file.stat()
    if stat.st_size != entry.get("bytes"):
        return f"has {stat.st_size} bytes, the manifest says {entry.get('bytes')}"
    if rows != entry.get("rows"):
        return f"has {rows} rows, the manifest says {entry.get('rows')}"
    if hash_file and _cached_sha256(str(file), stat.st_size, stat.st_mtime_ns) != entry.get(
            "sha256"):
        return "has a different sha256 than the manifest says"
    return None


def _listing(folder: Path) -> tuple[Path, dict[str, dict[str, Any]]] | None:
    for root in (folder, folder.parent):
        manifest = read_manifest(root)
        if manifest is None:
            continue
        prefix = PurePosixPath(folder.relative_to(root).as_posix())
        try:
            listed = {e["path"]: e for e in manifest["files"]
                      if PurePosixPath(e["path"]).parent == prefix
                      and e["path"].endswith(".parquet")}
        except (KeyError, TypeError) as err:
            raise ShardContractError(f"{root / MANIFEST} is not a readable gristmill manifest "
                                     f"(a file entry lacks {err})") from None
        if root == folder or listed:
            return root / MANIFEST, listed
    return None


@lru_cache(maxsize=4096)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    """Hash each unchanged file once per process (size and mtime are part of the key)."""
    return file_sha256(path)
