"""The HTML reports: one self-contained file each (inline CSS and SVG, no script, no
network), for a corpus (`render_stats`), a curation run (`render_run`, the corpus sections
after the funnel) and two corpora side by side (`render_compare`).

All text that comes from documents was scrubbed when the statistics were collected
(`curation.pii.scrub.snippet`) and is HTML-escaped here.
"""

from __future__ import annotations

import re
from collections import Counter
from html import escape, unescape
from itertools import pairwise
from typing import Any

from curation.stats import charts
from curation.stats.charts import number
from gristmill.outputs import HTML_MARK

LENGTH_TITLES = {"chars": ("Characters per document", "characters per document"),
                 "words": ("Words per document", "words per document"),
                 "lines": ("Lines per document", "lines per document"),
                 "bytes": ("UTF-8 bytes per document", "bytes per document"),
                 "tokens": ("Tokens per document", "tokens per document")}

CSS = """
:root{--ink:#222;--muted:#666;--line:#e3e6ea;--bg:#f6f7f9;--card:#fff;--blue:#3867b0;
--red:#c8443c;--orange:#e07b39}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{background:#1f2a3a;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;color:#c9d2de;font-size:13px}
header nav{margin-top:8px;font-size:13px;color:#8a97a8}
header nav a{color:#dfe6ef;text-decoration:none}header nav a:hover{text-decoration:underline}
main{max-width:1240px;margin:0 auto;padding:18px 20px 40px}
h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.tile .v{font-size:22px;font-weight:600}.tile .k{color:var(--muted);font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px;
overflow:hidden}
.card p.note{color:var(--muted);font-size:12px;margin:4px 2px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f0f2f5;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.snippet{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;
color:#333;word-break:break-word}
.ok{color:#1d7a3a;font-weight:600}.bad{color:var(--red);font-weight:600}
.muted{color:var(--muted)}
.pill{display:inline-block;padding:0 6px;border-radius:9px;background:#eef1f6;font-size:12px}
"""


def page(title: str, subtitle: str, body: list[str]) -> str:
    """The whole document; every section heading gets an anchor and a link in the header."""
    links: list[tuple[str, str]] = []

    def anchor(match: re.Match) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", unescape(match.group(1)).lower()).strip("-")
        slug = f"{slug}-{len(links)}" if any(s == slug for s, _ in links) else slug
        links.append((slug, match.group(1)))
        return f'<h2 id="{slug}">{match.group(1)}</h2>'

    main = re.sub(r"<h2>(.*?)</h2>", anchor, "\n".join(body))
    nav = " · ".join(f'<a href="#{slug}">{text}</a>' for slug, text in links)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        HTML_MARK,
        '<link rel="icon" href="data:,">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p><nav>{nav}</nav></header>",
        f"<main>{main}</main></body></html>"])


def _tiles(items: list[tuple[str, str]]) -> str:
    cells = "".join(f'<div class="tile"><div class="v">{escape(v)}</div>'
                    f'<div class="k">{escape(k)}</div></div>' for k, v in items)
    return f'<div class="tiles">{cells}</div>'


def _card(*parts: str) -> str:
    return '<div class="card">' + "".join(parts) + "</div>"


def _grid(cards: list[str]) -> str:
    return '<div class="grid">' + "".join(cards) + "</div>" if cards else ""


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f'<th class="{"num" if i in numeric else ""}">{escape(h)}</th>'
                   for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(
        f'<td class="{"num" if i in numeric else ("snippet" if h == "text" else "")}">{c}</td>'
        for i, (h, c) in enumerate(zip(headers, row, strict=True))) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ---------------------------------------------------------------------------------------
# One corpus


def render_stats(stats: dict[str, Any], title: str | None = None) -> str:
    subtitle = (f"{stats['path']} · {stats['files']} files · generated {stats['created_at']} "
                f"in {stats['seconds']:.1f} s with {stats['workers']} workers")
    return page(title or f"Corpus statistics: {stats['path']}", subtitle, corpus_sections(stats))


