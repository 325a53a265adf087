"""The end-of-run summary: the funnel per step and the accounting line, for terminals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

# A read reason that rejects every record points at one input setting, not at the data.
READ_SETTINGS = {"missing_text": "input.text_field", "text_not_string": "input.text_field",
                 "empty": "input.text_field", "missing_id": "input.id_field",
                 "malformed_json": "input.format", "not_an_object": "input.format",
                 "invalid_utf8": "input.format"}


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def print_summary(manifest: dict[str, Any], output: str, seconds: float,
                  console: Console | None = None) -> None:
    """Steps with documents in/out and top reasons, then input = kept + rejected. Reason
    names are typed into configs, so they are never cut: when the table would be wider
    than the terminal, they follow it, a line per step."""
    console = console or Console()
    reasons = {step["name"]: _reasons(step) for step in manifest["steps"]}
    table = _table(manifest, reasons)
    wide = console.options.update_width(1 << 16)
    below = Measurement.get(console, wide, table).maximum > console.width
    console.print(_table(manifest, None) if below else table)
    for name, text in reasons.items() if below else ():
        if text:
            console.print(f"{name}: {escape(', '.join(text.splitlines()))}",
                          highlight=False, soft_wrap=True)
    _print_totals(manifest, output, seconds, console)


def _reasons(step: dict[str, Any]) -> str:
    """The top reasons of a step, one a line."""
    reasons = sorted(step["rejected"].items(), key=lambda kv: -kv[1])[:3]
    flagged = sorted(step["flagged"].items(), key=lambda kv: -kv[1])[:2]
    return "\n".join([*(f"{r} {n:,}" for r, n in reasons),
                      *(f"(flagged {r} {n:,})" for r, n in flagged)])


def _table(manifest: dict[str, Any], reasons: dict[str, str] | None) -> Table:
    """The funnel table; with `reasons`, a column of each step's top reasons."""
    table = Table(title=f"gristmill: {manifest['pipeline']['name']}", title_justify="left")
    columns = ("step", "docs in", "kept", "rejected", "top reasons", "MB out", "s")
    for column in (c for c in columns if reasons is not None or c != "top reasons"):
        table.add_column(column, no_wrap=True,
                         justify="left" if column in ("step", "top reasons") else "right")
    for step in manifest["steps"]:
        cells = [step["name"], f"{step['docs_in']:,}", f"{step['docs_out']:,}",
                 f"{sum(step['rejected'].values()):,}", f"{step['bytes_out'] / 1e6:,.1f}",
                 f"{step['seconds']:.1f}"]
        if reasons is not None:
            cells.insert(4, escape(reasons[step["name"]]))
        table.add_row(*cells)
    return table


def _print_totals(manifest: dict[str, Any], output: str, seconds: float,
                  console: Console) -> None:
    counts = manifest["counts"]
    ok = counts["input"] == counts["kept"] + counts["rejected"]
    splits = ", ".join(f"{k} {v:,}" for k, v in counts["kept_by_split"].items())
    console.print(f"documents: input {counts['input']:,} = kept {counts['kept']:,} + rejected "
                  f"{counts['rejected']:,} {'[green]OK[/]' if ok else '[red]MISMATCH[/]'}")
    if len(counts["kept_by_split"]) > 1:
        console.print(f"kept by split: {splits}")
    rate = counts["input"] / max(seconds, 1e-9)
    console.print(f"bytes: {_mb(counts['bytes_in'])} in, {_mb(counts['bytes_kept'])} kept; "
                  f"{seconds:.1f}s, {rate:,.0f} docs/s")
    for skipped in manifest["inputs"]["skipped_files"]:
        console.print(f"[yellow]skipped[/] {skipped['error']}")
    empty = manifest["inputs"].get("empty_files", [])
    if empty:
        names = ", ".join(e.removeprefix("file://") for e in empty[:5])
        more = f" and {len(empty) - 5:,} more" if len(empty) > 5 else ""
        console.print(f"[yellow]note[/]: {len(empty):,} input file(s) held no records: "
                      f"{names}{more}")
    console.print(f"output: {output}  (manifest: {output}/_manifest.json)")


def whole_run_warning(manifest: dict[str, Any], output: str) -> str | None:
    """When every record was rejected for one read reason, the setting that fixes it (the
    run is not wrong, the input settings are), with a field the records do have."""
    counts, read = manifest["counts"], manifest["steps"][0] if manifest["steps"] else None
    if not counts["input"] or counts["kept"] or not read or read["name"] != "read":
        return None
    reasons = [r for r, n in read["rejected"].items() if n]
    if len(reasons) != 1 or reasons[0] not in READ_SETTINGS:
        return None
    setting = READ_SETTINGS[reasons[0]]
    current = manifest["pipeline"]["resolved"]["input"].get(setting.split(".")[1])
    fields = _record_fields(Path(output), manifest)
    line = (f"every record ({counts['input']:,}) was rejected as read:{reasons[0]}: check "
            f"{setting} (now {current!r})")
    if isinstance(fields.get("messages"), list) and setting == "input.text_field":
        line += ("; the records are chat rows (a messages list): run again with "
                 "input.messages_field=messages --overwrite")
    elif fields and setting == "input.text_field":
        text = max(fields, key=lambda k: len(fields[k]) if isinstance(fields[k], str) else -1)
        line += (f"; the records have the fields {', '.join(fields)}: run again with "
                 f"{setting}={text} --overwrite")
    elif setting == "input.id_field":
        have = f"the records have the fields {', '.join(fields)}: " if fields else ""
        line += (f"; {have}name the field that holds ids, or run again without "
                 f"{setting} (ids then come from file and line) with --overwrite")
    return line


def _record_fields(output: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The fields of the first rejected JSONL record (from its `raw` bytes), if any."""
    rejected = [f["path"] for f in manifest.get("files", []) if f.get("split") == "rejected"]
    try:
        raw = pq.read_table(output / rejected[0], columns=["raw"]).column(0)[0].as_py()
        record = json.loads(raw)
    except (IndexError, KeyError, OSError, ValueError, TypeError):
        return {}
    return record if isinstance(record, dict) else {}
