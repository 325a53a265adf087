"""The end-of-run summary: the funnel per step and the accounting line, for terminals."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def print_summary(manifest: dict[str, Any], output: str, seconds: float,
                  console: Console | None = None) -> None:
    """Steps with documents in/out and top reasons, then input = kept + rejected."""
    console = console or Console()
    table = Table(title=f"gristmill: {manifest['pipeline']['name']}", title_justify="left")
    for column in ("step", "docs in", "kept", "rejected", "top reasons", "MB out", "s"):
        table.add_column(column, justify="left" if column in ("step", "top reasons") else "right")
    for step in manifest["steps"]:
        reasons = sorted(step["rejected"].items(), key=lambda kv: -kv[1])[:3]
        flagged = sorted(step["flagged"].items(), key=lambda kv: -kv[1])[:2]
        text = ", ".join(f"{r} {n:,}" for r, n in reasons)
        text += "".join(f" (flagged {r} {n:,})" for r, n in flagged)
        table.add_row(step["name"], f"{step['docs_in']:,}", f"{step['docs_out']:,}",
                      f"{sum(step['rejected'].values()):,}", text,
                      f"{step['bytes_out'] / 1e6:,.1f}", f"{step['seconds']:.1f}")
    console.print(table)
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
