"""Inline SVG charts for the HTML reports: histograms, horizontal bars, the funnel.

Plain strings, no plotting library and no script: every chart is an <svg> element with a
title, labeled axes (with units) and a <title> tooltip on each bar. Bins are drawn with equal
widths, so log-spaced bins make a log axis. Two series share the bins (compare mode).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

COLORS = ["#3867b0", "#e07b39"]  # series A, series B
REJECT = "#c8443c"
GRID = "#e3e6ea"
INK = "#222"
MUTED = "#666"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


def number(value: float | None, digits: int = 3) -> str:
    """Compact: 950, 1.2k, 34k, 5.6M, 0.25."""
    if value is None:
        return "\u2013"
    value = float(value)
    if value != value:  # NaN
        return "\u2013"
    magnitude = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:.{digits}g}{suffix}"
    if value.is_integer():
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def _nice_ticks(top: float, count: int = 4) -> list[float]:
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= raw)
    return [i * step for i in range(math.ceil(top / step) + 1)]


def _svg_open(width: int, height: int, title: str, kind: str) -> list[str]:
    return [f'<svg class="chart {kind}" role="img" viewBox="0 0 {width} {height}" '
            f'width="100%" style="max-width:{width}px;{FONT}" '
            f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
            f"<title>{escape(title)}</title>",
            f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14" '
            f'font-weight="600" fill="{INK}">{escape(title)}</text>']


def histogram(title: str, edges: Sequence[float], series: Sequence[tuple[str, Sequence[float]]],
              x_label: str, y_label: str, scale: str = "linear",
              markers: Sequence[tuple[float, str]] = (), percent: bool = False,
              width: int = 560, height: int = 300) -> str:
    """Bars over shared bins; `series` is [(name, counts)], one or two. `percent` draws each
    series as a share of its own total (for comparing corpora of different sizes)."""
    left, right, top, bottom = 64, 16, 34, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    bins = len(edges) - 1
    values = []
    for _, counts in series:
        total = sum(counts) or 1
        values.append([c * 100 / total if percent else c for c in counts])
    peak = max((max(v) for v in values if v), default=0) or 1
    ticks = _nice_ticks(peak)
    y_max = ticks[-1]
    out = _svg_open(width, height, title, "histogram")
    for tick in ticks:  # grid and y labels
        y = top + plot_h - tick / y_max * plot_h
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{GRID}"/>')
        label = f"{number(tick)}%" if percent else number(tick)
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                   f'fill="{MUTED}">{label}</text>')
    slot = plot_w / max(bins, 1)
    bar_w = slot * 0.9 / len(series)
    for s, ((name, counts), vals) in enumerate(zip(series, values, strict=True)):
        total = sum(counts) or 1
        for i, (count, value) in enumerate(zip(counts, vals, strict=True)):
            if not count:
                continue
            h = value / y_max * plot_h
            x = left + i * slot + slot * 0.05 + s * bar_w
            low, high = edges[i], edges[i + 1]
            span = (f"{number(low)}" if scale == "integer"
                    else f"{number(low)} to {number(high)}")
            tip = (f"{name + ': ' if name else ''}{span}: {count:,} documents "
                   f"({count * 100 / total:.1f}%)")
            out.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                       f'width="{max(bar_w - 0.5, 0.8):.1f}" height="{max(h, 0.5):.1f}" '
                       f'fill="{COLORS[s % 2]}"><title>{escape(tip)}</title></rect>')
    out += _x_axis(edges, scale, left, top, plot_w, plot_h, slot)
    for value, label in markers:
        x = _position(edges, value, left, slot)
        if x is None:
            continue
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" '
                   f'stroke="{REJECT}" stroke-width="1.5" stroke-dasharray="4 3"/>')
        anchor = "end" if x > left + plot_w * 0.7 else "start"
        dx = -4 if anchor == "end" else 4
        out.append(f'<text x="{x + dx:.1f}" y="{top + 12}" text-anchor="{anchor}" '
                   f'font-size="11" fill="{REJECT}">{escape(label)}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" '
               f'font-size="12" fill="{INK}">{escape(x_label)}</text>')
    out.append(f'<text transform="translate(14 {top + plot_h / 2}) rotate(-90)" '
               f'text-anchor="middle" font-size="12" fill="{INK}">{escape(y_label)}</text>')
    out += _legend(series, left, width)
    out.append("</svg>")
    return "\n".join(out)


def _x_axis(edges: Sequence[float], scale: str, left: float, top: float, plot_w: float,
            plot_h: float, slot: float) -> list[str]:
    out = [f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
           f'stroke="{MUTED}"/>']
    bins = len(edges) - 1
    every = max(1, math.ceil(bins / 8))
    if scale == "integer":  # label bin centres: the values themselves
        for i in range(0, bins, every):
            x = left + (i + 0.5) * slot
            out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                       f'font-size="11" fill="{MUTED}">{number(edges[i])}</text>')
        return out
    for i in range(0, bins + 1, every):
        x = left + i * slot
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" '
                   f'y2="{top + plot_h + 4}" stroke="{MUTED}"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                   f'font-size="11" fill="{MUTED}">{number(edges[i])}</text>')
    return out


def _position(edges: Sequence[float], value: float, left: float, slot: float) -> float | None:
    """x of a value on the equal-width bin axis (interpolated inside its bin)."""
    if not edges or value < edges[0] or value > edges[-1]:
        return None
    for i in range(len(edges) - 1):
        low, high = edges[i], edges[i + 1]
        if low <= value <= high:
            inside = (value - low) / (high - low) if high > low else 0
            return left + (i + inside) * slot
    return None


def _legend(series: Sequence[tuple[str, Sequence[float]]], left: float, width: int) -> list[str]:
    if len(series) < 2:
        return []
    out, x = [], width - 16
    for s in reversed(range(len(series))):
        name = series[s][0]
        x -= 26 + 7 * len(name)
        out.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{COLORS[s % 2]}"/>')
        out.append(f'<text x="{x + 14}" y="35" font-size="11" fill="{INK}">'
                   f'{escape(name)}</text>')
    return out


def bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
         x_label: str, percent: bool = False, width: int = 560,
         colors: Sequence[str] | None = None, value_format=None) -> str:
    """Horizontal bars, one row per label (one bar per series in each row)."""
    left = min(220, 24 + 7 * max((len(label) for label in labels), default=4))
    right, top = 70, 34
    row = 20 * len(series) + 6
    height = top + row * max(len(labels), 1) + 40
    plot_w = width - left - right
    values = []
    for _, vals in series:
        total = sum(vals) or 1
        values.append([v * 100 / total if percent else v for v in vals])
    peak = max((max(v) for v in values if v), default=0) or 1
    ticks = _nice_ticks(peak)
    x_max = ticks[-1]
    plot_bottom = top + row * max(len(labels), 1)
    out = _svg_open(width, height, title, "bars")
    for tick in ticks:
        x = left + tick / x_max * plot_w
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{plot_bottom}" '
                   f'stroke="{GRID}"/>')
        label = f"{number(tick)}%" if percent else number(tick)
        out.append(f'<text x="{x:.1f}" y="{plot_bottom + 14}" text-anchor="middle" '
                   f'font-size="11" fill="{MUTED}">{label}</text>')
    fmt = value_format or (lambda v: f"{v:.1f}%" if percent else number(v))
    for i, label in enumerate(labels):
        y0 = top + i * row + 3
        short = label if len(label) <= 30 else label[:29] + "…"
        out.append(f'<text x="{left - 6}" y="{y0 + row / 2 + 1:.1f}" text-anchor="end" '
                   f'font-size="12" fill="{INK}">{escape(short)}<title>{escape(label)}</title>'
                   f"</text>")
        for s, (name, _) in enumerate(series):
            value = values[s][i]
            w = value / x_max * plot_w
            y = y0 + s * 20
            color = (colors[i % len(colors)] if colors else COLORS[s % 2])
            tip = f"{name + ': ' if name else ''}{label}: {fmt(value)}"
            out.append(f'<rect class="bar" x="{left}" y="{y:.1f}" width="{max(w, 0.8):.1f}" '
                       f'height="16" fill="{color}"><title>{escape(tip)}</title></rect>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + 12:.1f}" font-size="11" '
                       f'fill="{MUTED}">{escape(fmt(value))}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" '
               f'font-size="12" fill="{INK}">{escape(x_label)}</text>')
    out += _legend(series, left, width)
    out.append("</svg>")
    return "\n".join(out)


def funnel(title: str, steps: Sequence[dict], unit: str = "documents", width: int = 1180,
           key_in: str = "docs_in", key_out: str = "docs_out", scale: float = 1.0,
           value_format=None) -> str:
    """One row per step: what it kept (blue) and what it removed (red), on one scale.
    Axis ticks are in `unit` (values times `scale`); labels use `value_format`."""
    left, right, top, row = 150, 260, 34, 30
    height = top + row * len(steps) + 44
    plot_w = width - left - right
    peak = max((s[key_in] for s in steps), default=0) or 1
    ticks = _nice_ticks(peak * scale)
    x_max = ticks[-1] / scale
    bottom = top + row * len(steps)
    fmt = value_format or (lambda v: number(v * scale))
    out = _svg_open(width, height, title, "funnel")
    for tick in ticks:
        x = left + tick / scale / x_max * plot_w
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" '
                   f'stroke="{GRID}"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" font-size="11" '
                   f'fill="{MUTED}">{number(tick)}</text>')
    for i, step in enumerate(steps):
        y = top + i * row + 5
        kept, entered = step[key_out], step[key_in]
        removed = max(entered - kept, 0)
        w_kept = kept / x_max * plot_w
        w_removed = removed / x_max * plot_w
        out.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-size="12" '
                   f'fill="{INK}">{escape(step["name"])}</text>')
        out.append(f'<rect class="bar" x="{left}" y="{y}" width="{max(w_kept, 0.8):.1f}" '
                   f'height="20" fill="{COLORS[0]}"><title>{escape(step["name"])}: '
                   f'{escape(fmt(kept))} out of {escape(fmt(entered))}</title></rect>')
        if removed:
            out.append(f'<rect class="bar removed" x="{left + w_kept:.1f}" y="{y}" '
                       f'width="{max(w_removed, 0.8):.1f}" height="20" fill="{REJECT}">'
                       f'<title>{escape(step["name"])}: removed {escape(fmt(removed))}'
                       f'</title></rect>')
        share = removed * 100 / entered if entered else 0
        note = (f"{fmt(kept)} out, \u2212{fmt(removed)} ({share:.1f}%)"
                if removed else f"{fmt(kept)} out")
        out.append(f'<text x="{left + w_kept + w_removed + 6:.1f}" y="{y + 14}" '
                   f'font-size="11" fill="{MUTED}">{escape(note)}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" '
               f'font-size="12" fill="{INK}">{escape(unit)} (blue: leave the step; red: '
               f'removed by it)</text>')
    out.append("</svg>")
    return "\n".join(out)