def summary_tiles(stats: dict[str, Any]) -> list[tuple[str, str]]:
    tokens = stats["tokens"]
    items = [("documents", f"{stats['documents']:,}"), ("text", _size(stats["bytes"])),
             ("words", number(stats["words"])), ("characters", number(stats["chars"])),
             ("lines", number(stats["lines"])),
             ("tokens, estimated (bytes / 4)", number(tokens["estimated"]))]
    if tokens.get("exact") is not None:
        items.append(("tokens, exact (tokenizer)", number(tokens["exact"])))
    if stats.get("empty_documents"):
        items.append(("empty documents", f"{stats['empty_documents']:,}"))
    for split, rows in stats.get("splits", {}).items():
        if len(stats["splits"]) > 1:
            items.append((f"documents in {split}", f"{rows:,}"))
    return items


def corpus_sections(stats: dict[str, Any]) -> list[str]:
    out = ["<h2>Corpus</h2>", _tiles(summary_tiles(stats))]
    out += ["<h2>Lengths</h2>", _grid([_card(_length_chart(stats, name))
                                       for name in LENGTH_TITLES if name in stats["lengths"]])]
    out.append(_length_table([("", stats)]))
    cards = []
    if stats.get("languages"):
        cards.append(_card(_top_chart("Languages", stats["languages"], "lang")))
    if stats.get("sources"):
        cards.append(_card(_top_chart("Top sources", stats["sources"], "source")))
    if stats.get("domains"):
        cards.append(_card(_top_chart("Top domains", stats["domains"], "domain (from url)")))
    if cards:
        out += ["<h2>Languages, sources, domains</h2>", _grid(cards)]
    if stats.get("pii"):
        out += ["<h2>PII found by the pipeline</h2>", _pii_section(stats["pii"])]
    if stats.get("duplicates"):
        out += ["<h2>Near-duplicate clusters</h2>", _dup_section(stats["duplicates"])]
    if stats.get("scores"):
        out += ["<h2>Scores recorded by the pipeline</h2>",
                '<p class="muted">Every numeric column of the shards. A dashed red line marks a '
                "threshold of the pipeline that made them; the examples are the documents "
                "closest to it on each side, or, without a threshold, the documents of a "
                "uniform sample closest to the 10th, 50th and 90th percentile.</p>"]
        ordered = sorted(stats["scores"].items(), key=lambda kv: not kv[1].get("thresholds"))
        for name, entry in ordered:  # the columns a filter decides on first
            out.append(_score_section(name, entry))
    if stats.get("sample"):
        rows = [[escape(str(r.get("id"))), f"{r['words']:,}", escape(r["snippet"])]
                for r in stats["sample"]]
        out += ["<h2>Random documents</h2>",
                _card(_table(["id", "words", "text"], rows, {1}),
                      '<p class="note">A uniform random sample; text shortened and '
                      "scrubbed of e-mail addresses, phone numbers and other contact data."
                      "</p>")]
    return out


def _size(nbytes: float) -> str:
    for limit, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if nbytes >= limit:
            return f"{nbytes / limit:.3g} {unit}"
    return f"{int(nbytes)} B"


def _length_chart(stats: dict[str, Any], name: str) -> str:
    hist = stats["lengths"][name]
    title, axis = LENGTH_TITLES[name]
    median = hist["quantiles"]["p50"]
    markers = [(median, f"median {number(median)}")] if median is not None else []
    return charts.histogram(title, hist["edges"], [("", hist["counts"])],
                            f"{axis} (log scale)", "documents", hist["scale"], markers)


def _length_table(corpora: list[tuple[str, dict[str, Any]]]) -> str:
    headers = (["corpus"] if len(corpora) > 1 else []) + [
        "length", "mean", "p1", "p10", "median", "p90", "p99", "max"]
    rows = []
    for label, stats in corpora:
        for name in LENGTH_TITLES:
            hist = stats["lengths"].get(name)
            if not hist:
                continue
            q = hist["quantiles"]
            cells = [escape(LENGTH_TITLES[name][1]), number(hist["mean"]), number(q["p1"]),
                     number(q["p10"]), number(q["p50"]), number(q["p90"]), number(q["p99"]),
                     number(hist["max"])]
            rows.append(([escape(label)] if len(corpora) > 1 else []) + cells)
    offset = 2 if len(corpora) > 1 else 1
    return _card(_table(headers, rows, set(range(offset, len(headers)))),
                 '<p class="note">Quantiles are read off the histogram bins (exact to one '
                 "bin); mean and max are exact.</p>")


