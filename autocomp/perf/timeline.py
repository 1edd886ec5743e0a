"""The engine timeline of a schedule: per-row busy intervals as data, and the one chart drawn from them.

``timeline_rows`` turns a Profile's schedule into rows of merged busy intervals ``[start_ns, end_ns, count,
label]`` (instructions closer than 1/``MAX_SLOTS`` of the span are merged, so a long kernel stays small); the
run store keeps them in profile records. Besides one row per engine and the ``dma`` row of every transfer, each
DMA queue gets a row ``dma:<queue engine>`` (the engine that triggers its transfers), and the triggering engine's
own row (the Sync engine's for most) shows each trigger, the time that engine spends starting the transfer.
``gantt_svg`` draws such rows as inline SVG (no scripts, no network): the report, the notebook and
``Profile.timeline_html`` (``autocomp profile --timeline``) all use it. Its slots sit in an inner
``<svg class="plot">`` whose ``viewBox`` a page may narrow to zoom (the report's script does); every slot's
``<title>`` names its opcode, NKI call and line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING

from autocomp.perf.engines import COLORS, CRITICAL_PATH, DMA_QUEUES, ENGINES, LABELS, TIMELINE_ROWS

if TYPE_CHECKING:
    from autocomp.perf.profile import Profile

MAX_SLOTS = 2000
LABEL_W = 96
ROW_H = 22
QUEUE_PREFIX = DMA_QUEUES.id + ":"


def dma_queue_row(queue: str) -> str:
    """The timeline row id of the DMA queue triggered by engine ``queue``."""
    return QUEUE_PREFIX + queue


def row_ids(rows: Mapping[str, object]) -> list[str]:
    """The rows a chart shows, top to bottom: every engine (idle ones too, so an idle engine is visible), the DMA
    row and each DMA queue's, then the critical path."""
    queues = sorted(r for r in rows if r.startswith(QUEUE_PREFIX) and rows[r])
    out = [lane.id for lane in ENGINES]
    out += [DMA_QUEUES.id] if rows.get(DMA_QUEUES.id) else []
    out += queues
    out += [CRITICAL_PATH.id] if rows.get(CRITICAL_PATH.id) else []
    return out


def row_label(row: str) -> str:
    if row.startswith(QUEUE_PREFIX):
        queue = row[len(QUEUE_PREFIX):]
        return f"DMA {LABELS.get(queue, queue)} q"
    return LABELS.get(row, row)


def dma_triggers(prof: Profile) -> list[tuple[int, str, float, float]]:
    """(instruction position, triggering engine, start_ns, end_ns) of every DMA's trigger: the queue engine's time
    to start the transfer (autocomp.perf.dma.trigger_cost), from when the schedule issued it."""
    from autocomp.perf.dma import trigger_cost
    from autocomp.perf.targets import get_target

    trace, issue = prof.trace, prof.issue_ns
    if trace is None or not issue:
        return []
    target = get_target(prof.target)
    out, costs = [], {}
    for pos, ins in enumerate(trace.instructions[:len(issue)]):
        if ins.opcode != "DMA":
            continue
        key = (str(ins.attrs.get("queue", "sp")), str(ins.attrs.get("dge", "none")))
        if key not in costs:
            costs[key] = trigger_cost(*key, target)
        engine, ns = costs[key]
        out.append((pos, engine, issue[pos], issue[pos] + ns))
    return out


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
        if ins.opcode == "DMA":
            rows.setdefault(dma_queue_row(str(ins.attrs.get("queue", "sp"))), []).append(
                (start[pos], end[pos], label(pos)))
    for pos, engine, s, e in dma_triggers(prof):
        if engine in rows:
            ins = trace.instructions[pos]
            rows[engine].append((s, e, f"DMA trigger {ins.api} line {ins.line}"))
    for pos in prof.critical_path:
        if pos < len(start):
            rows[CRITICAL_PATH.id].append((start[pos], end[pos], label(pos)))
    return {r: _merge(items, gap) for r, items in rows.items() if items}


def gantt_svg(rows: Mapping[str, Sequence[Sequence]], span_ns: float, *, title: str = "", width: int = 980,
              css_class: str = "gantt") -> str:
    """An engine timeline from rows of ``[start_ns, end_ns, count, label]`` (``timeline_rows``, or a stored
    profile record's ``timeline``) over ``span_ns``: every engine, then the DMA and critical-path rows that have
    intervals."""
    shown = row_ids(rows)
    span = max(span_ns, 1.0)
    pw = width - LABEL_W - 12
    plot_h = ROW_H * max(1, len(shown))
    height = plot_h + 28
    out = [f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11" role="img" data-span-ns="{span:.3f}">'
           f'<title>{escape(title)}</title>']
    slots = []
    for i, code in enumerate(shown):
        y = i * ROW_H + 4
        out.append(f'<text x="4" y="{y + 14}">{escape(row_label(code))}</text>'
                   f'<rect x="{LABEL_W}" y="{y}" width="{pw}" height="{ROW_H - 6}" fill="#f4f4f4"/>')
        color = COLORS.get(code, COLORS[DMA_QUEUES.id] if code.startswith(QUEUE_PREFIX) else "#888")
        for s, e, count, label in rows.get(code, ()):
            x = s / span * pw
            w = max((e - s) / span * pw, 0.5)
            tip = label if count == 1 and label else f"{count} instructions"
            slots.append(f'<rect class="slot" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW_H - 6}" '
                         f'fill="{color}"><title>{escape(tip)}: {s / 1e3:,.2f}–{e / 1e3:,.2f} µs</title></rect>')
    # The slots' own coordinate system: narrowing the viewBox zooms the time axis and nothing else.
    out.append(f'<svg class="plot" x="{LABEL_W}" y="0" width="{pw}" height="{plot_h}" viewBox="0 0 {pw} {plot_h}" '
               f'preserveAspectRatio="none">{"".join(slots)}</svg>')
    axis_y = plot_h + 18
    for k in range(6):
        x = LABEL_W + k * pw / 5
        anchor = "start" if k == 0 else "end" if k == 5 else "middle"
        out.append(f'<text class="tick" data-k="{k}" x="{x:.0f}" y="{axis_y}" text-anchor="{anchor}">'
                   f'{span * k / 5 / 1e3:,.2f} µs</text>')
    out.append("</svg>")
    return "".join(out)


def timeline_html(p: Profile) -> str:
    """A self-contained HTML page: the profile's headline, its engine timeline and its hints."""
    chart = gantt_svg(timeline_rows(p), p.makespan_ns, title=f"{p.kernel or 'kernel'} engine timeline", width=1200)
    head = (f"<h3>{escape(p.kernel or 'kernel')} on {p.target}: {p.latency_us:,.2f} µs estimated "
            f"(bound by {p.roofline.bound_by}, {p.roofline.percent:.0f}% of roofline)</h3>")
    hints = "".join(f"<li>{escape(h.message)}</li>" for h in p.hints)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>autocomp timeline</title></head>"
            f"<body>{head}{chart}<ul>{hints}</ul>"
            "<p>Estimated by autocomp.perf (simulator cost model), not a hardware measurement.</p></body></html>")
