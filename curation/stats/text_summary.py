"""Plain-text summaries for terminals (rich tables): one corpus, or a comparison."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from curation.stats.charts import number

_LENGTHS = ("chars", "words", "lines", "bytes", "tokens")
_BAR = "▁▂▃▄▅▆▇█"


def print_stats(stats: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    tokens = stats["tokens"]
    exact = f", exact {tokens['exact']:,}" if tokens.get("exact") is not None else ""
    console.print(f"[bold]{stats['path']}[/]: {stats['documents']:,} documents in "
                  f"{stats['files']} files, {stats['bytes'] / 1e6:,.1f} MB of text, "
                  f"{stats['words']:,} words, tokens ≈ {tokens['estimated']:,} "
                  f"(bytes / 4){exact}")
    if len(stats.get("splits", {})) > 1:
        console.print("splits: " + ", ".join(f"{k} {v:,}" for k, v in stats["splits"].items()))
    table = Table(title="Lengths per document", title_justify="left")
    for column in ("", "mean", "p10", "median", "p90", "p99", "max", "distribution"):
        table.add_column(column, justify="left" if column in ("", "distribution") else "right")
    for name in _LENGTHS:
        hist = stats["lengths"].get(name)
        if hist:
            q = hist["quantiles"]
            table.add_row(name, number(hist["mean"]), number(q["p10"]), number(q["p50"]),
                          number(q["p90"]), number(q["p99"]), number(hist["max"]),
                          sparkline(hist["counts"]))
    console.print(table)
    for key, title in (("languages", "languages"), ("sources", "top sources"),
                       ("domains", "top domains")):
        top = stats.get(key)
        if top and top["top"]:
            total = max(top["total"] + top["nulls"], 1)
            items = ", ".join(f"{i['value']} {i['count'] * 100 / total:.1f}%"
                              for i in top["top"][:8])
            console.print(f"{title}: {items}")
    if stats.get("pii"):
        console.print("PII matches: " + ", ".join(
            f"{v['entity']} {v['matches'] or 0:,}" for v in stats["pii"].values()))
    if stats.get("duplicates"):
        dup = stats["duplicates"]
        console.print(f"near-duplicate clusters: {dup['in_clusters']:,} kept documents stand "
                      f"for clusters of 2 or more")
    if stats.get("scores"):
        table = Table(title="Score columns", title_justify="left")
        for column in ("column", "count", "null", "min", "median", "mean", "max",
                       "thresholds", "distribution"):
            table.add_column(column, justify="left" if column in (
                "column", "thresholds", "distribution") else "right")
        for name, entry in stats["scores"].items():
            hist = entry["histogram"]
            thresholds = ", ".join(f"{t['step']}.{t['param']}={number(t['value'])}"
                                   for t in entry.get("thresholds", []))
            table.add_row(name, f"{hist['count']:,}", f"{hist['nulls']:,}", number(hist["min"]),
                          number(hist["quantiles"]["p50"]), number(hist["mean"]),
                          number(hist["max"]), thresholds, sparkline(hist["counts"]))
        console.print(table)
    console.print(f"[dim]{stats['seconds']:.1f} s, {stats['workers']} workers, "
                  f"{number(stats.get('documents_per_second'))} documents/s[/]")


def print_compare(comparison: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    a, b = comparison["a"], comparison["b"]
    la, lb = comparison["label_a"], comparison["label_b"]
    console.print(f"{la} = {a['path']}\n{lb} = {b['path']}")
    table = Table(title="Totals", title_justify="left")
    for column in ("", la, lb, f"{lb} \u2212 {la}", "change"):
        table.add_column(column, justify="left" if not column else "right")
    for row in comparison["totals"]:
        relative = f"{row['relative'] * 100:+.1f}%" if row["relative"] is not None else ""
        delta = row["delta"]
        table.add_row(row["measure"], number(row["a"]), number(row["b"]),
                      ("+" if delta and delta > 0 else "") + number(delta), relative)
    console.print(table)
    table = Table(title="Length distributions (share of documents per bin, same bins)",
                  title_justify="left")
    for column in ("", la, lb):
        table.add_column(column)
    for name, entry in comparison["lengths"].items():
        table.add_row(name, sparkline(entry["a"]), sparkline(entry["b"]))
    console.print(table)
    for key in ("languages", "sources"):
        rows = comparison.get(key) or []
        if rows:
            console.print(f"{key}: " + ", ".join(
                f"{r['value']} {r['a']:,}→{r['b']:,}" for r in rows[:8]))


def sparkline(counts: list[int]) -> str:
    if not counts:
        return ""
    peak = max(counts) or 1
    return "".join(" " if not c else _BAR[min(len(_BAR) - 1, int(c / peak * len(_BAR)))]
                   for c in counts)