def _top_chart(title: str, top: dict[str, Any], what: str) -> str:
    items = top["top"][:15]
    labels = [i["value"] for i in items]
    values = [i["count"] for i in items]
    if top.get("other"):
        labels.append("(other)")
        values.append(top["other"])
    if top.get("nulls"):
        labels.append("(none)")
        values.append(top["nulls"])
    note = "" if top.get("exact", True) else (
        f'<p class="note">Approximate: counts may be low by up to '
        f'{top["count_error_max"]:,} (bounded top-k summary).</p>')
    return charts.bars(title, labels, [("", values)], f"documents per {what}") + note


def _pii_section(pii: dict[str, Any]) -> str:
    items = sorted(((k, v) for k, v in pii.items() if k != "pii_count"),
                   key=lambda kv: -(kv[1]["matches"] or 0))
    total = pii.get("pii_count")
    if not items and total:
        items = [("pii_count", total)]
    labels = [v["entity"] for _, v in items]
    chart = charts.bars("PII matches by type", labels,
                        [("", [v["matches"] or 0 for _, v in items])],
                        "matches (in all documents)")
    rows = [[escape(v["entity"]), f"{v['matches'] or 0:,}", f"{v['documents']:,}"]
            for _, v in items]
    note = (f'<p class="note">All types (<code>pii_count</code>): {total["matches"] or 0:,} '
            f'matches in {total["documents"]:,} documents. The pipeline\'s <code>pii</code> '
            "step replaced them in the text; the counts say what it found.</p>"
            if total and items[0][0] != "pii_count" else "")
    return _grid([_card(chart), _card(_table(["type", "matches", "documents with any"],
                                              rows, {1, 2}), note)])


def _dup_section(dup: dict[str, Any]) -> str:
    hist = dup["histogram"]
    chart = charts.histogram("Cluster size of each kept document", hist["edges"],
                             [("", hist["counts"])], "documents in its cluster (kept one "
                             "included)", "kept documents", hist["scale"])
    note = (f'<p class="note">{dup["in_clusters"]:,} of {dup["documents"]:,} kept documents '
            f'stand for a cluster of two or more (column <code>{escape(dup["column"])}'
            f"</code>).</p>")
    return _grid([_card(chart, note)])


def _score_section(name: str, entry: dict[str, Any]) -> str:
    hist = entry["histogram"]
    markers = [(t["value"], f"{t['step']}.{t['param']} = {number(t['value'])}")
               for t in entry.get("thresholds", [])]
    axis = f"{name} ({hist['unit']})" if hist.get("unit") else name
    chart = charts.histogram(name, hist["edges"], [("", hist["counts"])], axis, "documents",
                             hist["scale"], markers)
    q = hist["quantiles"]
    facts = (f'<p class="note">{hist["count"]:,} values, {hist["nulls"]:,} null; min '
             f'{number(hist["min"])}, median {number(q["p50"])}, mean {number(hist["mean"])}, '
             f'max {number(hist["max"])}</p>')
    rows = []
    for t in entry.get("thresholds", []):
        where = f"{t['step']}.{t['param']} {number(t['value'])}"
        if hist["count"] and not hist["min"] <= t["value"] <= hist["max"]:
            side = "below" if t["value"] > hist["max"] else "above"
            rows.append([where, "", "", "", f'<span class="muted">no document near it: every '
                         f"value is {side} the threshold</span>"])
            continue
        for side in ("below", "above"):
            kept = side == t["keeps"]
            for ex in t[side]:
                rows.append([where, "kept" if kept else "would be dropped", number(ex["value"]),
                             escape(str(ex.get("id"))), escape(ex["snippet"])])
    for ex in entry.get("examples", []) if not entry.get("thresholds") else []:
        rows.append([f"near {ex['quantile']} ({number(ex['target'])})", "",
                     number(ex["value"]), escape(str(ex.get("id"))), escape(ex["snippet"])])
    table = _table(["where", "side", "value", "id", "text"], rows, {2}) if rows else ""
    return _grid([_card(chart, facts), _card(f"<h3>Examples: {escape(name)}</h3>", table)])


# ---------------------------------------------------------------------------------------
# A curation run


def render_run(stats: dict[str, Any], run: dict[str, Any]) -> str:
    subtitle = (f"{run['output']} · pipeline {run.get('pipeline') or '?'} · "
                f"generated {stats['created_at']}")
    body = run_sections(run) + corpus_sections(stats)
    return page(f"Curation report: {run.get('pipeline') or run['output']}", subtitle, body)


