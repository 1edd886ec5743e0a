"""A self-contained HTML Gantt chart of a Profile's schedule (inline SVG, no scripts, no network).

Intervals closer than a pixel are merged, so the file stays small for 10^5 instructions.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from autocomp.nki.trace import SP
from autocomp.perf.engines import TIMELINE_ROWS

if TYPE_CHECKING:
    from autocomp.perf.profile import Profile

WIDTH = 1200
ROW_H = 26
LABEL_W = 90
ROWS = tuple((lane.id, lane.label, lane.color) for lane in TIMELINE_ROWS if lane.id != SP)


def _intervals(p: Profile) -> dict[str, list[tuple[float, float, int]]]:
    rows: dict[str, list] = {code: [] for code, _, _ in ROWS}
    trace = p.trace
    for pos, ins in enumerate(trace.instructions):
        row = "dma" if ins.opcode == "DMA" else ins.engine
        if row in rows:
            rows[row].append((p.start_ns[pos], p.end_ns[pos], pos))
    rows["critical"] = [(p.start_ns[pos], p.end_ns[pos], pos) for pos in p.critical_path]
    return rows


def _merge(items: list, ns_per_px: float) -> list[tuple[float, float, list[int]]]:
    out: list = []
    for s, e, pos in sorted(items):
        if out and s - out[-1][1] < ns_per_px:
            last = out[-1]
            last[1] = max(last[1], e)
            last[2].append(pos)
            last[3] += e - s
        else:
            out.append([s, e, [pos], e - s])
    return out


def _title(p: Profile, run) -> str:
    s, e, members, busy = run
    trace = p.trace
    if len(members) == 1:
        ins = trace.instructions[members[0]]
        return (f"#{ins.seq} {ins.opcode} {ins.api} @ {trace.location(ins)}: "
                f"{s / 1e3:.2f}-{e / 1e3:.2f} us ({e - s:.0f} ns)")
    return f"{len(members)} instructions, {s / 1e3:.2f}-{e / 1e3:.2f} us, busy {busy / 1e3:.2f} us"


def timeline_html(p: Profile) -> str:
    span = max(p.makespan_ns, 1.0)
    ns_per_px = span / WIDTH
    rows = _intervals(p) if p.trace is not None else {}
    height = ROW_H * len(ROWS) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_W + WIDTH + 10}" height="{height}" '
             'font-family="sans-serif" font-size="12">']
    for i, (code, label, color) in enumerate(ROWS):
        y = i * ROW_H + 4
        parts.append(f'<text x="4" y="{y + 16}">{label}</text>')
        parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{WIDTH}" height="{ROW_H - 6}" fill="#f4f4f4"/>')
        for run in _merge(rows.get(code, []), ns_per_px):
            x = LABEL_W + run[0] / ns_per_px
            w = max((run[1] - run[0]) / ns_per_px, 0.5)
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW_H - 6}" fill="{color}">'
                         f'<title>{escape(_title(p, run))}</title></rect>')
    axis_y = ROW_H * len(ROWS) + 18
    for k in range(6):
        x = LABEL_W + k * WIDTH / 5
        parts.append(f'<text x="{x:.0f}" y="{axis_y}" text-anchor="middle">{span * k / 5 / 1e3:.1f} us</text>')
    parts.append("</svg>")
    head = (f"<h3>{escape(p.kernel or 'kernel')} on {p.target}: {p.latency_us:.2f} us estimated "
            f"(bound by {p.roofline.bound_by}, {p.roofline.percent:.0f}% of roofline)</h3>")
    hints = "".join(f"<li>{escape(h.message)}</li>" for h in p.hints)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>autocomp timeline</title></head>"
            f"<body>{head}{''.join(parts)}<ul>{hints}</ul>"
            "<p>Estimated by autocomp.perf (simulator cost model), not a hardware measurement.</p></body></html>")
