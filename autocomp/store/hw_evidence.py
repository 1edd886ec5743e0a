"""Hardware latencies stored in run directories, as measurements for ``autocomp calibrate --from-runs``.

A run evaluated with the neuron backend holds measured (``hw``) latencies of kernels. Fitting the cost
model to them needs each kernel's instruction trace at the timed shapes. The stored source is untrusted:
LLM-written, and a run directory can be edited. So it is never run in this process. Each kernel is
evaluated again by the sandboxed evaluator on the simulator, and the trusted half decodes and checks the
trace the worker left, as it does for every ``sim`` evaluation. Only that checked trace is kept.

    stored = hw_evaluations(["runs/a", "runs/b"])        # what the runs measured
    measurements, skipped = retrace(stored)               # sandboxed, one kernel at a time
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from autocomp.evaluate.backends.sim import SimBackend


class FromRunsError(ValueError):
    """Run directories that cannot give measurements; the message names the directory and what to do."""


@dataclass(frozen=True)
class StoredMeasurement:
    """One hardware evaluation of one candidate in a run directory."""

    run_dir: Path
    run_id: str
    candidate: int
    target: str
    measured_us: float
    source: str
    problem_dir: Path
    variant: str | None = None  # the run's problem variant (NAME@VARIANT)

    @property
    def label(self) -> str:
        return f"{self.run_id}#{self.candidate}"


def hw_evaluations(run_dirs: Iterable[str | Path]) -> list[StoredMeasurement]:
    """The correct ``hw`` evaluations of each run, one per candidate and target (the search's own when there
    are several); a run without any is an error that names it."""
    from autocomp.store.errors import StoreError
    from autocomp.store.reader import RunReader

    out: list[StoredMeasurement] = []
    for ref in run_dirs:
        path = Path(ref)
        try:
            reader = RunReader.open_readonly(path)
        except StoreError as e:
            raise FromRunsError(str(e)) from None
        with reader:
            problem_dir = reader.problem_dir()
            evaluations = reader.evaluations()
            if problem_dir is None:
                raise FromRunsError(f"{path}: no problem snapshot (problem/), so its kernels' shapes are unknown")
            found: dict[tuple[int, str], StoredMeasurement] = {}
            for ev in sorted(evaluations, key=lambda e: (e.purpose != "search", e.id)):
                latency = ev.latency_us
                if ev.evidence != "hw" or ev.status != "correct" or not latency or latency <= 0:
                    continue
                target = ev.target or reader.info.target
                if not target:
                    raise FromRunsError(f"{path}: candidate {ev.candidate_id}'s hw evaluation names no target")
                found.setdefault((ev.candidate_id, target), StoredMeasurement(
                    run_dir=reader.root, run_id=reader.run_id, candidate=ev.candidate_id, target=target,
                    measured_us=float(latency), source=reader.source(ev.candidate_id), problem_dir=problem_dir,
                    variant=reader.problem_variant))
            if not found:
                seen = sorted({e.evidence or "?" for e in evaluations})
                what = f"only {', '.join(seen)} evaluations" if seen else "no evaluations"
                raise FromRunsError(f"{path}: no correct hardware (hw) evaluations to calibrate from ({what}); "
                                    "calibrate from runs evaluated with --backend hw on a Trainium host")
            out += found.values()
    return out


class _TraceKeeper(SimBackend):
    """The sim backend whose trusted half also keeps each checked trace it times, per calling thread.

    Only the parent holds one: the worker is re-created as a plain SimBackend from ``name`` and ``options()``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._kept = threading.local()

    def measure(self, request):
        timed, facts, check_facts = self.checked_traces(request)
        self.kept().append(timed)
        return self.timing(timed, request.job.target, facts, check_facts)

    def kept(self) -> list:
        if not hasattr(self._kept, "traces"):
            self._kept.traces = []
        return self._kept.traces


def retrace(stored: list[StoredMeasurement], *, isolation: str = "auto", allow_unisolated: bool = False,
            on_progress: Callable[[StoredMeasurement, str], None] | None = None):
    """(measurements, skipped): each stored kernel traced through the sandboxed evaluator at the shapes it was
    timed at, and a line for each that no longer evaluates correctly (it is left out)."""
    from autocomp.evaluate import Evaluator, EvaluatorError
    from autocomp.perf.measurements import from_traces
    from autocomp.problem import Problem, ProblemError

    items, skipped = [], []
    for target in sorted({m.target for m in stored}):
        keeper = _TraceKeeper()
        # One candidate at a time, timed in this thread (measure_processes=0): the trace kept is the candidate's.
        try:
            evaluator = Evaluator(keeper, workers=1, cache=False, target=target, measure_processes=0,
                                  isolation=isolation, allow_unisolated=allow_unisolated)
        except EvaluatorError as e:
            raise FromRunsError(str(e)) from None
        try:
            problems: dict[tuple[Path, str | None], Problem] = {}
            for m in (m for m in stored if m.target == target):
                if (m.problem_dir, m.variant) not in problems:
                    try:
                        problems[m.problem_dir, m.variant] = problem = Problem.load(m.problem_dir, m.variant)
                        evaluator.baseline(problem)  # now, so that no baseline timing lands between two reads
                    except (ProblemError, EvaluatorError) as e:
                        raise FromRunsError(f"{m.run_dir}: {e}") from None
                problem = problems[m.problem_dir, m.variant]
                keeper.kept().clear()
                try:
                    result = evaluator.evaluate(problem, m.source, filename=f"candidate-{m.candidate}.py",
                                                seeds=problem.spec.seeds[:1])
                except EvaluatorError as e:
                    raise FromRunsError(f"{m.run_dir}: {e}") from None
                traces = keeper.kept()
                if on_progress is not None:
                    on_progress(m, result.status)
                if result.status != "correct" or len(traces) != 1:
                    why = f"{result.status}: {result.reason}" if result.status != "correct" else "no trace"
                    skipped.append(f"{m.label}: left out, it does not evaluate on the simulator ({why})")
                    continue
                items.append((traces[0], target, m.measured_us, m.run_id, m.label))
        finally:
            evaluator.close()
    return from_traces(items), skipped