def _input_notes(inputs: dict[str, Any], shown: int = 10) -> list[str]:
    """The input files, and those that gave nothing: skipped (unreadable) or empty."""
    if not inputs.get("files"):
        return []
    out = [f'<p>Input: {inputs["files"]:,} files, {_size(inputs.get("bytes") or 0)} on '
           "disk.</p>"]
    for key, title, css in (("skipped", "skipped (unreadable, --skip-bad-files)", "bad"),
                            ("empty", "held no records", "muted")):
        items = inputs.get(key) or []
        if items:
            names = [escape(i["error"] if isinstance(i, dict) else i) for i in items[:shown]]
            more = f" and {len(items) - shown:,} more" if len(items) > shown else ""
            out.append(f'<p class="{css}">{len(items):,} input file(s) {title}: '
                       f'{"; ".join(names)}{more}</p>')
    return out


def run_sections(run: dict[str, Any]) -> list[str]:
    counts = run["counts"]
    ok = counts["input"] == counts["kept"] + counts["rejected"]
    verdict = ('<span class="ok">OK</span>' if ok else '<span class="bad">MISMATCH</span>')
    out = ["<h2>Funnel</h2>",
           f'<p>Documents: input <b>{counts["input"]:,}</b> = kept <b>{counts["kept"]:,}</b> '
           f'+ rejected <b>{counts["rejected"]:,}</b> {verdict}. Bytes: '
           f'{_size(counts.get("bytes_in", 0))} read, {_size(counts.get("bytes_kept", 0))} '
           f"kept.</p>", *_input_notes(run.get("inputs") or {})]
    steps = run["steps"]
    out.append(_card(charts.funnel("Documents through the pipeline", steps,
                                   value_format=lambda v: f"{v:,}"),
                     charts.funnel("Text (UTF-8 bytes) through the pipeline", steps,
                                   unit="MB", key_in="bytes_in", key_out="bytes_out",
                                   scale=1e-6, value_format=_size)))
    rows = []
    for step in steps:
        reasons = ", ".join(f"{escape(r)} {n:,}" for r, n in
                            sorted(step["rejected"].items(), key=lambda kv: -kv[1]))
        flagged = ", ".join(f"{escape(r)} {n:,}" for r, n in step.get("flagged", {}).items())
        rows.append([escape(step["name"]), f"{step['docs_in']:,}", f"{step['docs_out']:,}",
                     f"{step['docs_in'] - step['docs_out']:,}",
                     _size(step["bytes_in"]), _size(step["bytes_out"]),
                     reasons + (f' <span class="pill">flagged: {flagged}</span>'
                                if flagged else "")])
    out.append(_card(_table(["step", "docs in", "docs out", "removed", "text in", "text out",
                             "reasons"], rows, {1, 2, 3, 4, 5})))
    timed = [s for s in steps if s.get("docs_per_second")]
    if timed:
        out += ["<h2>Throughput</h2>", _grid([_card(
            charts.bars("Documents per second, per step", [s["name"] for s in timed],
                        [("", [s["docs_per_second"] for s in timed])],
                        "documents per second (docs in / step time, summed over workers)"),
            '<p class="note">Step time is summed over worker processes (CPU-side time), '
            "plus the reduce phase of global steps; the read step's time is not measured "
            "separately.</p>")])]
    if run.get("examples"):
        out += ["<h2>Rejected documents, by reason</h2>",
                '<p class="muted">A few documents per reason, as the reason saw them '
                "(text shortened and scrubbed of e-mail addresses, phone numbers and other "
                "contact data).</p>"]
        rows = []
        for reason, examples in run["examples"].items():
            for ex in examples:
                dup = (f'<br><span class="muted">duplicate of {escape(ex["duplicate_of"])}'
                       f"</span>" if ex.get("duplicate_of") else "")
                rows.append([f"<code>{escape(reason)}</code>", escape(str(ex["id"])) + dup,
                             escape(ex["snippet"]) or '<span class="muted">(empty)</span>'])
        out.append(_card(_table(["reason", "id", "text"], rows)))
    for entry in run.get("dedup", []):
        out += _dedup_section(entry)
    if run.get("languages"):
        out += _language_section(run["languages"])
    return out


