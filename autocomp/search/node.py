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
    """One stored candidate. ``outcome`` is None until its search evaluation is committed; ``hw_outcome`` is its
    hardware measurement in a two-tier run (search/hw_tier.py), and when present it is the one of record:
    ``correct``, ``latency_us`` and ``evidence`` read it, never mixing it with the estimate.

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
    hw_outcome: Outcome | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source_hash: str = ""

    def __post_init__(self) -> None:
        if not self.source_hash:
            self.source_hash = source_hash(self.source)

    @property
    def evaluated(self) -> bool:
        return self.outcome is not None

    @property
    def of_record(self) -> Outcome | None:
        """The outcome that ranks this candidate: the hardware measurement when there is one."""
        return self.hw_outcome if self.hw_outcome is not None else self.outcome

    @property
    def sim_correct(self) -> bool:
        """Correct on the search evaluation (the simulator's, in a two-tier run)."""
        return self.outcome is not None and self.outcome.correct

    @property
    def correct(self) -> bool:
        record = self.of_record
        return record is not None and record.correct

    @property
    def latency_us(self) -> float | None:
        return self.of_record.latency_us if self.correct else None

    @property
    def evidence(self) -> str:
        record = self.of_record
        return record.evidence if record is not None else "sim"

    @property
    def lineage_group(self) -> str:
        """Beam members descended from the same parent share a group (the diversity rule counts groups)."""
        return str(self.meta.get("beam_parent") or self.meta.get("parent_hash") or self.source_hash)

    def label(self) -> str:
        return f"#{self.id}"
