"""Beam search, the search strategy autocomp ships: keep the ``width`` fastest correct candidates.

The beam is re-selected after every iteration from every correct candidate so far
(:func:`~autocomp.search.selection.select_beam`: latency with the hardware noise margin,
at most ``max_per_parent`` slots per lineage), so a candidate that dropped out can come
back when its rivals' children disappoint. The checkpoint is the beam itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from autocomp.search.node import Node
from autocomp.search.selection import select_beam


class BeamSearch:
    """The beam search strategy (see the module docstring); ``kind`` ``"beam"``."""

    kind = "beam"

    def __init__(self, *, hw_margin: float = 0.01, max_per_parent: int | None = None):
        self.hw_margin = hw_margin
        self.max_per_parent = max_per_parent

    def select(self, nodes: Sequence[Node], width: int, iteration: int) -> list[Node]:
        return select_beam(nodes, width, iteration=iteration, hw_margin=self.hw_margin,
                           max_per_parent=self.max_per_parent)

    def checkpoint(self, parents: Sequence[Node]) -> dict[str, Any]:
        return {"kind": self.kind, "parents": [n.id for n in parents]}

    def restore(self, state: Mapping[str, Any], nodes: Mapping[int, Node]) -> list[Node]:
        return [nodes[i] for i in state.get("parents") or () if i in nodes]
