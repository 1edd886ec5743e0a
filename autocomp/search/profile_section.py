"""The "where its time goes" section of a planning prompt, from the profile summary of the kernel's evaluation.

The per-line costs, engine waits and critical-path shares are the ones the cost model
computes for ``autocomp profile`` (autocomp/perf/lines.py), carried in the summary of
the evaluation; this module only chooses the top entries and words them. The roofline
bound (what the essential work at peak would allow) is labelled apart from what the
schedule actually spent its time on (the critical path), because the two often differ:
a matmul can be tensor-bound on paper and DMA-bound as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from autocomp.nki.trace import SP
from autocomp.perf.engines import DMA_QUEUES, ENGINES, LABELS_BY_NAME
from autocomp.search.outcome import Outcome

LANE_LABELS = {**LABELS_BY_NAME, "waiting": "waiting"}
# The summary fields of the engines that do the work, and the DMA queues (the Sync engine only triggers DMAs).
BUSY_FIELDS = (*((f"{lane.name}_engine_active_time_percent", lane.label) for lane in ENGINES if lane.id != SP),
               ("dma_active_time_percent", DMA_QUEUES.label))
MAX_LINES = 6
MAX_WAITS = 4
CODE_CHARS = 72


def us(seconds: float) -> str:
    """Seconds as microseconds, the unit every prompt uses."""
    return f"{seconds * 1e6:,.1f} us"


def _pct(fraction: Any) -> str:
    # neuron-profile writes percents as fractions of 1
    value = float(fraction)
    return f"{value * 100 if value <= 1.0 else value:.1f}%"


def _lane(name: str) -> str:
    return LANE_LABELS.get(name, name)


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _code(source_lines: Sequence[str], location: str, line: int) -> str:
    """The source text of a kernel line, shortened at a token boundary; empty for lines of other files."""
    if not location.startswith("kernel.py:") or not 1 <= line <= len(source_lines):
        return ""
    text = " ".join(source_lines[line - 1].split())
    if len(text) > CODE_CHARS:
        text = text[:CODE_CHARS].rsplit(" ", 1)[0] + " ..."
    return f" `{text}`"


def headline(outcome: Outcome) -> list[str]:
    """Roofline bound and observed bottleneck, each named as what it is."""
    s = outcome.profile_summary
    lines = []
    if outcome.roofline_percent is not None:
        bound = outcome.roofline_bound or "?"
        lines.append(f"- Roofline bound: {bound.upper() if bound == 'hbm' else bound.capitalize()} (the essential "
                     f"work at peak rate); this kernel reaches {outcome.roofline_percent:.1f}% of it.")
    shares = s.get("critical_path_shares")
    if isinstance(shares, Mapping) and shares:
        parts = ", ".join(f"{_lane(k)} {_pct(v)}" for k, v in shares.items() if float(v) >= 0.001)
        lines.append(f"- Critical path (what the schedule actually waits for): {parts}.")
    busy = [f"{label} {_pct(s[key])}" for key, label in BUSY_FIELDS if isinstance(s.get(key), (int, float))
            and float(s[key]) > 0]
    if busy:
        lines.append(f"- Engines busy (share of the latency; engines overlap): {', '.join(busy)}.")
    traffic = []
    if isinstance(s.get("hbm_read_bytes"), (int, float)):
        traffic.append(f"HBM read {_bytes(s['hbm_read_bytes'])}, written {_bytes(s.get('hbm_write_bytes') or 0)}")
    if isinstance(s.get("dma_transfer_count"), (int, float)) and s.get("dma_transfer_count"):
        average = _bytes(s.get("dma_transfer_average_bytes") or 0)
        traffic.append(f"{s['dma_transfer_count']:,.0f} DMA transfers of {average} on average")
    if s.get("spill_reload_bytes"):
        traffic.append(f"SBUF spills reloaded {_bytes(s['spill_reload_bytes'])}")
    if isinstance(s.get("mfu_estimated_percent"), (int, float)) and s.get("matmul_instruction_count"):
        traffic.append(f"{s['matmul_instruction_count']:,.0f} matmuls at MFU {_pct(s['mfu_estimated_percent'])}")
    if traffic:
        lines.append(f"- {'; '.join(traffic)}.")
    return lines


def line_table(outcome: Outcome, source: str, limit: int = MAX_LINES) -> list[str]:
    """The costliest kernel lines: critical-path time and share, then the engine time of all their instructions."""
    rows = outcome.profile_summary.get("line_costs")
    if not isinstance(rows, list) or not rows:
        return []
    source_lines = source.splitlines()
    out = ["", "Where the time goes, by kernel line (time on the critical path and its share; engine time of all the "
               "line's instructions, DMA summed over transfers that overlap):"]
    for row in rows[:limit]:
        if not isinstance(row, Mapping):
            continue
        location, line = str(row.get("location", "?")), int(row.get("line") or 0)
        engines = row.get("engine_time") or {}
        spent = ", ".join(f"{_lane(k)} {us(float(v))}" for k, v in engines.items())
        out.append(f"- line {line}{_code(source_lines, location, line)}: {us(float(row.get('critical_time') or 0))} "
                   f"on the critical path ({_pct(row.get('critical_percent') or 0)}); {spent} over "
                   f"{int(row.get('instructions') or 0):,} instructions")
    return out


def wait_table(outcome: Outcome, limit: int = MAX_WAITS) -> list[str]:
    rows = outcome.profile_summary.get("engine_waits")
    if not isinstance(rows, list) or not rows:
        return []
    out = ["", "Engine waits (an engine idle before its next instruction, and what that instruction waited for):"]
    for row in rows[:limit]:
        if isinstance(row, Mapping):
            gaps = int(row.get("count") or 0)
            out.append(f"- {_lane(str(row.get('engine')))} waited on {_lane(str(row.get('waited_on')))}: "
                       f"{us(float(row.get('time') or 0))} in {gaps:,} gap{'' if gaps == 1 else 's'}")
    return out


def profile_section(outcome: Outcome | None, source: str) -> str:
    """The whole section; says plainly when there is nothing to show."""
    if outcome is None:
        return "(no profile available)"
    lines = []
    if outcome.profile_summary:
        lines = headline(outcome) + line_table(outcome, source) + wait_table(outcome)
        if not outcome.profile_summary.get("line_costs"):
            lines.append("- Per-line costs: not in this evaluation"
                         + (" (hardware profiles carry none)." if outcome.evidence == "hw" else "."))
    if outcome.hints:
        lines += ["", "Cost-model hints:"] + [f"- {h}" for h in outcome.hints]
    warnings = getattr(outcome, "warnings", ())
    if warnings:
        lines += [""] + [f"- warning: {w}" for w in warnings]
    return "\n".join(lines).strip() or "(no profile available)"
