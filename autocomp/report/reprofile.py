"""A candidate's profile record for the report and the notebook: the stored one, or a re-profile.

The search stores the summary its evaluations carry, without the per-instruction times a timeline needs, so
the report re-profiles the kernels it draws. A run directory can be edited, so a kernel read from it is
hostile input: it is evaluated by the same sandboxed Evaluator as the search
(``autocomp.evaluate.stored``), and its timeline is the trusted measuring half's profile of the trace it
validated. A kernel that fails there keeps its stored record (or none), with a note saying why; the report
is made either way.
"""

from __future__ import annotations

import sqlite3

from autocomp.store import RunReader, RunStore, StoreError
from autocomp.store.profiles import result_record


class Reprofiler:
    """Re-profiles a run's candidates, all through one sandboxed Evaluator started on first use."""

    def __init__(self, run: RunReader):
        self.run = run
        self._evaluator = None

    def record(self, candidate_id: int) -> tuple[dict | None, str]:
        """(the re-profiled record, "") or (None, why not)."""
        problem_dir = self.run.problem_dir()
        if problem_dir is None:
            return None, "the run has no problem snapshot (problem/) to evaluate it against"
        try:
            if self._evaluator is None:
                from autocomp.evaluate.stored import StoredEvaluator

                self._evaluator = StoredEvaluator(problem_dir, target=self.run.info.target, timelines=True,
                                                  variant=self.run.problem_variant)
            result = self._evaluator.evaluate(self.run.source(candidate_id))
        except Exception as e:  # the evaluator cannot run it here (no sandbox, a broken snapshot): say so
            return None, f"{type(e).__name__}: {e}"
        record = result_record(result, kernel=self._evaluator.problem.spec.function, origin="reprofile")
        if record is None or not record["timeline"]:
            return None, f"its evaluation was {result.status}: {result.reason}"
        return record, ""

    def close(self) -> None:
        if self._evaluator is not None:
            self._evaluator.close()
            self._evaluator = None

    def __enter__(self) -> Reprofiler:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def candidate_profile(run: RunReader, candidate_id: int, *, reprofile: bool = True, save: bool = True,
                      profiler: Reprofiler | None = None) -> tuple[dict | None, str | None]:
    """The profile record of a candidate: stored, or re-profiled through the sandboxed evaluator (then saved).

    Returns (record, note); the note says why there is no record, why it could not be re-profiled, or that it
    was. ``profiler`` shares one evaluator between calls.
    """
    stored = run.profile(candidate_id)
    if stored is not None and (stored.get("timeline") or not reprofile):
        return stored, None
    if not reprofile:
        return None, f"candidate {candidate_id} has no stored profile"
    own = profiler is None
    profiler = profiler or Reprofiler(run)
    try:
        record, why = profiler.record(candidate_id)
    finally:
        if own:
            profiler.close()
    if record is None:
        kept = "; its stored profile is shown" if stored is not None else ""
        return stored, f"candidate {candidate_id} could not be re-profiled: {why}{kept}"
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
