"""The search's decision record: what was decided is committed before it is acted on, and replayed on resume.

A resumed run must take exactly the path the uninterrupted run with the same seed
and the same LLM answers takes. Recomputing a decision is not enough: what it
depends on may have moved (the candidates of a half-finished iteration exist
now, an LLM answer may not come back the same when the response cache is off).
So every decision that shapes the search is written to the run store first:

- ``iteration:<t>``      which stage ran iteration t and from which parents;
- ``<t>:llm:plans``      the plans asked for: parent, plan number, menu sample and its seed;
- an LLM answer's slot   the plan text, or the kernel extracted (or why none was);
- ``<t>:knobs``          the knob proposals, in order, each under its own slot;
- ``stage-end:...``      why a stage stopped where it did.

On resume, :meth:`DecisionLog.recall` hands back the recorded decision and the
search follows it; only what was never recorded is decided (or asked) again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from autocomp.store import Decision, RunStore

Entry = tuple[str, str, Mapping[str, Any], int | None]


class DecisionLog:
    """A run's decisions: the recorded ones, read once, and new ones committed as they are made. Thread-safe."""

    def __init__(self, store: RunStore):
        self.store = store
        self._lock = threading.Lock()
        self._known: dict[str, Decision] = {d.key: d for d in store.decisions()}
        self.replayed = 0

    def recall(self, key: str) -> dict[str, Any] | None:
        """The data recorded under ``key``, or None when that decision was never made."""
        with self._lock:
            found = self._known.get(key)
            if found is not None:
                self.replayed += 1
            return dict(found.data) if found is not None else None

    def known(self, key: str) -> bool:
        with self._lock:
            return key in self._known

    def record(self, iteration: int, key: str, kind: str, data: Mapping[str, Any], *,
               parent_id: int | None = None) -> dict[str, Any]:
        """Commit one decision; returns what is on record (the earlier one if ``key`` was decided before)."""
        return self.record_many(iteration, [(key, kind, data, parent_id)])[0]

    def record_many(self, iteration: int, entries: Sequence[Entry]) -> list[dict[str, Any]]:
        """Commit several decisions in one transaction (all or none survive a crash)."""
        with self._lock:
            stored = self.store.record_decisions(iteration, entries)
            for d in stored:
                self._known[d.key] = d
            return [dict(d.data) for d in stored]

    def link(self, key: str, candidate_id: int) -> None:
        """A decision resolved to an existing candidate (a duplicate kernel)."""
        self.store.link_decision(key, candidate_id)
