"""Evaluating kernels read back from a run directory: the report's re-profiling and the notebook's reevaluate.

A run directory can be edited, so a kernel read from it is as untrusted as one an LLM just wrote: it goes
through the same :class:`~autocomp.evaluate.Evaluator` as the search (static gate, sandbox, trusted measuring
half), uncached so it really runs again. With ``timelines`` the engine timeline comes back in the result, made
by the trusted measuring half from the trace it validated, never by the process that ran the kernel.

    with StoredEvaluator(run.problem_dir(), target=name, timelines=True) as ev:
        result = ev.evaluate(run.source(4))
"""

from __future__ import annotations

from pathlib import Path

from autocomp.evaluate.evaluator import Evaluator
from autocomp.evaluate.result import EvalResult
from autocomp.problem import Problem


class StoredEvaluator:
    """One Evaluator for kernels of one run's problem snapshot, started on first use and closed with this."""

    def __init__(self, problem_dir: str | Path, *, backend: str = "sim", target: str | None = None,
                 timelines: bool = False, calibration=None, variant: str | None = None):
        self.problem = Problem.load(problem_dir, variant)  # variant: the run's (RunReader.problem_variant)
        self.calibration = calibration  # a path or CalibrationSource for the sim backend's estimates
        self.backend = backend
        self.target = target
        self.timelines = timelines
        self._evaluator: Evaluator | None = None

    def evaluate(self, source: str) -> EvalResult:
        """The verdict on ``source`` for the run's problem (raises EvaluatorError where it may not run here)."""
        if self._evaluator is None:
            # One candidate at a time: a spare worker and one measuring process are enough.
            self._evaluator = Evaluator(self.backend, workers=1, cache=False, target=self.target,
                                        timelines=self.timelines, calibration=self.calibration)
        return self._evaluator.evaluate(self.problem, source)

    def close(self) -> None:
        if self._evaluator is not None:
            self._evaluator.close()
            self._evaluator = None

    def __enter__(self) -> StoredEvaluator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["StoredEvaluator"]
