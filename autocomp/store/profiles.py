"""Profile records: what ``candidates/<id>/profile.json`` holds.

A record is a plain dict the report and the notebook read without the cost model: latency, per-engine
utilisation, roofline, hints, the neuron-profile-shaped summary and, when the schedule was at hand, the
per-engine busy intervals of ``autocomp.perf.timeline.timeline_rows``. There is one builder,
:func:`record_from_summary`, because everything a record says is in the summary the cost model writes
(``Profile.summary()``, which an ``EvalResult`` carries as ``profile``): :func:`profile_record` makes one from a
cost-model ``Profile``, :func:`result_record` from an evaluation. The run store is the one writer
(``RunStore.record_profile``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from autocomp.perf.engines import DMA_QUEUES, ENGINES

if TYPE_CHECKING:
    from autocomp.evaluate.result import EvalResult
    from autocomp.perf.profile import Profile

RECORD_FORMAT = 1


def _number(summary: Mapping[str, Any], key: str) -> float:
    value = summary.get(key)
    return float(value) if isinstance(value, (int, float)) else 0.0


def record_from_summary(summary: Mapping[str, Any], *, latency_us: float | None = None, target: str = "",
                        kernel: str = "", evidence: str = "sim", hints: Sequence[str] = (),
                        timeline: Mapping[str, list] | None = None, origin: str = "evaluation",
                        calibration: str | None = None) -> dict:
    """A JSON-ready profile record from a neuron-profile-shaped summary (seconds, fractions of 1) and what the
    summary does not hold: the latency when measured otherwise, the hints, the timeline rows."""
    engines = {lane.id: {"active_ns": 1e9 * _number(summary, f"{lane.name}_engine_active_time"),
                         "utilisation": 100.0 * _number(summary, f"{lane.name}_engine_active_time_percent"),
                         "instruction_count": int(_number(summary, f"{lane.name}_engine_instruction_count"))}
               for lane in ENGINES}
    engines[DMA_QUEUES.id] = {"active_ns": 1e9 * _number(summary, "dma_active_time"),
                              "utilisation": 100.0 * _number(summary, "dma_active_time_percent"),
                              "instruction_count": int(_number(summary, "dma_instruction_count"))}
    total = _number(summary, "total_time")
    latency_us = float(latency_us) if isinstance(latency_us, (int, float)) and latency_us > 0 else total * 1e6
    makespan = _number(summary, "total_active_time") or latency_us * 1e-6  # seconds
    return {
        "format": RECORD_FORMAT,
        "origin": origin,
        "kernel": kernel,
        "target": target or str(summary.get("target") or ""),
        "evidence": evidence,
        "latency_us": latency_us,
        "makespan_ns": makespan * 1e9,
        "engines": engines,
        "roofline": {"bound_ns": 1e9 * _number(summary, "roofline_time"),
                     "bound_by": str(summary.get("roofline_bound") or ""),
                     "percent": 100.0 * _number(summary, "roofline_percent")},
        "mfu": 100.0 * _number(summary, "mfu_estimated_percent"),  # percent, as Profile.mfu
        "mbu": 100.0 * _number(summary, "mbu_estimated_percent"),
        "hints": [str(h) for h in hints],
        "summary": dict(summary),
        "timeline": dict(timeline or {}),
        "calibration": calibration or None,  # the cost model behind the latency (None: built-in)
    }


def profile_record(prof: Profile, *, origin: str = "evaluation") -> dict:
    """The record of a cost-model ``Profile``, with its timeline when it kept its trace."""
    from autocomp.perf.timeline import timeline_rows

    (summary,) = prof.summary().values()
    return record_from_summary(summary, latency_us=prof.latency_us, target=prof.target, kernel=prof.kernel,
                               hints=[h.message for h in prof.hints], timeline=timeline_rows(prof), origin=origin,
                               calibration=prof.calibration)


def result_record(result: EvalResult | Mapping[str, Any], *, kernel: str = "",
                  origin: str = "evaluation") -> dict | None:
    """The record of an evaluation (an ``EvalResult`` or its dict), or None unless it is correct and carries the
    cost model's summary; the timeline is there only when the evaluator was asked for one."""
    data = result.model_dump(mode="json") if hasattr(result, "model_dump") else dict(result)
    summary = data.get("profile")
    if data.get("status") != "correct" or not isinstance(summary, Mapping) or not summary:
        return None
    timeline = data.get("timeline")
    return record_from_summary(summary, latency_us=data.get("latency_us"), target=str(data.get("target") or ""),
                               kernel=kernel, evidence=str(data.get("evidence") or "sim"),
                               hints=list(data.get("hints") or []),
                               timeline=timeline if isinstance(timeline, Mapping) else None, origin=origin,
                               calibration=data.get("calibration"))
