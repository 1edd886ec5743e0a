"""The engine timeline of a schedule: per-row busy intervals as data, and the one chart drawn from them.

``timeline_rows`` turns a Profile's schedule into rows of merged busy intervals ``[start_ns, end_ns, count,
label]`` (instructions closer than 1/``MAX_SLOTS`` of the span are merged, so a long kernel stays small); the
run store keeps them in profile records. ``gantt_svg`` draws such rows as inline SVG (no scripts, no network):
the report, the notebook and ``Profile.timeline_html`` (``autocomp profile --timeline``) all use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING

from autocomp.perf.engines import COLORS, CRITICAL_PATH, DMA_QUEUES, LABELS, TIMELINE_ROWS

if TYPE_CHECKING:
    from autocomp.perf.profile import Profile

MAX_SLOTS = 2000
LABEL_W = 96
ROW_H = 22


def _merge(items: list[tuple[float, float, str]], gap: float) -> list[list]:
    """[start_ns, end_ns, count, label] runs; the label is kept only for single instructions."""
    out: list[list] = []
    for s, e, label in sorted(items):
        if out and s - out[-1][1] < gap:
            last = out[-1]
            last[1] = max(last[1], e)
            last[2] += 1
            last[3] = ""
        else:
            out.append([round(s, 3), round(e, 3), 1, label])
    return out


def timeline_rows(prof: Profile) -> dict[str, list[list]]:
    """Per-row merged busy intervals ``[start_ns, end_ns, count, label]`` of a Profile that kept its trace."""
    trace, start, end = prof.trace, prof.start_ns, prof.end_ns
    if trace is None or not start or not end:
        return {}
    gap = max(prof.makespan_ns, 1.0) / MAX_SLOTS
    rows: dict[str, list] = {lane.id: [] for lane in TIMELINE_ROWS}

    def label(pos: int) -> str:
        ins = trace.instructions[pos]
        return f"{ins.opcode} {ins.api} line {ins.line}"

    for pos, ins in enumerate(trace.instructions):
        if pos >= len(start):
            break
        row = DMA_QUEUES.id if ins.opcode == "DMA" else ins.engine
        if row in rows:
            rows[row].append((start[pos], end[pos], label(pos)))
    for pos in prof.critical_path:
        if pos < len(start):
            rows[CRITICAL_PATH.id].append((start[pos], end[pos], label(pos)))
    return {r: _merge(items, gap) for r, items in rows.items() if items}


def gantt_svg(rows: Mapping[str, Sequence[Sequence]], span_ns: float, *, title: str = "", width: int = 980,
              css_class: str = "gantt") -> str:
    """An engine timeline from rows of ``[start_ns, end_ns, count, label]`` (``timeline_rows``, or a stored
    profile record's ``timeline``) over ``span_ns``; rows without intervals are left out."""
    shown = [lane.id for lane in TIMELINE_ROWS if rows.get(lane.id)]
    span = max(span_ns, 1.0)
    pw = width - LABEL_W - 12
    height = ROW_H * max(1, len(shown)) + 28
    out = [f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11" role="img"><title>{escape(title)}</title>']
    for i, code in enumerate(shown):
        y = i * ROW_H + 4
        out.append(f'<text x="4" y="{y + 14}">{LABELS[code]}</text>'
                   f'<rect x="{LABEL_W}" y="{y}" width="{pw}" height="{ROW_H - 6}" fill="#f4f4f4"/>')
        color = COLORS.get(code, "#888")
        for s, e, count, label in rows[code]:
            x = LABEL_W + s / span * pw
            w = max((e - s) / span * pw, 0.5)
            tip = label if count == 1 and label else f"{count} instructions"
            out.append(f'<rect class="slot" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW_H - 6}" '
                       f'fill="{color}"><title>{escape(tip)}: {s / 1e3:.2f}-{e / 1e3:.2f} us</title></rect>')
    axis_y = ROW_H * max(1, len(shown)) + 18
    for k in range(6):
        x = LABEL_W + k * pw / 5
        anchor = "start" if k == 0 else "end" if k == 5 else "middle"
        out.append(f'<text x="{x:.0f}" y="{axis_y}" text-anchor="{anchor}">{span * k / 5 / 1e3:.2f} us</text>')
    out.append("</svg>")
    return "".join(out)


def timeline_html(p: Profile) -> str:
    """A self-contained HTML page: the profile's headline, its engine timeline and its hints."""
    chart = gantt_svg(timeline_rows(p), p.makespan_ns, title=f"{p.kernel or 'kernel'} engine timeline", width=1200)
    head = (f"<h3>{escape(p.kernel or 'kernel')} on {p.target}: {p.latency_us:.2f} us estimated "
            f"(bound by {p.roofline.bound_by}, {p.roofline.percent:.0f}% of roofline)</h3>")
    hints = "".join(f"<li>{escape(h.message)}</li>" for h in p.hints)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>autocomp timeline</title></head>"
            f"<body>{head}{chart}<ul>{hints}</ul>"
            "<p>Estimated by autocomp.perf (simulator cost model), not a hardware measurement.</p></body></html>")