def _language_section(funnel: dict[str, Any]) -> list[str]:
    """The funnel per language, and which languages the filters judged by English defaults."""
    rows = [[escape(r["lang"]), f"{r['in']:,}", f"{r['kept']:,}",
             f"{r['kept'] / r['in']:.0%}" if r["in"] else "-", escape(r["thresholds"])
             + ("" if r["stop_words"] else ", no stop-word list"),
             _by_step(r["rejected"])]
            for r in funnel["rows"]]
    out = ["<h2>Languages</h2>", _card(_table(
        ["lang", "docs in", "kept", "kept %", "thresholds", "reasons"], rows, {1, 2, 3}))]
    if funnel["defaults_used_for"]:
        out.append('<p class="muted">No per-language table for '
                   f'{escape(", ".join(funnel["defaults_used_for"]))}: the heuristic filters '
                   "used their default (English) thresholds there (docs/languages.md).</p>")
    return out


def _by_step(rejected: dict[str, int]) -> str:
    """Drops per step, most first, with each step's top rule: "gopher_quality 74 (alpha_words
    49)"."""
    steps: dict[str, Counter] = {}
    for reason, count in rejected.items():
        step, _, rule = reason.partition(":")
        steps.setdefault(step, Counter())[rule] += count
    ordered = sorted(steps.items(), key=lambda kv: -kv[1].total())
    return ", ".join(f"{escape(step)} {rules.total():,} ({escape(rules.most_common(1)[0][0])} "
                     f"{rules.most_common(1)[0][1]:,})" for step, rules in ordered)


def _dedup_section(entry: dict[str, Any]) -> list[str]:
    report, name = entry["report"], entry["name"]
    if "clusters" in report:
        facts = [("clusters", f"{report['clusters']:,}"),
                 ("documents in clusters", f"{report.get('documents_in_clusters', 0):,}"),
                 ("documents removed", f"{report.get('documents_removed', 0):,}")]
        for key, label in (("candidate_pairs", "candidate pairs"),
                           ("verified_pairs", "verified pairs"), ("bands", "LSH bands"),
                           ("rows", "rows per band")):
            if report.get(key) is not None:
                facts.append((label, f"{report[key]:,}"))
        out = [f"<h2>Near duplicates: {escape(name)}</h2>", _tiles(facts)]
        cards = []
        histogram = report.get("size_histogram") or []
        largest = max((c["size"] for c in report.get("largest_clusters", [])), default=None)
        if histogram:
            labels = []
            for i, bin_ in enumerate(histogram):
                low = bin_["min_size"]
                high = histogram[i + 1]["min_size"] - 1 if i + 1 < len(histogram) else largest
                labels.append(f"{low}+" if high is None else f"{low}" if high <= low
                              else f"{low}\u2013{high}")
            cards.append(_card(charts.bars("Clusters by size", labels,
                                           [("", [b["clusters"] for b in histogram])],
                                           "clusters (size = documents in the cluster)")))
        rows = []
        for cluster in report.get("largest_clusters", []):
            examples = "".join(
                f'<div><span class="pill">{"kept" if i == 0 else "member"}</span> '
                f"{escape(e)}</div>" for i, e in enumerate(cluster.get("examples", [])))
            rows.append([f"{cluster['size']:,}", escape(str(cluster["kept_id"])), examples])
        if rows:
            cards.append(_card("<h3>Largest clusters</h3>",
                               _table(["size", "kept id", "text"], rows, {0}),
                               '<p class="note">First the kept document, then another member '
                               "(scrubbed).</p>"))
        return [*out, _grid(cards)]
    if "units" in report:  # paragraph_dedup
        facts = [(f"{report['units']} seen", f"{report.get('total', 0):,}"),
                 (f"{report['units']} removed", f"{report.get('removed', 0):,}")]
        if report.get("expected_false_positive_rate") is not None:
            facts.append(("Bloom filter false-positive rate",
                          f"{report['expected_false_positive_rate']:.2g}"))
        return [f"<h2>Repeated {escape(report['units'])}: {escape(name)}</h2>", _tiles(facts)]
    return []


# ---------------------------------------------------------------------------------------
# Two corpora


