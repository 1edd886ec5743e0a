"""Is a run's win real? The best kernel's estimated speedup against the cost model's error bar.

In ``sim`` mode the search's objective is the cost model's estimate, and an estimate is only as
good as its interval (docs/cost-model.md, "The error bar"). A speedup whose 90% interval reaches
below 1 is not presented as a result but as "needs hardware confirmation", with that interval.
Everything here reads stored EvalResults (their ``profile`` summary carries the interval), so the
optimize summary, ``autocomp runs show``, the report and the notebook say the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from autocomp.perf.uncertainty import WinVerdict, win_is_certain


def win_verdict(baseline: Mapping[str, Any] | None, best: Mapping[str, Any] | None) -> WinVerdict | None:
    """The verdict on ``best``'s win over ``baseline`` (two EvalResult dicts), or None where none applies:
    hardware evidence (a measurement, not an estimate), a failed kernel, a result without an interval,
    or estimates from different calibrations (not one cost model)."""
    if not isinstance(baseline, Mapping) or not isinstance(best, Mapping):
        return None
    if any(r.get("evidence", "sim") != "sim" or r.get("status") != "correct" for r in (baseline, best)):
        return None
    if baseline.get("calibration") != best.get("calibration"):
        return None
    if baseline.get("shapes") or best.get("shapes"):
        return _shapes_verdict(baseline.get("shapes"), best.get("shapes"))
    a, b = baseline.get("profile"), best.get("profile")
    if not all(isinstance(p, dict) and isinstance(p.get("uncertainty"), dict) and p.get("total_time")
               for p in (a, b)):
        return None
    try:
        return win_is_certain(a, b)
    except (KeyError, TypeError, ValueError):  # a damaged stored summary: no verdict rather than a wrong one
        return None


def _shapes_verdict(baseline: Any, best: Any) -> WinVerdict | None:
    """Problems over several shapes (docs/evaluation.md#problems-over-several-shapes): the verdict on the weighted
    geometric mean speedup, from each shape's estimate and error band. The errors of one kernel pair at several
    shapes are taken as fully correlated, so the interval is the weighted geometric mean of the per-shape
    intervals: the widest it can be. None unless both results carry an estimate at the same shapes."""
    if not isinstance(baseline, list) or not isinstance(best, list) or not best:
        return None
    base = {s.get("name"): s for s in baseline if isinstance(s, dict)}
    parts = []
    try:
        for s in best:
            other = base.get(s.get("name"))
            if other is None or not s.get("estimate") or not other.get("estimate"):
                return None
            parts.append((float(s.get("weight") or 1.0), win_is_certain(other["estimate"], s["estimate"])))
    except (KeyError, TypeError, ValueError, AttributeError):  # a damaged stored result: no verdict
        return None
    total = sum(w for w, _ in parts)

    def mean(values):
        return math.exp(sum(w * math.log(v) for (w, _), v in zip(parts, values)) / total)

    low, high = mean([v.low for _, v in parts]), mean([v.high for _, v in parts])
    return WinVerdict(certain=low > 1.0, speedup=mean([v.speedup for _, v in parts]), low=low, high=high,
                      reason=f"weighted geomean over {len(parts)} shapes, their errors taken as correlated")


def describe(verdict: WinVerdict) -> str:
    """One line: the label and the interval of the true speedup."""
    return f"{verdict.label}: true speedup {verdict.low:.2f}x-{verdict.high:.2f}x (90%; {verdict.reason})"


def verdict_fields(verdict: WinVerdict | None) -> dict[str, Any]:
    """The verdict as plain fields for a RunResult, an event or JSON."""
    if verdict is None:
        return {"win": None, "speedup_low": None, "speedup_high": None, "win_reason": ""}
    return {"win": verdict.label, "speedup_low": verdict.low, "speedup_high": verdict.high,
            "win_reason": verdict.reason}


def run_win(reader, candidate_id: int | None = None) -> WinVerdict | None:
    """The verdict on a run's candidate (default: its best) against its baseline, from their search
    evaluations; None when the best is the baseline or no verdict applies."""
    base = reader.baseline()
    best = reader.best() if candidate_id is None else reader.candidate(candidate_id)
    if base is None or best is None or best.id == base.id:
        return None
    a, b = reader.evaluation(base.id), reader.evaluation(best.id)
    return win_verdict(a.result if a else None, b.result if b else None)
