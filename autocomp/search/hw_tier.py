"""Two-tier search: every candidate is checked and scored in the simulator; only some go to hardware.

Hardware time is scarce and the simulator scores hundreds of candidates a minute. With ``--backend hw`` the
session evaluates every candidate on the simulator (its ``search`` evaluation, evidence ``sim``); after each
iteration this tier sends to the NeuronCores:

- the ``top_k`` fastest of the iteration's sim-correct candidates by the estimate, and
- every other sim-correct one the cost model cannot rank below the current best with confidence: unless the
  best's estimated win over it holds across the model's 90% interval (``win_is_certain``, the same test that
  labels a run's result "needs hardware confirmation"), it is measured.

Each hardware result is kept as the candidate's ``hw`` evaluation, beside its ``sim`` one, so both numbers stay
in the run (and ``autocomp calibrate --from-runs`` finds the ``hw`` ones). The baseline is measured on both.
How the tiers are compared: never a sim number against a hw number. A candidate with a hardware result ranks by
it, among the hardware-measured; those without one (the cost model was confident they lose) rank after all of
them, by their estimate (``selection.rank``). Which candidates go is a pure function of the stored sim results,
and finished hardware evaluations are committed one by one, so a resumed run measures what is missing and
nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autocomp.search.node import BASELINE, Node
from autocomp.search.outcome import Outcome, eval_result
from autocomp.store import DuplicateEvaluationError, RunStore
from autocomp.store.reader import HW

EventSink = Callable[[str, dict], None]


class HardwareTier:
    """Chooses the candidates to measure on hardware and measures them through ``pools`` (tier "hw", tier_pools.py)."""

    def __init__(self, pools: Any, store: RunStore, problem: Any, *, top_k: int, hw_margin: float = 0.01,
                 on_event: EventSink | None = None):
        self.pools = pools
        self.store = store
        self.problem = problem
        self.top_k = max(1, top_k)
        self.hw_margin = hw_margin
        self.on_event = on_event or (lambda kind, data: None)
        self.measured = 0

    def choose(self, fresh: Sequence[Node], incumbent: Node | None) -> list[tuple[Node, str]]:
        """(candidate, why) for each of ``fresh`` that goes to hardware, fastest estimate first."""
        from autocomp.perf.uncertainty import win_is_certain

        ranked = sorted((n for n in fresh if n.sim_correct and n.hw_outcome is None),
                        key=lambda n: (n.outcome.latency_us, n.iteration, n.source_hash))
        best_sim = self._sim_profile(incumbent) if incumbent is not None else None
        chosen = []
        for i, node in enumerate(ranked):
            if i < self.top_k:
                chosen.append((node, f"top {self.top_k} in sim"))
                continue
            mine = self._sim_profile(node)
            if best_sim is None or mine is None:
                chosen.append((node, "no interval to rank it by"))
                continue
            try:
                verdict = win_is_certain(mine, best_sim)  # does the best beat it beyond the model's error?
            except (KeyError, TypeError, ValueError):
                verdict = None
            if verdict is None or not verdict.certain:
                low = f" (best/it speedup {verdict.low:.2f}x-{verdict.high:.2f}x)" if verdict is not None else ""
                chosen.append((node, f"the cost model cannot rank it below the best{low}"))
        return chosen

    def _sim_profile(self, node: Node) -> dict | None:
        """The node's sim profile summary (with its interval), from its outcome."""
        profile = node.outcome.profile_summary if node.outcome is not None else None
        return profile if isinstance(profile, dict) and profile.get("total_time") and \
            isinstance(profile.get("uncertainty"), dict) else None

    def measure(self, chosen: Sequence[tuple[Node, str]], *, iteration: int) -> list[str]:
        """Evaluate ``chosen`` on hardware in parallel, committing each result as it finishes; returns the
        evaluator's own failures (nothing is recorded for those: a resumed run tries again)."""
        failures: list[str] = []
        if not chosen:
            return failures
        self.on_event("hw_selected", {"iteration": iteration, "ids": [n.id for n, _ in chosen],
                                      "why": {str(n.id): why for n, why in chosen}})
        self.store.event("hw_selected", iteration=iteration, candidates=[n.id for n, _ in chosen],
                         why={str(n.id): why for n, why in chosen})
        # The baseline is the measurement every hw speedup is against: the evaluator's own, not a second run.
        futures = [(node, self.pools.submit("hw", self.problem, node.source, baseline=node.origin == BASELINE))
                   for node, _ in chosen]
        for node, fut in futures:
            try:
                result = eval_result(fut.result())
            except Exception as e:  # the hardware evaluator broke: not a verdict, not committed
                self.store.event("evaluator_error", id=node.id, tier="hw", error=f"{type(e).__name__}: {e}")
                self.on_event("evaluator_error", {"id": node.id, "error": f"hw: {type(e).__name__}: {e}"})
                failures.append(f"{type(e).__name__}: {e}")
                continue
            try:  # profile.json stays the sim profile (the richer one); the hw summary is in the evaluation
                self.store.record_evaluation(node.id, result, purpose=HW)
            except DuplicateEvaluationError:
                pass
            node.hw_outcome = Outcome.from_result(result)
            self.measured += 1
            self.on_event("hw_evaluated", {"id": node.id, "status": result.status, "hw_latency_us": result.latency_us,
                                           "sim_latency_us": node.outcome.latency_us if node.outcome else None})
        return failures

    def confirm(self, iteration: int, nodes: Sequence[Node], incumbent: Node | None) -> list[Node]:
        """Choose among the candidates of ``iteration`` and measure them; returns those measured."""
        fresh = [n for n in nodes if n.iteration == iteration]
        chosen = self.choose(fresh, incumbent)
        self.measure(chosen, iteration=iteration)
        return [n for n, _ in chosen]
