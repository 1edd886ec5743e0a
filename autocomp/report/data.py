"""Everything the report shows, gathered from a run directory in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autocomp.report.reprofile import Reprofiler, candidate_profile
from autocomp.store import RunReader
from autocomp.store.device_profiles import run_device_profiles
from autocomp.store.locate import effective_status
from autocomp.store.reader import SEARCH
from autocomp.store.records import BeamSnapshot, Candidate, LLMCall, RunInfo, Spend
from autocomp.store.tiers import tier_rows


@dataclass
class ReportData:
    info: RunInfo
    status: str
    config: dict[str, Any]
    candidates: list[Candidate]
    baseline: Candidate | None
    best: Candidate | None
    lineage: list[Candidate]
    beams: list[BeamSnapshot]
    sources: dict[int, str]
    profiles: dict[str, dict | None]
    results: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    spend_total: Spend | None = None
    spend_by_phase: list[Spend] = field(default_factory=list)
    spend_by_model: list[Spend] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)  # candidate id -> why its search evaluation failed
    llm_calls: list[LLMCall] = field(default_factory=list)
    tiers: list[dict] = field(default_factory=list)  # sim vs hw per candidate (store/tiers.py)
    # Neuron Explorer captures the run kept (store/device_profiles.py), one row per evaluation and shape
    device_profiles: list[dict] = field(default_factory=list)
    # candidate id -> the declared shapes where its search evaluation was slower than the baseline
    regressed: dict[int, list[str]] = field(default_factory=dict)

    @property
    def evidence(self) -> str:
        tiers = {c.evidence for c in self.candidates if c.evidence}
        return ", ".join(sorted(tiers)) or "none yet"

    def roofline_us(self) -> float | None:
        """The lowest cost-model roofline bound of the stored profiles or evaluations, in µs."""
        bounds = [p["roofline"]["bound_ns"] / 1e3 for p in self.profiles.values()
                  if p and (p.get("roofline") or {}).get("bound_ns")]
        # EvalResult.profile holds the neuron-profile-shaped summary, with roofline_time in seconds.
        bounds += [r["profile"]["roofline_time"] * 1e6 for r in self.results.values()
                   if isinstance((r.get("profile") or {}).get("roofline_time"), (int, float))
                   and r["profile"]["roofline_time"] > 0]
        return min(bounds) if bounds else None

    def best_per_iteration(self) -> list[tuple[int, Candidate]]:
        """(iteration, best correct candidate of iterations <= it), once any is correct."""
        if not self.candidates:
            return []
        out, best = [], None
        for it in range(max(c.iteration for c in self.candidates) + 1):
            for c in self.candidates:
                if c.iteration == it and c.correct and c.latency_us is not None:
                    if best is None or c.latency_us < best.latency_us:
                        best = c
            if best is not None:
                out.append((it, best))
        return out

    def spend_frontier(self) -> list[tuple[float, float, Candidate]]:
        """(cumulative LLM spend in USD, best speedup so far, the candidate that set it), each time the best
        speedup improves, in the order candidates were made.

        A candidate is charged every call up to the one that wrote it (``llm_call_id``), else every call recorded
        no later than the candidate itself: the spend it took to get there, failed and cached calls included.
        """
        calls = sorted(self.llm_calls, key=lambda c: c.id)
        out: list[tuple[float, float, Candidate]] = []
        for c in sorted(self.candidates, key=lambda c: c.id):
            if not (c.correct and c.speedup is not None) or (out and c.speedup <= out[-1][1]):
                continue
            if c.llm_call_id is not None:
                spent = sum(k.cost_usd for k in calls if k.id <= c.llm_call_id)
            else:
                spent = sum(k.cost_usd for k in calls if k.created <= c.created)
            out.append((spent, c.speedup, c))
        return out


def load_report_data(run: RunReader, *, reprofile: bool = True,
                     progress: Callable[[str], None] | None = None) -> ReportData:
    """Read what the report needs; re-profiles the baseline and best kernels when no timeline is stored.
    ``progress(message)`` hears each slow step (re-profiling takes seconds per kernel)."""
    cands = run.candidates()
    baseline, best = run.baseline(), run.best()
    sources, profiles, results, notes = {}, {}, {}, []
    with Reprofiler(run) as profiler:
        for role, cand in (("baseline", baseline), ("best", best)):
            if cand is None:
                profiles[role] = None
                continue
            if progress is not None:
                progress(f"profiling the {role} kernel #{cand.id}")
            sources[cand.id] = run.source(cand.id)
            evaluation = run.evaluation(cand.id)
            if evaluation is not None:
                results[role] = evaluation.result
            record, note = candidate_profile(run, cand.id, reprofile=reprofile, profiler=profiler)
            profiles[role] = record
            if note and note not in notes:
                notes.append(note)
    total = run.spend()
    searched = run.evaluations(purpose=SEARCH)
    reasons = {e.candidate_id: str(e.reason or e.result.get("reason") or "") for e in searched
               if e.status != "correct"}
    regressed = {e.candidate_id: [str(n) for n in e.result["regressed_shapes"]] for e in searched
                 if isinstance(e.result.get("regressed_shapes"), list) and e.result["regressed_shapes"]}
    return ReportData(
        info=run.info, status=effective_status(run), config=run.config(), candidates=cands, baseline=baseline,
        best=best, lineage=run.lineage(best.id) if best else [], beams=run.beams(), sources=sources,
        profiles=profiles, results=results, notes=notes, spend_total=total[0] if total else None,
        spend_by_phase=run.spend("phase"), spend_by_model=run.spend("model"),
        reasons={k: v for k, v in reasons.items() if v}, llm_calls=run.llm_calls(), tiers=tier_rows(run),
        regressed=regressed, device_profiles=run_device_profiles(run))
