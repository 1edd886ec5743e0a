"""A candidate as the search sees it while running: source, lineage, how it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autocomp.search.outcome import Outcome
from autocomp.sources import source_hash

BASELINE = "baseline"
LLM = "llm"
REPAIR = "repair"
KNOB = "knob"


@dataclass
class Node:
    """One stored candidate. ``outcome`` is None until its search evaluation is committed.

    ``meta`` keeps what the store's columns do not: the slot that produced it (so a
    resumed run finds it again), the beam member it descends from, knob settings.
    """

    id: int
    source: str
    iteration: int
    origin: str
    parent_id: int | None = None
    plan: str | None = None
    outcome: Outcome | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source_hash: str = ""

    def __post_init__(self) -> None:
        if not self.source_hash:
            self.source_hash = source_hash(self.source)

    @property
    def evaluated(self) -> bool:
        return self.outcome is not None

    @property
    def correct(self) -> bool:
        return self.outcome is not None and self.outcome.correct

    @property
    def latency_us(self) -> float | None:
        return self.outcome.latency_us if self.correct else None

    @property
    def evidence(self) -> str:
        return self.outcome.evidence if self.outcome is not None else "sim"

    @property
    def lineage_group(self) -> str:
        """Beam members descended from the same parent share a group (the diversity rule counts groups)."""
        return str(self.meta.get("beam_parent") or self.meta.get("parent_hash") or self.source_hash)

    def label(self) -> str:
        return f"#{self.id}"
