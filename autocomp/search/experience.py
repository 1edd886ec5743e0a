"""The run's side of the experience memory: what it is shown at the start, and what it leaves behind at the end.

At the start (after the baseline is evaluated) the run takes the pool of memory entries that bear on its problem
(:func:`autocomp.memory.candidate_pool`) and records it as a decision (``memory``) in its own store before any
plan is asked for. Every plan prompt chooses from that pool for the kernel it plans from, so a resumed run shows
exactly what the uninterrupted one would, whatever other runs have added to the memory since. A run with the
memory off, or one started before the memory existed, records (or is treated as having) an empty pool.

At the end of a finished run it records its accepted improvements (a correct candidate faster than the nearest
correct kernel it descends from, by more than the search's own improvement threshold, that did not fail
re-validation) and a few failures worth avoiding (a plan none of whose kernels, repairs included, was correct,
or whose kernels were all slower). Keys are ``<run id>#<candidate id>``, so finishing again after a resume adds
nothing. Only what autocomp measured, the plan and a capped diff are kept (autocomp/memory/entry.py).
docs/architecture.md#experience-memory has the whole flow.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autocomp.memory.db import MemoryStore, MemoryStoreError
from autocomp.memory.entry import FAILURE, IMPROVEMENT, MemoryEntry, bottleneck_of
from autocomp.memory.location import resolve_path
from autocomp.memory.retrieve import Query, candidate_pool, choose, render
from autocomp.search import history as hist
from autocomp.search.node import BASELINE, KNOB, Node

DECISION_KEY = "memory"
MAX_IMPROVEMENTS = 8  # per run: the largest gains
MAX_FAILURES = 4  # per run: failures to compute correctly first
# Failures that say something about an idea; an infrastructure failure (none today) would not.
_WORTH_AVOIDING = ("incorrect", "compile_error", "runtime_error", "timeout", "rejected")

EventSink = Callable[[str, dict], None]


@dataclass
class RunMemory:
    """The memory as one run sees it: the recorded pool, and how plan prompts choose from it."""

    enabled: bool
    path: Path | None
    pool: list[MemoryEntry] = field(default_factory=list)
    query: Query = field(default_factory=lambda: Query(family=""))
    budget_tokens: int = 0
    max_entries: int = 0
    note: str = ""

    def section(self, parent: Node) -> str:
        """The plan prompt's "Experience from earlier runs" section for planning from ``parent`` ('' if none)."""
        if not self.pool or self.max_entries <= 0 or self.budget_tokens <= 0:
            return ""
        summary = parent.outcome.profile_summary if parent.outcome is not None else None
        query = Query(family=self.query.family, tags=self.query.tags, target=self.query.target,
                      dialect=self.query.dialect, run_id=self.query.run_id, bottleneck=bottleneck_of(summary))
        return render(choose(self.pool, query, budget_tokens=self.budget_tokens, max_entries=self.max_entries))


def memory_path(config: Any, env: Any = None) -> Path | None:
    """The memory file a run with ``config`` uses, or None when the memory is off."""
    if not config.memory.enabled:
        return None
    return resolve_path(config.memory.path, env)


def problem_query(problem: Any, target: str, run_id: str, baseline: Node | None) -> Query:
    spec = problem.spec
    summary = baseline.outcome.profile_summary if baseline is not None and baseline.outcome is not None else None
    return Query(family=spec.family_name, tags=tuple(spec.tags), target=target, dialect=spec.dialect, run_id=run_id,
                 bottleneck=bottleneck_of(summary))


def load_run_memory(*, decisions: Any, store: Any, config: Any, problem: Any, target: str, baseline: Node | None,
                    env: Any = None, on_event: EventSink | None = None) -> RunMemory:
    """The pool this run's plan prompts choose from: the recorded one, or taken from the memory now and recorded
    before any plan is asked for."""
    query = problem_query(problem, target, store.root.name, baseline)
    recorded = decisions.recall(DECISION_KEY)
    if recorded is None:
        recorded = decisions.record(0, DECISION_KEY, "memory",
                                    _take_pool(store, config, query, env, on_event))
    pool = [MemoryEntry.model_validate(e) for e in recorded.get("entries") or []]
    path = recorded.get("path")
    return RunMemory(enabled=bool(recorded.get("enabled")), path=Path(path) if path else None, pool=pool,
                     query=query, budget_tokens=config.memory.budget_tokens, max_entries=config.memory.max_entries,
                     note=str(recorded.get("note") or ""))


def _take_pool(store: Any, config: Any, query: Query, env: Any, on_event: EventSink | None) -> dict:
    if any(d.kind == "plans" for d in store.decisions()):
        # A run started before it had a memory: its earlier prompts showed none, and later ones must match.
        return {"enabled": False, "path": None, "entries": [], "note": "the run started without a memory"}
    path = memory_path(config, env)
    if path is None:
        return {"enabled": False, "path": None, "entries": [], "note": "memory off"}
    try:
        pool = candidate_pool(MemoryStore(path).entries(), query)
    except MemoryStoreError as e:
        _notice(store, on_event, f"experience memory not used: {e}")
        return {"enabled": False, "path": str(path), "entries": [], "note": str(e)}
    store.event("memory", path=str(path), entries=[e.id for e in pool])
    return {"enabled": True, "path": str(path), "note": "",
            "entries": [e.model_dump(mode="json") for e in pool]}


