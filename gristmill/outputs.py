"""What gristmill wrote in an output, and the one rule for replacing it: remove only that,
keep or refuse on everything else.

A curated output directory often holds more than the run wrote (the demo keeps its
tokenizer and model inside `runs/demo`, users keep notes there). `--overwrite` removes the
run's own entries, keeps the rest and says so, and refuses when a folder the run owns holds
a file it did not write. A command that writes one file (`--json`, `--out`) replaces it only
when the file is one gristmill wrote.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from gristmill.errors import UserError

# Entries of a curated output directory (shard contract + run report + resume state).
RUN_FILES = {"_manifest.json", "report.html", "stats.json"}
SHARD_FOLDERS = {"train", "validation", "rejected"}
WORK_FOLDER = "_work"
PART = re.compile(r"part-\d{5}\.parquet")
TEMP_PREFIX = ".tmp-"
# What `save_pretrained` of a model and a fast tokenizer write (`gristmill export`).
HF_FILE = re.compile(r"(config|generation_config|tokenizer|tokenizer_config|"
                     r"special_tokens_map|chat_template)\.json|chat_template\.jinja|"
                     r"model(-\d{5}-of-\d{5})?\.safetensors|model\.safetensors\.index\.json")
# `gristmill stats --html` marks its pages with this tag.
HTML_MARK = '<meta name="generator" content="gristmill">'


@dataclass
class Entries:
    """A directory's entries split into what gristmill wrote and what it did not."""

    ours: list[Path] = field(default_factory=list)
    foreign: list[Path] = field(default_factory=list)


def curated_entries(out: Path) -> Entries:
    """Sort a curated output directory's entries (a foreign file inside a shard folder
    counts as foreign, so the folder is not ours to delete)."""
    entries = Entries()
    for path in sorted(out.iterdir()):
        name = path.name
        if name.startswith(TEMP_PREFIX) or (name == WORK_FOLDER and path.is_dir()):
            entries.ours.append(path)
        elif name in SHARD_FOLDERS and path.is_dir():
            strangers = [p for p in sorted(path.iterdir()) if not _shard_file(p)]
            (entries.foreign.extend(strangers) if strangers else entries.ours.append(path))
        elif path.is_file() and (name in RUN_FILES or PART.fullmatch(name)):
            entries.ours.append(path)
        else:
            entries.foreign.append(path)
    return entries


def _shard_file(path: Path) -> bool:
    return path.is_file() and (PART.fullmatch(path.name) is not None
                               or path.name.startswith(TEMP_PREFIX))


def clear_curated(out: Path) -> list[Path]:
    """`--overwrite` of a curated output: remove the run's entries; return the kept ones.
    Refuses (removing nothing) when a shard folder holds a file the run did not write."""
    entries = curated_entries(out)
    inside = [p for p in entries.foreign if p.parent != out]
    if inside:
        raise UserError(f"{out}: --overwrite removes only what gristmill wrote, and "
                        f"{describe(inside, out)} was not; move it out of the folder and run "
                        "the same command again, or choose another --output")
    remove(entries.ours)
    return entries.foreign


def clear_export(out: Path) -> None:
    """`export --overwrite`: remove an earlier export's files; refuse if anything else is
    there."""
    foreign = [p for p in sorted(out.iterdir()) if not (p.is_file() and HF_FILE.fullmatch(
        p.name))]
    if foreign:
        raise UserError(f"{out}: holds {describe(foreign, out)}, which export did not write; "
                        "--overwrite removes only an earlier export: choose an empty or new "
                        "--out")
    remove(sorted(out.iterdir()))


def replaceable(path: Path, kind: str) -> bool:
    """Whether the existing file `path` is one gristmill wrote as `kind`: "tokenizer"
    (a `tokenizers` JSON), "stats" (`gristmill stats --json`) or "html" (a stats page)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if kind == "html":
        return HTML_MARK in text[:4096]
    try:
        data = json.loads(text)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    if kind == "tokenizer":
        return "model" in data and "added_tokens" in data
    return data.get("kind", "").startswith("gristmill.stats")


def check_replace(path: Path, kind: str, flag: str, overwrite: bool | None = None) -> None:
    """Refuse to replace an existing file gristmill did not write; with `overwrite` False,
    refuse to replace even one it did (the command's --overwrite was not given)."""
    if not path.exists():
        return
    if not replaceable(path, kind):
        raise UserError(f"{flag} {path}: exists and is not a file gristmill wrote, so it is "
                        f"not replaced; choose another {flag} path")
    if overwrite is False:
        raise UserError(f"{flag} {path}: exists; pass --overwrite to replace it")


def remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def describe(paths: list[Path], root: Path) -> str:
    """`a, b/, c` relative to `root`, at most six names."""
    names = [p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in paths]
    more = f" and {len(names) - 6} more" if len(names) > 6 else ""
    return ", ".join(names[:6]) + more
