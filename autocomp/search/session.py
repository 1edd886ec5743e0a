"""One run's candidates: create, deduplicate, evaluate in parallel, record.

Every proposal goes through :meth:`Session.submit`. A kernel whose normalized
source was seen before is never stored or evaluated again (it resolves to the
first one); a proposal whose *slot* (the deterministic position that produced
it: iteration, parent, plan, sample) already has a candidate reuses it, which
is how a resumed run walks back over its interrupted iteration for free.
Evaluations run on a thread pool and each is committed to the run store as it
finishes, so a crash loses only evaluations that were still running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from autocomp.evaluate.result import EvalResult
from autocomp.search.decisions import DecisionLog
from autocomp.search.node import BASELINE, Node
from autocomp.search.outcome import Outcome, eval_result
from autocomp.sources import source_hash
from autocomp.store import DuplicateEvaluationError, RunStore
from autocomp.store.profiles import result_record

EventSink = Callable[[str, dict], None]


class EvaluatorLike(Protocol):
    """What the search needs from an evaluator (``autocomp.evaluate.Evaluator`` or a test fake)."""

    def evaluate(self, problem: Any, source: str) -> EvalResult | Mapping[str, Any]:
        """The verdict on ``source``: an ``EvalResult``, or its JSON."""


@dataclass(frozen=True)
class Submitted:
    """The candidate a proposal resolved to; ``duplicate`` when it was an earlier kernel again."""

    node: Node
    duplicate: bool = False


class Cancelled(Exception):
    """The run is stopping; no new work is started."""


class Session:
    """Candidates of one run, shared by the proposers and the beam loop. Thread-safe."""

    def __init__(self, problem: Any, store: RunStore, evaluator: EvaluatorLike, *, workers: int = 2,
                 on_event: EventSink | None = None, max_queued: int | None = None):
        self.problem = problem
        self.store = store
        self.evaluator = evaluator
        self.on_event = on_event or (lambda kind, data: None)
        self.nodes: dict[int, Node] = {}
        self._by_hash: dict[str, Node] = {}
        self._by_slot: dict[str, Node] = {}
        self._futures: dict[int, Future] = {}
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="autocomp-eval")
        # Proposers block when this many evaluations are queued, so generation never runs far ahead.
        self._queue_slots = threading.BoundedSemaphore(max_queued or max(2, 2 * workers))
        self._cancel = threading.Event()
        self.evaluations = 0
        self.duplicates = 0
        self.reused = 0
        self.decisions = DecisionLog(store)

    # ------------------------------------------------------------------ loading
    def load_existing(self) -> None:
        """Adopt every candidate and search evaluation already in the store (resume)."""
        evaluated = {e.candidate_id: e for e in self.store.evaluations(purpose="search")}
        measured = {e.candidate_id: e for e in self.store.evaluations(purpose="hw")}  # two-tier runs
        for cand in self.store.candidates():
            node = Node(id=cand.id, source=self.store.source(cand.id), iteration=cand.iteration, origin=cand.origin,
                        parent_id=cand.parent_id, plan=cand.plan, meta=dict(cand.meta), source_hash=cand.source_hash)
            ev = evaluated.get(cand.id)
            if ev is not None:
                node.outcome = Outcome.from_result(ev.eval_result)
            if cand.id in measured:
                node.hw_outcome = Outcome.from_result(measured[cand.id].eval_result)
            self._register(node)
            # A run written while the hash meant something else keeps its stored names (slots and lineage
            # groups are built from them, so the resumed run finds its decisions again); its kernels are also
            # found by the hash their sources have now, so one proposed again is still a duplicate.
            self._by_hash.setdefault(source_hash(node.source), node)

    def _register(self, node: Node) -> None:
        self.nodes[node.id] = node
        self._by_hash.setdefault(node.source_hash, node)
        slot = node.meta.get("slot")
        if slot:
            self._by_slot.setdefault(str(slot), node)

    # ------------------------------------------------------------------ queries
    @property
    def baseline(self) -> Node | None:
        return next((n for n in self.nodes.values() if n.origin == BASELINE), None)

    def node(self, node_id: int) -> Node:
        return self.nodes[node_id]

    def all_nodes(self) -> list[Node]:
        with self._lock:
            return list(self.nodes.values())

    def by_slot(self, slot: str) -> Node | None:
        with self._lock:
            return self._by_slot.get(slot)

    def seen(self, source: str) -> Node | None:
        with self._lock:
            return self._by_hash.get(source_hash(source))

    def lineage(self, node: Node) -> list[Node]:
        """Root first, ``node`` last."""
        chain, seen = [], set()
        current: Node | None = node
        while current is not None and current.id not in seen:
            seen.add(current.id)
            chain.append(current)
            current = self.nodes.get(current.parent_id) if current.parent_id is not None else None
        return chain[::-1]

    def children(self, node: Node) -> list[Node]:
        with self._lock:
            return sorted((n for n in self.nodes.values() if n.parent_id == node.id), key=lambda n: n.id)

    # ------------------------------------------------------------------ submitting
    def cancel(self) -> None:
        """Stop starting evaluations; queued ones are dropped, running ones finish or die with the process."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def submit(self, source: str, *, origin: str, iteration: int, parent: Node | None = None,
               plan: str | None = None, prompt: Sequence[Mapping] | str | None = None, response: str | None = None,
               slot: str | None = None, meta: Mapping[str, Any] | None = None,
               llm_call_id: int | None = None) -> Future:
        """Store and evaluate ``source`` unless it (or its slot) is known; returns a Future of :class:`Submitted`."""
        if self.cancelled:
            raise Cancelled()
        digest = source_hash(source)
        # Taken before the lock: a proposer waits here while too many evaluations are queued.
        self._queue_slots.acquire()
        holder = _SlotHolder(self._queue_slots)
        try:
            with self._lock:
                existing = self._by_slot.get(slot) if slot else None
                if existing is not None:
                    self.reused += 1
                    return self._future_for(existing, duplicate=False, holder=holder)
                existing = self._by_hash.get(digest)
                if existing is not None:
                    self.duplicates += 1
                    data = {"of": existing.id, "origin": origin, "iteration": iteration, "slot": slot,
                            "parent": parent.id if parent else None}
                    self.store.event("duplicate", **data)
                    if slot and self.decisions.known(slot):
                        self.decisions.link(slot, existing.id)
                    self.on_event("duplicate", data)
                    return self._future_for(existing, duplicate=True, holder=holder)
                full_meta = dict(meta or {})
                if slot:
                    full_meta["slot"] = slot
                if parent is not None:
                    full_meta.setdefault("parent_hash", parent.source_hash)
                cand_id = self.store.add_candidate(source, origin=origin, iteration=iteration,
                                                   parent_id=parent.id if parent else None, plan=plan,
                                                   prompt=prompt, response=response, llm_call_id=llm_call_id,
                                                   meta=full_meta)
                node = Node(id=cand_id, source=source, iteration=iteration, origin=origin,
                            parent_id=parent.id if parent else None, plan=plan, meta=full_meta, source_hash=digest)
                self._register(node)
                self.on_event("candidate", {"id": cand_id, "origin": origin, "iteration": iteration})
                return self._future_for(node, duplicate=False, holder=holder)
        finally:
            holder.release()

    def evaluate_pending(self) -> list[Future]:
        """Start evaluating every stored candidate that has no committed evaluation (after a crash)."""
        futures = []
        for node in sorted(self.all_nodes(), key=lambda n: n.id):
            if not node.evaluated and node.id not in self._futures:
                self._queue_slots.acquire()
                holder = _SlotHolder(self._queue_slots)
                try:
                    with self._lock:
                        futures.append(self._future_for(node, duplicate=False, holder=holder))
                finally:
                    holder.release()
        return futures

    def _future_for(self, node: Node, *, duplicate: bool, holder: _SlotHolder) -> Future:
        """A future resolving when ``node`` is evaluated (starting its evaluation if nobody has)."""
        if node.evaluated:
            done: Future = Future()
            done.set_result(Submitted(node, duplicate))
            return done
        inner = self._futures.get(node.id)
        if inner is None:
            inner = self._start(node, holder.take())
        if not duplicate:
            return inner
        outer: Future = Future()
        inner.add_done_callback(lambda f: _relay(f, outer, duplicate=True))
        return outer

    def _start(self, node: Node, slot: threading.BoundedSemaphore) -> Future:
        fut: Future = Future()
        self._futures[node.id] = fut

        def run() -> None:
            try:
                if self.cancelled:
                    raise Cancelled()
                self._evaluate(node)
                fut.set_result(Submitted(node, False))
            except BaseException as e:  # noqa: BLE001 - delivered to whoever waits on the future
                fut.set_exception(e)
            finally:
                slot.release()

        self._pool.submit(run)
        return fut

    def _evaluate(self, node: Node) -> None:
        start = time.monotonic()
        try:
            result = eval_result(self.evaluator.evaluate(self.problem, node.source))
        except Exception as e:  # the evaluator itself broke (or answered no EvalResult): not a verdict, not committed
            node.outcome = Outcome(status="runtime_error", reason=f"evaluation failed: {type(e).__name__}: {e}")
            data = {"id": node.id, "error": f"{type(e).__name__}: {e}"}
            self.store.event("evaluator_error", **data)
            self.on_event("evaluator_error", data)
            return
        outcome = Outcome.from_result(result)
        try:
            kernel = getattr(getattr(self.problem, "spec", None), "function", "")
            self.store.record_evaluation(node.id, result, profile=result_record(result, kernel=kernel))
        except DuplicateEvaluationError:
            pass  # committed by an earlier process just before it died; the stored one stands
        node.outcome = outcome
        with self._lock:
            self.evaluations += 1
        self.on_event("evaluated", {"id": node.id, "status": outcome.status, "latency_us": outcome.latency_us,
                                    "origin": node.origin, "iteration": node.iteration,
                                    "seconds": time.monotonic() - start, "cached": outcome.cached})

    def close(self, *, wait: bool = True) -> None:
        """Shut the pool down; without ``wait``, queued evaluations are dropped and running ones left to finish."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def running(self) -> int:
        """Evaluations started but not finished."""
        with self._lock:
            return sum(1 for f in self._futures.values() if not f.done())


class _SlotHolder:
    """One acquired queue slot, handed to the evaluation that uses it or released when none does."""

    def __init__(self, sem: threading.BoundedSemaphore):
        self._sem: threading.BoundedSemaphore | None = sem

    def take(self) -> threading.BoundedSemaphore:
        sem, self._sem = self._sem, None
        assert sem is not None
        return sem

    def release(self) -> None:
        if self._sem is not None:
            self._sem.release()
            self._sem = None


def _relay(src: Future, dst: Future, *, duplicate: bool) -> None:
    exc = src.exception()
    if exc is not None:
        dst.set_exception(exc)
    else:
        dst.set_result(Submitted(src.result().node, duplicate))
