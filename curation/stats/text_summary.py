"""Plain-text summaries for terminals (rich tables): one corpus, or a comparison."""

from __future__ import annotations

from typing import Any

from rich import box
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
    if table.row_count:
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
        console.print(_score_table(stats["scores"], stats["documents"], console))
    console.print(f"[dim]{stats['seconds']:.1f} s, {stats['workers']} workers, "
                  f"{number(stats.get('documents_per_second'))} documents/s[/]")


def _score_table(scores: dict[str, Any], documents: int, console: Console) -> Table:
    """Names whole and on one line, numbers to 2 digits, each threshold as >= / <= its value
    (the parameter's name is in the HTML report). Columns that do not fit the terminal are
    left out, least useful first: distribution, min, null (shown only when some are)."""
    nulls = any(entry["histogram"]["nulls"] for entry in scores.values())
    optional = [c for c in ("null", "min", "distribution") if c != "null" or nulls]
    while True:
        table = _scores(scores, documents, optional)
        unlimited = console.options.update_width(1 << 16)
        if not optional or table.__rich_measure__(console, unlimited).maximum <= console.width:
            return table
        optional.pop()


def _scores(scores: dict[str, Any], documents: int, optional: list[str]) -> Table:
    table = Table(title="Score columns", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("column", no_wrap=True)
    numbers = [c for c in ("null", "min", "median", "mean", "max")
               if c in optional or c not in ("null", "min")]
    for column in numbers:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("threshold", no_wrap=True)
    if "distribution" in optional:
        table.add_column("distribution", no_wrap=True)
    for name, entry in scores.items():
        hist = entry["histogram"]
        values = {"null": f"{hist['nulls'] * 100 / max(documents, 1):.0f}%",
                  "min": _short(hist["min"]), "median": _short(hist["quantiles"]["p50"]),
                  "mean": _short(hist["mean"]), "max": _short(hist["max"])}
        row = [name, *(values[c] for c in numbers), _thresholds(entry.get("thresholds", []))]
        if "distribution" in optional:
            row.append(sparkline(hist["counts"]))
        table.add_row(*row)
    return table


def _short(value: float | None) -> str:
    """Two significant digits, whole numbers from 10 up: 0.0021, 0.32, 4.2, 223, 19k."""
    if value is not None and 10 <= abs(value) < 1000:
        return f"{value:.0f}"
    return number(value, 2)


def _thresholds(thresholds: list[dict[str, Any]]) -> str:
    signs = {"min": "\u2265 ", "max": "\u2264 "}
    return ", ".join(signs.get(t["param"].split("_")[0], t["param"] + " ") + number(t["value"])
                     for t in sorted(thresholds, key=lambda t: t["param"], reverse=True))


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


def sparkline(counts: list[int], width: int = 16) -> str:
    """At most `width` characters: neighbouring bins are added up first."""
    if not counts:
        return ""
    group = -(-len(counts) // width)
    counts = [sum(counts[i:i + group]) for i in range(0, len(counts), group)]
    peak = max(counts) or 1
    return "".join(" " if not c else _BAR[min(len(_BAR) - 1, int(c / peak * len(_BAR)))]
                   for c in counts)