def render_compare(comparison: dict[str, Any]) -> str:
    a, b = comparison["a"], comparison["b"]
    names = (comparison["label_a"], comparison["label_b"])
    subtitle = f"A = {a['path']} · B = {b['path']} · generated {comparison['created_at']}"
    body = ["<h2>Totals</h2>"]
    rows = [[escape(d["measure"]), _exact(d["a"]), _exact(d["b"]), _delta(d)]
            for d in comparison["totals"]]
    body.append(_card(_table(["", names[0], names[1], f"{names[1]} \u2212 {names[0]}"], rows,
                             {1, 2, 3})))
    body += ["<h2>Lengths</h2>",
             '<p class="muted">Share of each corpus\'s documents per bin (same bins for both).'
             "</p>"]
    cards = []
    for name, (title, axis) in LENGTH_TITLES.items():
        if name in a["lengths"] and name in b["lengths"]:
            ha, hb = a["lengths"][name], b["lengths"][name]
            edges, ca, cb = _aligned(ha, hb)
            cards.append(_card(charts.histogram(title, edges, [(names[0], ca), (names[1], cb)],
                                                f"{axis} (log scale)", "% of documents",
                                                ha["scale"], percent=True)))
    body.append(_grid(cards))
    body.append(_length_table([(names[0], a), (names[1], b)]))
    cards = []
    for key, title, what in (("languages", "Languages", "lang"),
                             ("sources", "Top sources", "source"),
                             ("domains", "Top domains", "domain")):
        if a.get(key) and b.get(key):
            labels, va, vb = _top_pairs(a[key], b[key])
            cards.append(_card(charts.bars(title, labels, [(names[0], va), (names[1], vb)],
                                           f"% of each corpus's documents, per {what}",
                                           value_format=lambda v: f"{v:.1f}%")))
    if cards:
        body += ["<h2>Languages, sources, domains</h2>", _grid(cards)]
    shared = [n for n in a.get("scores", {}) if n in b.get("scores", {})]
    if shared:
        body.append("<h2>Scores</h2>")
        cards = []
        for name in shared:
            ha, hb = a["scores"][name]["histogram"], b["scores"][name]["histogram"]
            edges, ca, cb = _aligned(ha, hb)
            if edges is None:
                continue
            cards.append(_card(charts.histogram(name, edges, [(names[0], ca), (names[1], cb)],
                                                f"{name} ({ha.get('unit', '')})",
                                                "% of documents", ha["scale"], percent=True)))
        body.append(_grid(cards))
    return page(f"Comparison: {names[0]} vs {names[1]}", subtitle, body)


def _exact(value: float | None) -> str:
    return f"{value:,}" if isinstance(value, int) else number(value)


def _delta(entry: dict[str, Any]) -> str:
    if entry["a"] is None or entry["b"] is None:
        return "\u2013"
    diff = entry["b"] - entry["a"]
    rel = f" ({diff * 100 / entry['a']:+.1f}%)" if entry["a"] else ""
    sign = "+" if diff > 0 else ""
    return f"{sign}{_exact(diff)}{rel}"


def _aligned(ha: dict[str, Any], hb: dict[str, Any]):
    """The two histograms' counts over the union of their (trimmed) bins; None if the bins
    differ (then the corpora were not collected together)."""
    ea, eb = ha["edges"], hb["edges"]
    if not ea or not eb:
        return [0, 1], [0], [0]
    edges = sorted(set(ea) | set(eb))
    index = {e: i for i, e in enumerate(edges)}
    if any(index[x] + 1 != index[y] for x, y in pairwise(ea)) or any(
            index[x] + 1 != index[y] for x, y in pairwise(eb)):
        return None, None, None
    ca, cb = [0] * (len(edges) - 1), [0] * (len(edges) - 1)
    for e, c in zip(ea, ha["counts"], strict=False):
        ca[index[e]] = c
    for e, c in zip(eb, hb["counts"], strict=False):
        cb[index[e]] = c
    return edges, ca, cb


def _top_pairs(ta: dict[str, Any], tb: dict[str, Any], k: int = 12):
    counts_a = {i["value"]: i["count"] for i in ta["top"]}
    counts_b = {i["value"]: i["count"] for i in tb["top"]}
    labels = sorted(set(counts_a) | set(counts_b),
                    key=lambda v: -(counts_a.get(v, 0) / max(ta["total"], 1)
                                    + counts_b.get(v, 0) / max(tb["total"], 1)))[:k]
    va = [counts_a.get(v, 0) * 100 / max(ta["total"], 1) for v in labels]
    vb = [counts_b.get(v, 0) * 100 / max(tb["total"], 1) for v in labels]
    return labels, va, vb
