"""Inline SVG charts for the report and notebook: no scripts, no network, plain strings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f")


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.3g}"
    return f"{v:.2g}"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def line_chart(series: Sequence[dict], hlines: Sequence[dict] = (), *, x_label: str = "", y_label: str = "",
               width: int = 760, height: int = 320, css_class: str = "chart", x_ticks: int | None = None) -> str:
    """Lines/points ``{"name", "points": [(x, y, tip)], "color", "step": bool, "dots_only": bool}`` plus
    horizontal reference lines ``{"name", "y", "color", "dash"}``; a legend names each. ``x_ticks``: how many
    x-axis ticks to aim for (default: one per unit, for iterations)."""
    left, right, top, bottom = 64, 16, 16, 44
    xs = [p[0] for s in series for p in s["points"]]
    ys = [p[1] for s in series for p in s["points"]] + [h["y"] for h in hlines]
    if not xs or not ys:
        return (f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="60">'
                '<text x="10" y="30" font-size="13">no data yet</text></svg>')
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    y0, y1 = 0.0, max(ys) * 1.08
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (y - y0) / (y1 - y0) * ph

    out = [f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 22}" '
           f'font-family="sans-serif" font-size="11" role="img"><title>{escape(y_label)}</title>']
    for t in _ticks(y0, y1):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#e6e6e6"/>'
                   f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for t in _ticks(x0, x1, x_ticks or min(10, max(1, int(x1 - x0)))):
        out.append(f'<text x="{sx(t):.1f}" y="{top + ph + 16}" text-anchor="middle">{_fmt(t)}</text>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="#888"/>'
               f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#888"/>')
    out.append(f'<text x="{left + pw / 2}" y="{top + ph + 34}" text-anchor="middle">{escape(x_label)}</text>'
               f'<text transform="translate(14 {top + ph / 2}) rotate(-90)" text-anchor="middle">'
               f'{escape(y_label)}</text>')
    for h in hlines:
        dash = ' stroke-dasharray="6 4"' if h.get("dash", True) else ""
        out.append(f'<line class="hline" x1="{left}" x2="{left + pw}" y1="{sy(h["y"]):.1f}" y2="{sy(h["y"]):.1f}" '
                   f'stroke="{h["color"]}" stroke-width="1.5"{dash}><title>{escape(h["name"])}: '
                   f'{_fmt(h["y"])}</title></line>')
    for s in series:
        pts = sorted(s["points"], key=lambda p: p[0])
        if not s.get("dots_only") and len(pts) > 1:
            coords = []
            for i, (x, y, _) in enumerate(pts):
                if s.get("step") and i:
                    coords.append(f"{sx(x):.1f},{sy(pts[i - 1][1]):.1f}")
                coords.append(f"{sx(x):.1f},{sy(y):.1f}")
            out.append(f'<polyline class="series" fill="none" stroke="{s["color"]}" stroke-width="2" '
                       f'points="{" ".join(coords)}"/>')
        r = 3 if s.get("dots_only") else 4
        for x, y, tip in pts:
            out.append(f'<circle class="point" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="{r}" fill="{s["color"]}" '
                       f'fill-opacity="{0.45 if s.get("dots_only") else 1}"><title>{escape(tip)}</title></circle>')
    lx = left
    for item in list(series) + list(hlines):
        out.append(f'<rect x="{lx}" y="{height + 8}" width="12" height="4" fill="{item["color"]}"/>'
                   f'<text x="{lx + 16}" y="{height + 14}">{escape(item["name"])}</text>')
        lx += 24 + 7 * len(item["name"])
    out.append("</svg>")
    return "".join(out)


def bar_chart(categories: Sequence[str], groups: Sequence[dict], *, unit: str = "", prefix: str = "",
              width: int = 620, bar_h: int = 14, css_class: str = "bars") -> str:
    """Horizontal grouped bars: one row per category, one bar per group ``{"name", "values", "color"}``."""
    label_w, right = 110, 70
    row_h = bar_h * max(1, len(groups)) + 8
    height = row_h * len(categories) + 24
    vmax = max([v for g in groups for v in g["values"]] + [1e-12])
    pw = width - label_w - right
    out = [f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="11" role="img">']
    for i, cat in enumerate(categories):
        y = i * row_h + 4
        out.append(f'<text x="4" y="{y + row_h / 2 + 2:.0f}">{escape(cat)}</text>')
        for j, g in enumerate(groups):
            v = g["values"][i]
            w = max(v / vmax * pw, 0.5 if v else 0)
            by = y + j * bar_h
            value = escape(f"{prefix}{_fmt(v)}{unit}")
            out.append(f'<rect class="bar" x="{label_w}" y="{by}" width="{w:.1f}" height="{bar_h - 2}" '
                       f'fill="{g["color"]}"><title>{escape(g["name"])} {escape(cat)}: {value}</title></rect>'
                       f'<text x="{label_w + w + 4:.1f}" y="{by + bar_h - 4}">{value}</text>')
    lx = label_w
    for g in groups:
        out.append(f'<rect x="{lx}" y="{height - 12}" width="12" height="8" fill="{g["color"]}"/>'
                   f'<text x="{lx + 16}" y="{height - 4}">{escape(g["name"])}</text>')
        lx += 30 + 7 * len(g["name"])
    out.append("</svg>")
    return "".join(out)
