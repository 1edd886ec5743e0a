"""Where a profiled kernel's time goes, per source line, and which engine waited on which.

One implementation for every reader: ``autocomp profile`` prints it (report.describe),
the summary carries it (report.summary_dict), and the search shows it to the LLM from
that summary. Lines are named ``file:line`` with the file's base name only, so a
sandbox's temporary directory never shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autocomp.perf.engines import LANE_NAMES  # DMA transfers get their own lane: their queue engine only triggers them
from autocomp.perf.scheduler import CAPACITY, DEPENDENCY, SPILL

if TYPE_CHECKING:
    from autocomp.perf.profile import Profile

DMA = "dma"
# Gaps shorter than this are scheduling noise (semaphore hand-offs), not waits worth naming.
MIN_WAIT_NS = 1.0


@dataclass
class LineCost:
    """One kernel source line: how much engine time its instructions take and how much of the critical path."""

    location: str  # "kernel.py:31"
    line: int
    apis: list[str] = field(default_factory=list)  # NKI calls issued from the line, first seen first
    instructions: int = 0
    engine_ns: dict[str, float] = field(default_factory=dict)  # lane -> summed instruction time
    critical_ns: float = 0.0  # time of the line's instructions on the critical path
    critical_instructions: int = 0


@dataclass
class EngineWait:
    """A compute engine sat idle before its next instruction because of ``waited_on`` (a lane or a resource)."""

    engine: str
    waited_on: str
    ns: float = 0.0
    count: int = 0


def lane(ins) -> str:
    return LANE_NAMES[DMA] if ins.opcode == "DMA" else LANE_NAMES.get(ins.engine, ins.engine)


def line_costs(prof: Profile) -> list[LineCost]:
    """Every source line with instructions, costliest on the critical path first (then by engine time)."""
    trace = prof.trace
    if trace is None:
        return []
    start, end = prof.start_ns, prof.end_ns
    by_loc: dict[tuple[int, int], LineCost] = {}
    for pos, ins in enumerate(trace.instructions):
        if pos >= len(start):
            break
        key = (ins.loc, ins.line)
        cost = by_loc.get(key)
        if cost is None:
            name = os.path.basename(trace.files[ins.loc]) if ins.loc >= 0 else "<unknown>"
            cost = by_loc[key] = LineCost(f"{name}:{ins.line}", ins.line)
        if ins.api and ins.api not in cost.apis:
            cost.apis.append(ins.api)
        cost.instructions += 1
        name = lane(ins)
        cost.engine_ns[name] = cost.engine_ns.get(name, 0.0) + (end[pos] - start[pos])
    for pos in prof.critical_path:
        ins = trace.instructions[pos]
        cost = by_loc[(ins.loc, ins.line)]
        cost.critical_ns += end[pos] - start[pos]
        cost.critical_instructions += 1
    return sorted(by_loc.values(), key=lambda c: (-c.critical_ns, -sum(c.engine_ns.values()), c.line))


def engine_waits(prof: Profile) -> list[EngineWait]:
    """Idle gaps of each compute engine before an instruction, by what that instruction waited for, longest first.

    The scheduler records, per instruction, the instruction that held it back and why
    (scheduler.REASONS); a gap caused by a dependency is charged to the producer's lane,
    one caused by buffer capacity or a spill to that resource.
    """
    trace = prof.trace
    if trace is None:
        return []
    start, end, pred, reason = prof.start_ns, prof.end_ns, prof.stall_pred, prof.stall_reason
    last_end: dict[str, float] = {}
    order = sorted((start[pos], pos) for pos, ins in enumerate(trace.instructions[:len(start)])
                   if ins.opcode != "DMA")
    waits: dict[tuple[str, str], EngineWait] = {}
    for s, pos in order:
        ins = trace.instructions[pos]
        engine = lane(ins)
        gap = s - last_end.get(engine, 0.0)
        last_end[engine] = max(last_end.get(engine, 0.0), end[pos])
        if gap < MIN_WAIT_NS:
            continue
        why = reason[pos]
        if why == DEPENDENCY and pred[pos] >= 0:
            on = lane(trace.instructions[pred[pos]])
        elif why == CAPACITY:
            on = "buffer capacity"
        elif why == SPILL:
            on = "spill"
        else:
            continue  # the kernel's start, or an engine-busy slot: not a wait on anything else
        wait = waits.setdefault((engine, on), EngineWait(engine, on))
        wait.ns += gap
        wait.count += 1
    return sorted(waits.values(), key=lambda w: (-w.ns, w.engine, w.waited_on))


def critical_shares(prof: Profile) -> dict[str, float]:
    """Share (0..1) of the schedule's critical path per lane, plus ``waiting``, largest first."""
    total = prof.makespan_ns
    if not total:
        return {}
    shares = {LANE_NAMES.get(k, k): v / total for k, v in prof.critical_breakdown.items() if v > 0}
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def summary_records(prof: Profile, *, lines: int = 12, waits: int = 8) -> dict:
    """The per-line costs, engine waits and critical-path shares as summary fields (times in seconds, shares as
    fractions of 1, as neuron-profile writes them)."""
    return {
        "line_costs": [{"location": c.location, "line": c.line, "apis": c.apis[:4], "instructions": c.instructions,
                        "engine_time": {k: v * 1e-9 for k, v in sorted(c.engine_ns.items(), key=lambda kv: -kv[1])},
                        "critical_time": c.critical_ns * 1e-9,
                        "critical_percent": c.critical_ns / prof.makespan_ns if prof.makespan_ns else 0.0}
                       for c in line_costs(prof)[:lines]],
        "engine_waits": [{"engine": w.engine, "waited_on": w.waited_on, "time": w.ns * 1e-9, "count": w.count}
                         for w in engine_waits(prof)[:waits]],
        "critical_path_shares": critical_shares(prof),
    }
