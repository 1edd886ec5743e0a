"""Which candidates survive an iteration, and whether the search is still improving.

Selection is by latency among correct candidates, with two twists:
- hardware timings are noisy, so a newcomer measured on hardware must beat an
  incumbent by more than ``hw_margin`` to rank above it (the simulator is
  deterministic and needs no margin);
- no more than ``max_per_parent`` slots go to the children of one parent, so
  one lucky lineage cannot take the whole beam while others are available.
Ties break by iteration, then source hash, never by candidate id: ids depend on
thread timing, and a resumed run must choose exactly what an uninterrupted one would.
The cost model's error bar labels a run's result ("needs hardware confirmation") but never
ranks: selection is by the estimate (the decision and its reasons: docs/cost-model.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from autocomp.search.node import Node


def default_max_per_parent(width: int) -> int:
    """At most half the beam (rounded up) from one parent; a beam of 1 is unconstrained."""
    return width if width <= 1 else math.ceil(width / 2)


def effective_latency(node: Node, *, iteration: int, hw_margin: float) -> float:
    """Latency used for ranking: newcomers on hardware pay the noise margin."""
    assert node.latency_us is not None
    if node.evidence == "hw" and node.iteration >= iteration:
        return node.latency_us * (1.0 + hw_margin)
    return node.latency_us


def rank(nodes: Iterable[Node], *, iteration: int, hw_margin: float = 0.01) -> list[Node]:
    """Correct candidates, fastest first. A hardware measurement and an estimate are never compared: candidates
    measured on hardware come first, by measurement, then the estimated ones, by estimate (in a two-tier run those
    are the ones the cost model was confident lose to the best: search/hw_tier.py). Runs with one tier rank as
    before."""
    correct = [n for n in nodes if n.correct]
    return sorted(correct, key=lambda n: (n.evidence != "hw", effective_latency(n, iteration=iteration,
                                                                                hw_margin=hw_margin),
                                          n.iteration, n.source_hash))


def select_beam(nodes: Iterable[Node], width: int, *, iteration: int, hw_margin: float = 0.01,
                max_per_parent: int | None = None) -> list[Node]:
    """The ``width`` candidates to expand next: fastest first, at most ``max_per_parent`` per lineage group.

    When too few other lineages exist the remaining slots are filled by the next
    fastest regardless of group, so the beam is never emptier than it must be.
    """
    ranked = rank(nodes, iteration=iteration, hw_margin=hw_margin)
    cap = default_max_per_parent(width) if max_per_parent is None else max(1, max_per_parent)
    chosen: list[Node] = []
    per_group: dict[str, int] = {}
    overflow: list[Node] = []
    for node in ranked:
        if len(chosen) >= width:
            break
        group = node.lineage_group
        if per_group.get(group, 0) >= cap:
            overflow.append(node)
            continue
        per_group[group] = per_group.get(group, 0) + 1
        chosen.append(node)
    for node in overflow:
        if len(chosen) >= width:
            break
        chosen.append(node)
    return chosen


def improved(new: Node | None, old: Node | None, *, hw_margin: float = 0.01, min_gain: float = 0.002) -> bool:
    """Whether ``new`` is a real improvement on ``old``: faster by more than the noise (hw) or ``min_gain`` (sim)."""
    if new is None or new.latency_us is None:
        return False
    if old is None or old.latency_us is None:
        return True
    margin = max(hw_margin, min_gain) if "hw" in (new.evidence, old.evidence) else min_gain
    return new.latency_us < old.latency_us * (1.0 - margin)


def stale_iterations(bests: Sequence[Node | None], *, hw_margin: float = 0.01, min_gain: float = 0.002) -> int:
    """How many of the last iterations did not improve on the best before them.

    ``bests[i]`` is the best candidate known at the end of iteration ``i`` (index 0:
    after the baseline).
    """
    stale = 0
    incumbent = bests[0] if bests else None
    for best in bests[1:]:
        if improved(best, incumbent, hw_margin=hw_margin, min_gain=min_gain):
            stale = 0
            incumbent = best
        else:
            stale += 1
    return stale
