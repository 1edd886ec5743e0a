"""How the search chooses the candidates it builds on: the :class:`Strategy` seam.

The search loop (``loop.py``) runs stages of iterations; after each one, a strategy picks
the parents of the next iteration from every candidate so far (``select``), says what the
run store must keep to resume from there (``checkpoint``: a plain JSON-able dict with the
strategy's ``kind`` and the chosen ``parents``' ids, plus anything else it needs), and reads
that back on resume (``restore``). Beam search (``beam.py``) is the strategy autocomp ships;
``[search] strategy`` names the one a run uses, from :data:`STRATEGIES`.

A strategy must be deterministic in the candidates it is given (ties broken by content,
never by candidate id or timing): a resumed run re-selects exactly what an uninterrupted
one did. The run store reads a checkpoint written before strategies had names as beam
search's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from autocomp.search.config import SearchOptions
    from autocomp.search.node import Node


class Strategy(Protocol):
    """What the search loop needs from a search strategy."""

    kind: str  # names the strategy in the configuration and in every checkpoint

    def select(self, nodes: Sequence[Node], width: int, iteration: int) -> list[Node]:
        """The parents of iteration ``iteration + 1``: at most ``width`` of ``nodes`` (every candidate created in
        iterations up to ``iteration``; unevaluated and failed ones included)."""
        ...

    def checkpoint(self, parents: Sequence[Node]) -> dict[str, Any]:
        """The state to resume from once ``parents`` are chosen: ``{"kind": kind, "parents": [ids], ...}``
        (JSON-able)."""
        ...

    def restore(self, state: Mapping[str, Any], nodes: Mapping[int, Node]) -> list[Node]:
        """The parents a checkpoint of this strategy recorded, as nodes (``nodes``: every candidate by id)."""
        ...


StrategyFactory = Callable[["SearchOptions"], Strategy]


def _beam(options: SearchOptions) -> Strategy:
    from autocomp.search.beam import BeamSearch

    return BeamSearch(hw_margin=options.hw_margin, max_per_parent=options.max_per_parent)


# kind -> factory building the strategy from the run's [search] options.
STRATEGIES: dict[str, StrategyFactory] = {"beam": _beam}


def register_strategy(kind: str, factory: StrategyFactory) -> None:
    """Make ``kind`` a valid ``[search] strategy`` (plugins and tests)."""
    STRATEGIES[kind] = factory


def create_strategy(options: SearchOptions) -> Strategy:
    """The strategy ``options.strategy`` names, built from ``options``."""
    if options.strategy not in STRATEGIES:
        raise ValueError(unknown_strategy(options.strategy))
    strategy = STRATEGIES[options.strategy](options)
    if strategy.kind != options.strategy:
        raise ValueError(f"strategy {options.strategy!r} built a strategy of kind {strategy.kind!r}")
    return strategy


def unknown_strategy(name: str) -> str:
    return f"unknown search strategy {name!r}; known strategies: {', '.join(sorted(STRATEGIES))}"
