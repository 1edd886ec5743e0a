"""One thread pool per evidence tier, for the two-tier search (hw_tier.py).

The search hands ``TierPools`` (tier, problem, source) and gets a future of the ``EvalResult``: "sim" goes to
the simulator's ``Evaluator``, "hw" to the NeuronCores' one, each on a pool as wide as that evaluator's slots,
so device measurements never queue behind simulator scoring. Where a candidate's sandboxed worker then runs
(this host, or a Ray cluster) is the evaluator's own choice: ``autocomp.evaluate.executors``.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from autocomp.evaluate.result import EvalResult


class TierSubmitter(Protocol):
    """Runs evaluations of a tier; thread-safe."""

    def tiers(self) -> tuple[str, ...]:
        """The tiers this executor can evaluate on ("sim", "hw")."""

    def submit(self, tier: str, problem: Any, source: str, *, seeds: list[int] | None = None,
               baseline: bool = False) -> Future:
        """A future of the ``EvalResult`` of ``source`` evaluated on ``tier``; ``baseline``: the problem's own
        kernel as the tier's evaluator measures it for speedups (``Evaluator.baseline``), ``source`` unused."""

    def close(self) -> None:
        """Stop: running evaluations end, queued ones are dropped."""


class TierPools:
    """Evaluations on this host: ``evaluators`` maps a tier to its ``Evaluator`` (or anything with ``evaluate``)."""

    def __init__(self, evaluators: dict[str, Any]):
        self.evaluators = dict(evaluators)
        self._pools = {tier: ThreadPoolExecutor(max_workers=max(1, getattr(ev, "workers", 1)),
                                                thread_name_prefix=f"autocomp-{tier}")
                       for tier, ev in self.evaluators.items()}

    def tiers(self) -> tuple[str, ...]:
        return tuple(self.evaluators)

    def submit(self, tier: str, problem: Any, source: str, *, seeds: list[int] | None = None,
               baseline: bool = False) -> Future:
        if tier not in self.evaluators:
            raise KeyError(f"no {tier!r} evaluator here (tiers: {', '.join(self.evaluators)})")
        evaluator = self.evaluators[tier]

        def run() -> EvalResult:
            if baseline and callable(getattr(evaluator, "baseline", None)):
                return evaluator.baseline(problem)
            if seeds is not None:
                return evaluator.evaluate(problem, source, seeds=seeds)
            return evaluator.evaluate(problem, source)

        return self._pools[tier].submit(run)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
