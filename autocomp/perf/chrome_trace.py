"""An engine timeline as a Chrome trace (the Trace Event Format that Perfetto and chrome://tracing open).

    doc = profile_trace(prof)                  # one event per scheduled instruction
    doc = rows_trace(record["timeline"], ...)  # a stored profile record's merged busy intervals

Each timeline row (an engine, a DMA queue, the critical path) is one thread of one process, named by a
``thread_name`` metadata event (``ph: "M"``); each busy interval is a complete event (``ph: "X"``) with ``ts``
and ``dur`` in microseconds, as the format wants. Times are cost-model estimates, not measurements.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from autocomp.perf.engines import CRITICAL_PATH, DMA_QUEUES
from autocomp.perf.timeline import dma_queue_row, dma_triggers, row_ids, row_label

if TYPE_CHECKING:
    from autocomp.perf.profile import Profile

PID = 1


def _document(process: str, threads: list[str], events: list[dict]) -> dict:
    """The trace: metadata naming the process and one thread per row (tid = its place, top to bottom)."""
    meta = [{"name": "process_name", "ph": "M", "pid": PID, "tid": 0, "args": {"name": process}}]
    for tid, row in enumerate(threads, start=1):
        meta.append({"name": "thread_name", "ph": "M", "pid": PID, "tid": tid, "args": {"name": row_label(row)}})
        meta.append({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid, "args": {"sort_index": tid}})
    return {"traceEvents": meta + events, "displayTimeUnit": "ns",
            "otherData": {"source": "autocomp cost model (estimates, not hardware measurements)"}}


def _event(name: str, row: str, tid: int, start_ns: float, end_ns: float, args: dict) -> dict:
    return {"name": name, "cat": row, "ph": "X", "ts": start_ns / 1e3, "dur": max(end_ns - start_ns, 0.0) / 1e3,
            "pid": PID, "tid": tid, "args": args}


def profile_trace(prof: Profile) -> dict:
    """Every instruction of ``prof``'s schedule on its engine's thread; each DMA also on its queue's and every
    critical-path instruction on the critical path's. Empty of events when the profile kept no trace."""
    trace, start, end = prof.trace, prof.start_ns, prof.end_ns
    placed: dict[str, list[tuple[int, str]]] = {}  # row -> (instruction position, its event name)
    if trace is not None:
        for pos, ins in enumerate(trace.instructions[:len(start)]):
            if ins.opcode == "DMA":
                placed.setdefault(DMA_QUEUES.id, []).append((pos, ins.opcode))
                placed.setdefault(dma_queue_row(str(ins.attrs.get("queue", "sp"))), []).append((pos, ins.opcode))
            else:
                placed.setdefault(ins.engine, []).append((pos, ins.opcode))
        placed[CRITICAL_PATH.id] = [(pos, trace.instructions[pos].opcode) for pos in prof.critical_path
                                    if pos < len(start)]
    triggers: dict[str, list[tuple[int, float, float]]] = {}  # engine -> its DMA triggers
    for pos, engine, s, e in dma_triggers(prof):
        triggers.setdefault(engine, []).append((pos, s, e))
        placed.setdefault(engine, [])
    threads = row_ids(placed)
    events = []
    for tid, row in enumerate(threads, start=1):
        for pos, name in placed.get(row, ()):
            ins = trace.instructions[pos]
            events.append(_event(name, row, tid, start[pos], end[pos],
                                 {"api": ins.api, "line": ins.line, "instruction": pos}))
        for pos, s, e in triggers.get(row, ()):
            ins = trace.instructions[pos]
            events.append(_event("DMA trigger", row, tid, s, e, {"api": ins.api, "line": ins.line, "instruction": pos}))
    return _document(f"{prof.kernel or 'kernel'} on {prof.target}", threads, events)


def rows_trace(rows: Mapping[str, Sequence[Sequence]], *, process: str = "kernel") -> dict:
    """The merged busy intervals ``[start_ns, end_ns, count, label]`` of a stored timeline as events: a single
    instruction is named by its opcode, a merged run by how many instructions it holds."""
    threads = row_ids(rows)
    events = []
    for tid, row in enumerate(threads, start=1):
        for s, e, count, label in rows.get(row, ()):
            name = str(label).split(" ", 1)[0] if count == 1 and label else f"{count} instructions"
            events.append(_event(name, row, tid, float(s), float(e), {"count": int(count), "detail": str(label)}))
    return _document(process, threads, events)


def dumps(doc: dict) -> str:
    return json.dumps(doc, separators=(",", ":"))


__all__ = ["dumps", "profile_trace", "rows_trace"]
