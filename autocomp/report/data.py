"""Everything the report shows, gathered from a run directory in one place."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from autocomp.store import RunReader, RunStore, StoreError
from autocomp.store.locate import effective_status
from autocomp.store.records import BeamSnapshot, Candidate, RunInfo, Spend


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


def candidate_profile(run: RunReader, candidate_id: int, *, reprofile: bool = True,
                      save: bool = True) -> tuple[dict | None, str | None]:
    """The profile record of a candidate: stored, or re-profiled in a sandboxed child (and then saved).

    Returns (record, note); the note says why there is no record or that it was re-profiled.
    """
    stored = run.profile(candidate_id)
    # The search stores the summary an EvalResult carries; a timeline needs the per-instruction times.
    if stored is not None and (stored.get("timeline") or not reprofile):
        return stored, None
    if not reprofile:
        return None, f"candidate {candidate_id} has no stored profile"
    problem_dir = run.problem_dir()
    if problem_dir is None:
        return stored, f"candidate {candidate_id} has no stored timeline and the run has no problem snapshot"
    from autocomp.store.profiles import reprofile as run_reprofile

    try:
        record = run_reprofile(problem_dir, run.candidate_dir(candidate_id) / "kernel.py", target=run.info.target)
    except (RuntimeError, OSError, ValueError) as e:
        return stored, f"candidate {candidate_id}: {e}"
    if save:
        save_profile(run, candidate_id, record)
    return record, f"candidate {candidate_id} was re-profiled with the simulator cost model for this report"


def save_profile(run: RunReader, candidate_id: int, record: dict) -> bool:
    """Keep ``record`` as the candidate's profile.json for next time, through the run store (its one writer).

    Returns False, writing nothing, when a search holds the run or the directory is read-only: the report is
    made all the same.
    """
    if isinstance(run, RunStore):
        run.record_profile(candidate_id, record)
        return True
    try:
        with RunStore.open(run.root) as store:
            store.record_profile(candidate_id, record)
    except (StoreError, OSError, sqlite3.Error):
        return False
    return True


def load_report_data(run: RunReader, *, reprofile: bool = True) -> ReportData:
    """Read what the report needs; re-profiles the baseline and best kernels when no profile is stored."""
    cands = run.candidates()
    baseline, best = run.baseline(), run.best()
    sources, profiles, results, notes = {}, {}, {}, []
    for role, cand in (("baseline", baseline), ("best", best)):
        if cand is None:
            profiles[role] = None
            continue
        sources[cand.id] = run.source(cand.id)
        evaluation = run.evaluation(cand.id)
        if evaluation is not None:
            results[role] = evaluation.result
        record, note = candidate_profile(run, cand.id, reprofile=reprofile)
        profiles[role] = record
        if note and note not in notes:
            notes.append(note)
    total = run.spend()
    return ReportData(
        info=run.info, status=effective_status(run), config=run.config(), candidates=cands, baseline=baseline,
        best=best, lineage=run.lineage(best.id) if best else [], beams=run.beams(), sources=sources,
        profiles=profiles, results=results, notes=notes, spend_total=total[0] if total else None,
        spend_by_phase=run.spend("phase"), spend_by_model=run.spend("model"))
