"""report.html of an ablation: one self-contained page (inline SVG and CSS, no script, no
network): the verdict, curves of each evaluation metric against tokens with a band over
the seeds per variant, the table of differences, and the overlap check."""

from __future__ import annotations

import html
from typing import Any

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
W, H, PAD = 560, 300, 56
STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:1180px;margin:24px auto;
padding:0 16px;color:#222}h1{font-size:22px}h2{font-size:18px;margin-top:28px}
.verdict{font-size:17px;background:#f4f6fa;border-left:4px solid #1f77b4;padding:10px 14px}
.charts{display:flex;flex-wrap:wrap;gap:12px}svg.chart{background:#fff;border:1px solid #ddd}
table{border-collapse:collapse;margin-top:8px}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:right}th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
.yes{color:#1a7f37;font-weight:600}.no{color:#888}"""


def render_report(result: dict[str, Any]) -> str:
    plan = result["plan"]
    charts = [chart(metric, result) for metric in _curve_metrics(result)]
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>ablation</title>"
            f"<link rel='icon' href='data:,'><style>{STYLE}</style></head><body>"
            f"<h1>Data ablation: {html.escape(', '.join(plan['variants']))}</h1>"
            f"<p class='verdict'>{html.escape(result['verdict'])}</p>"
            f"<p>{len(plan['seeds'])} seeds ({', '.join(map(str, plan['seeds']))}) per variant; "
            f"{plan['tokens']:,} tokens per run ({plan['steps']} steps of "
            f"{plan['tokens_per_step']:,}); one tokenizer ({html.escape(plan['tokenizer'])}). "
            "Lines are the mean over seeds, bands span the seeds' lowest to highest value."
            "</p><h2>Curves</h2><div class='charts'>" + "".join(charts) + "</div>"
            + differences_table(result) + contamination_table(result) + "</body></html>")


def _curve_metrics(result: dict[str, Any]) -> list[str]:
    return [m for m in result["variants"][next(iter(result["variants"]))]
            if m.startswith(("eval_bpb/", "task_bpb", "task_acc_norm", "task_centered"))]


def chart(metric: str, result: dict[str, Any]) -> str:
    """Mean line and min-max band over seeds per variant, the metric against tokens."""
    series = {}
    for variant, seeds in result["runs"].items():
        curves = [[(p["tokens"], p[metric]) for p in run["curve"] if metric in p]
                  for run in seeds.values()]
        steps = sorted(set.intersection(*(set(t for t, _ in c) for c in curves)))
        rows = [[dict(c)[t] for c in curves] for t in steps]
        series[variant] = [(t, sum(r) / len(r), min(r), max(r)) for t, r in zip(steps, rows,
                                                                              strict=True)]
    points = [p for s in series.values() for p in s]
    if not points:
        return ""
    x0, x1 = 0, max(p[0] for p in points)
    y0, y1 = min(p[2] for p in points), max(p[3] for p in points)
    y0, y1 = (y0 - 0.5, y1 + 0.5) if y0 == y1 else (y0 - 0.05 * (y1 - y0), y1 + 0.05 * (y1 - y0))

    def sx(x: float) -> float:
        return PAD + (x - x0) / max(x1 - x0, 1) * (W - PAD - 12)

    def sy(y: float) -> float:
        return H - 40 - (y - y0) / (y1 - y0) * (H - 40 - 24)

    parts = [f"<svg class='chart' width='{W}' height='{H}' viewBox='0 0 {W} {H}' "
             "xmlns='http://www.w3.org/2000/svg'>",
             f"<text x='{W / 2}' y='16' text-anchor='middle' font-size='13'>"
             f"{html.escape(metric)}</text>"]
    for i in range(5):
        y = y0 + (y1 - y0) * i / 4
        parts.append(f"<line x1='{PAD}' x2='{W - 12}' y1='{sy(y):.1f}' y2='{sy(y):.1f}' "
                     f"stroke='#eee'/><text x='{PAD - 4}' y='{sy(y) + 4:.1f}' font-size='11' "
                     f"text-anchor='end'>{y:.3f}</text>")
        x = x0 + (x1 - x0) * i / 4
        anchor = "end" if i == 4 else "middle"
        parts.append(f"<text x='{sx(x):.1f}' y='{H - 24}' font-size='11' "
                     f"text-anchor='{anchor}'>{x:,.0f}</text>")
    parts.append(f"<text x='{W / 2}' y='{H - 6}' text-anchor='middle' font-size='12'>"
                 "tokens trained</text>")
    for k, (variant, rows) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        band = [f"{sx(t):.1f},{sy(hi):.1f}" for t, _, _, hi in rows]
        band += [f"{sx(t):.1f},{sy(lo):.1f}" for t, _, lo, _ in reversed(rows)]
        line = " ".join(f"{sx(t):.1f},{sy(m):.1f}" for t, m, _, _ in rows)
        parts += [f"<polygon class='band' points='{' '.join(band)}' fill='{color}' "
                  "fill-opacity='0.18' stroke='none'/>",
                  f"<polyline class='mean' points='{line}' fill='none' stroke='{color}' "
                  "stroke-width='2'/>",
                  f"<rect x='{W - 150}' y='{28 + 16 * k}' width='10' height='10' "
                  f"fill='{color}'/><text x='{W - 135}' y='{37 + 16 * k}' font-size='12'>"
                  f"{html.escape(variant)}</text>"]
    return "".join(parts) + "</svg>"


def differences_table(result: dict[str, Any]) -> str:
    rows = ["<h2>Differences (a minus b, final evaluation)</h2><table><tr><th>metric</th>"
            "<th>a</th><th>b</th><th>mean a</th><th>mean b</th><th>difference</th>"
            "<th>seed noise</th><th>significant (&gt; 2x noise)</th><th>better</th></tr>"]
    for d in result["differences"]:
        va, vb = (result["variants"][d[k]][d["metric"]]["mean"] for k in ("a", "b"))
        mark = "<td class='yes'>yes</td>" if d["significant"] else "<td class='no'>no</td>"
        rows.append(f"<tr><td>{html.escape(d['metric'])}</td><td>{html.escape(d['a'])}</td>"
                    f"<td>{html.escape(d['b'])}</td><td>{va:.4f}</td><td>{vb:.4f}</td>"
                    f"<td>{d['difference']:+.4f}</td><td>{d['noise']:.4f}</td>{mark}"
                    f"<td>{html.escape(d['better'] or '')}</td></tr>")
    return "".join(rows) + "</table>"


def contamination_table(result: dict[str, Any]) -> str:
    if not result["contamination"]:
        return ""
    rows = ["<h2>Overlap of the evaluation sets with the training data</h2><table><tr>"
            "<th>evaluation set</th><th>variant</th><th>documents overlapping</th>"
            "<th>of</th><th>removed</th></tr>"]
    for name, c in result["contamination"].items():
        for variant, o in c["overlap"].items():
            rows.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(variant)}</td>"
                        f"<td>{o['documents']} ({o['fraction']:.1%})</td><td>{c['documents']}"
                        f"</td><td>{c['removed']}</td></tr>")
    return "".join(rows) + "</table>"
