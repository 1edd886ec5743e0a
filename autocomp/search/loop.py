"""The search loop over candidate kernels, in stages (LLM rewrites, then knob tuning).

Each iteration the stage's proposer expands the parents its :class:`~autocomp.search.strategy.Strategy`
chose (beam search: the beam), proposing, evaluating and repairing children through
the :class:`Session`; then the strategy chooses the next parents from every candidate
so far and the loop checkpoints its state in the run store. A stage ends after its
iteration count, after ``early_stop`` iterations without a real improvement, or when
its proposer runs dry (budget spent, nothing left to try).

Resuming replays the same loop: iterations that were checkpointed are not re-run,
only re-read (the strategy restores their parents); an iteration that was under way
follows its recorded decisions (:mod:`autocomp.search.decisions`). Stopping after the iteration count
or early (:func:`~autocomp.search.selection.stale_iterations`, the one early-stop
rule) is a pure function of the configuration and what the store holds; that a
proposer ran dry is recorded and replayed. So a resumed run takes exactly the
path an uninterrupted one with the same seed and the same LLM answers would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from autocomp.search.node import Node
from autocomp.search.selection import rank, stale_iterations
from autocomp.search.session import Session
from autocomp.search.strategy import Strategy

EventSink = Callable[[str, dict], None]


class Proposer(Protocol):
    """Expands the parents of an iteration (the beam): proposes children of each and waits until they are
    evaluated."""

    name: str

    def expand(self, iteration: int, beam: Sequence[Node], session: Session) -> None: ...

    @property
    def exhausted(self) -> str | None:
        """Why this proposer can propose nothing more (budget spent, search space covered), or None."""
        ...


@dataclass
class Stage:
    """One phase of the search: a proposer and its width (parents per iteration: the beam), iteration count and
    patience."""

    name: str
    proposer: Proposer
    width: int
    iterations: int
    early_stop: int


@dataclass
class SearchOutcome:
    """How the search ended."""

    iterations: int = 0
    stop_reason: str = "finished"
    stage_reasons: dict[str, str] = field(default_factory=dict)
    beam: list[Node] = field(default_factory=list)
    # Why a proposer ran dry, in full (e.g. the budget's refusal with its figures), recorded or replayed.
    refusal: str | None = None


class SearchLoop:
    """Runs stages of search over one session's candidates, choosing parents through ``strategy``."""

    def __init__(self, session: Session, strategy: Strategy, *, hw_margin: float = 0.01, min_gain: float = 0.002,
                 on_event: EventSink | None = None, hw_tier=None):
        self.session = session
        self.hw_tier = hw_tier  # two-tier runs: measures the iteration's chosen candidates on hardware
        self.strategy = strategy
        self.hw_margin = hw_margin  # for the best candidate the early stop follows
        self.min_gain = min_gain
        self.on_event = on_event or (lambda kind, data: None)
        self.stop = threading.Event()

    def best_until(self, iteration: int) -> Node | None:
        """The best correct candidate created in iterations <= ``iteration``."""
        ranked = rank((n for n in self.session.all_nodes() if n.iteration <= iteration),
                      iteration=iteration + 1, hw_margin=self.hw_margin)
        return ranked[0] if ranked else None

    def select(self, width: int, iteration: int) -> list[Node]:
        nodes = [n for n in self.session.all_nodes() if n.iteration <= iteration]
        return self.strategy.select(nodes, width, iteration)

    def run(self, stages: Sequence[Stage]) -> SearchOutcome:
        """Run ``stages`` in order, continuing from the last checkpoint in the store."""
        store = self.session.store
        decisions = self.session.decisions
        completed = {snap.iteration: snap.state for snap in store.beams()}
        outcome = SearchOutcome()
        iteration = 0
        if 0 not in completed:
            base = self.session.baseline
            store.record_checkpoint(0, self.strategy.checkpoint([base] if base is not None else []))
        beam: list[Node] = []
        for index, stage in enumerate(stages):
            done, reason, ran_dry = 0, "iterations", False
            # bests[i]: the best candidate at the end of the stage's i-th iteration (0: when it started).
            bests = [self.best_until(iteration)]
            beam = self.select(stage.width, iteration)
            while True:
                stale = stale_iterations(bests, hw_margin=self.hw_margin, min_gain=self.min_gain)
                if done >= stage.iterations:
                    reason = "iterations"
                    break
                if stale >= stage.early_stop:
                    reason = f"no improvement in {stale} iterations"
                    break
                ended = decisions.recall(_stage_end_key(index, stage.name, iteration))
                if ended is not None and ended.get("ran_dry") and ended.get("limits") == _limits(stage):
                    # Replayed: the proposer ran dry here (budget spent, space covered); a resumed
                    # proposer does not know that until it tries, and trying could start an iteration.
                    # Under other limits (a raised budget) the stage goes on instead.
                    reason, ran_dry = ended["reason"], True
                    outcome.refusal = outcome.refusal or ended.get("refusal")
                    break
                if stage.proposer.exhausted and iteration + 1 not in completed:
                    reason, ran_dry = stage.proposer.exhausted, True
                    break
                if self.stop.is_set():
                    outcome.stop_reason = "interrupted"
                    return self._finish(outcome, iteration, beam)
                iteration += 1
                done += 1
                replayed = iteration in completed
                if replayed:
                    beam = self.strategy.restore(completed[iteration], self.session.nodes)
                else:
                    started = decisions.record(iteration, f"iteration:{iteration}:{index}", "iteration",
                                               {"stage": stage.name, "beam": [n.id for n in beam]})
                    beam = self._beam_from(started["beam"])
                    self.on_event("iteration_start", {"iteration": iteration, "stage": stage.name,
                                                      "beam": [n.id for n in beam]})
                    stage.proposer.expand(iteration, beam, self.session)
                    if self.stop.is_set() or self.session.cancelled:
                        outcome.stop_reason = "interrupted"
                        return self._finish(outcome, iteration - 1, beam)
                    if stage.proposer.exhausted and not any(n.iteration == iteration
                                                            for n in self.session.all_nodes()):
                        # Nothing was proposed: the iteration did not happen (a resumed run decides alike).
                        iteration -= 1
                        reason, ran_dry = stage.proposer.exhausted, True
                        break
                    if self.hw_tier is not None:  # before selection: the beam ranks by what hardware measured
                        self.hw_tier.confirm(iteration, self.session.all_nodes(), self.best_until(iteration - 1))
                    beam = self.select(stage.width, iteration)
                    store.record_checkpoint(iteration, self.strategy.checkpoint(beam))
                best = self.best_until(iteration)
                bests.append(best)
                gained = stale_iterations(bests, hw_margin=self.hw_margin, min_gain=self.min_gain) == 0
                self.on_event("iteration_done", {"iteration": iteration, "stage": stage.name,
                                                 "beam": [n.id for n in beam], "best": best.id if best else None,
                                                 "improved": gained, "replayed": replayed})
            refusal = getattr(stage.proposer, "refusal", None) if ran_dry else None
            outcome.refusal = outcome.refusal or refusal
            decisions.record(iteration, _stage_end_key(index, stage.name, iteration), "stage_end",
                             {"stage": stage.name, "reason": reason, "ran_dry": ran_dry, "refusal": refusal,
                              "limits": _limits(stage)})
            outcome.stage_reasons[stage.name] = reason
            self.on_event("stage_done", {"stage": stage.name, "reason": reason, "iteration": iteration})
        return self._finish(outcome, iteration, beam)

    def _beam_from(self, ids: Sequence[int] | None) -> list[Node]:
        if not ids:
            return []
        return [self.session.node(i) for i in ids if i in self.session.nodes]

    def _finish(self, outcome: SearchOutcome, iteration: int, beam: list[Node]) -> SearchOutcome:
        outcome.iterations = iteration
        outcome.beam = beam
        return outcome


def _stage_end_key(index: int, name: str, iteration: int) -> str:
    return f"stage-end:{index}:{name}:{iteration}"


def _limits(stage: Stage):
    """What the stage's proposer running dry depended on (e.g. its budget), as recorded with its end."""
    return getattr(stage.proposer, "limits", None)