def _notice(store: Any, on_event: EventSink | None, message: str) -> None:
    store.event("notice", message=message)
    if on_event is not None:
        on_event("notice", {"message": message})


# --------------------------------------------------------------------------- recording
def compact_diff(before: str, after: str) -> str:
    """The change as a unified diff with one line of context and no file headers (capped by MemoryEntry)."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++")))


def _base(node: Node, by_id: dict[int, Node]) -> Node | None:
    """The nearest correct kernel ``node`` descends from (a repair's parent is the kernel it fixed)."""
    seen = {node.id}
    current = by_id.get(node.parent_id) if node.parent_id is not None else None
    while current is not None and current.id not in seen:
        if current.correct:
            return current
        seen.add(current.id)
        current = by_id.get(current.parent_id) if current.parent_id is not None else None
    return None


def improvements(nodes: Iterable[Node], *, min_gain: float, hw_margin: float,
                 exclude: Iterable[int] = ()) -> list[tuple[Node, Node, float]]:
    """(candidate, what it improved on, gain) for every accepted improvement, largest gains first."""
    nodes = sorted(nodes, key=lambda n: n.id)
    by_id = {n.id: n for n in nodes}
    skip = set(exclude)
    found = []
    for node in nodes:
        if node.origin == BASELINE or not node.correct or node.id in skip:
            continue
        base = _base(node, by_id)
        if base is None or base.evidence != node.evidence:
            continue
        gain = base.latency_us / node.latency_us
        if gain > 1 + min_gain + (hw_margin if node.evidence == "hw" else 0.0):
            found.append((node, base, gain))
    found.sort(key=lambda t: (-t[2], t[0].id))
    return found[:MAX_IMPROVEMENTS]


def failures(nodes: Iterable[Node]) -> list[tuple[Node, Node, str]]:
    """(last attempt, the kernel it was planned from, why) for plans that never paid off, failures to compute
    correctly first. Knob moves are not plans and are left out."""
    nodes = sorted(nodes, key=lambda n: n.id)
    by_id = {n.id: n for n in nodes}
    groups: dict[tuple[int, str], list[Node]] = {}
    for node in nodes:
        if node.origin in (BASELINE, KNOB) or not node.plan or node.outcome is None:
            continue
        base = _base(node, by_id)
        if base is not None:
            groups.setdefault((base.id, node.plan.strip()), []).append(node)
    found = []
    for (base_id, _), tries in groups.items():
        base = by_id[base_id]
        correct = [n for n in tries if n.correct]
        if correct:
            best = min(correct, key=lambda n: n.latency_us)
            if best.latency_us < base.latency_us:
                continue
            found.append((1, best, base, f"correct but {base.latency_us / best.latency_us:.2f}x its parent's speed"))
        elif tries[-1].outcome.status in _WORTH_AVOIDING:
            found.append((0, tries[-1], base, tries[-1].outcome.short()))
    found.sort(key=lambda t: (t[0], t[1].id))
    return [(node, base, why) for _, node, base, why in found[:MAX_FAILURES]]


def run_entries(nodes: Sequence[Node], *, problem: Any, target: str, run_id: str, min_gain: float,
                hw_margin: float, exclude: Iterable[int] = (), now: float | None = None) -> list[MemoryEntry]:
    """What a finished run leaves in the memory."""
    spec = problem.spec
    now = time.time() if now is None else now
    common = {"problem": spec.name, "family": spec.family_name, "tags": list(spec.tags), "target": target,
              "dialect": spec.dialect, "run_id": run_id, "created": now}
    out = []
    for node, base, gain in improvements(nodes, min_gain=min_gain, hw_margin=hw_margin, exclude=exclude):
        out.append(MemoryEntry(
            key=f"{run_id}#{node.id}", kind=IMPROVEMENT, evidence=node.evidence,
            idea=hist.plan_title(node.plan) or node.origin, plan=node.plan or f"{node.origin} change",
            change=compact_diff(base.source, node.source), gain=round(gain, 4), latency_us=node.latency_us,
            parent_latency_us=base.latency_us, bottleneck=bottleneck_of(base.outcome.profile_summary),
            candidate_id=node.id, parent_id=base.id, **common))
    for node, base, why in failures(nodes):
        out.append(MemoryEntry(
            key=f"{run_id}#{node.id}", kind=FAILURE, evidence=node.evidence if node.outcome else base.evidence,
            idea=hist.plan_title(node.plan), plan=node.plan or "", outcome=why,
            latency_us=node.latency_us, parent_latency_us=base.latency_us,
            bottleneck=bottleneck_of(base.outcome.profile_summary), candidate_id=node.id, parent_id=base.id,
            **common))
    return out


def record_run(memory: RunMemory, entries: Sequence[MemoryEntry], store: Any,
               on_event: EventSink | None = None) -> int:
    """Add a finished run's entries to the memory file it used; returns how many were new. A memory that
    cannot be written costs the run nothing but a notice."""
    if memory.path is None or not memory.enabled or not entries:
        return 0
    try:
        added = MemoryStore(memory.path).add(entries)
    except MemoryStoreError as e:
        _notice(store, on_event, f"experience memory not updated: {e}")
        return 0
    store.event("memory_recorded", path=str(memory.path), entries=[e.key for e in added])
    return len(added)
