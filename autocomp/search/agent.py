"""The LLM agent: plan, implement, repair.

For every beam member the agent asks for ``plans`` short plans (each seeing a
different random slice of the optimization menu), turns each plan into
``impls`` full kernels, and gives a kernel that fails to compile, crashes or
computes the wrong numbers up to ``repairs`` attempts that see the exact error,
its line and, for wrong numbers, how wrong they were.

Calls run on a thread pool, so one plan's kernels are evaluated while other
plans are still being written. Prompts of iteration ``t`` only show results of
iterations before ``t``: the prompts, and so the cached answers, do not depend
on which thread finished first, and a resumed run replays them exactly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from autocomp.llm import BudgetExceeded, LLMError, LLMService
from autocomp.llm.types import Completion, Message
from autocomp.search.config import SearchConfig
from autocomp.search.extract import ExtractionError, extract_kernel, extract_plan
from autocomp.search.node import LLM, REPAIR, Node
from autocomp.search.prompts import PromptLibrary, PromptRenderer, sample_menu, stable_rng
from autocomp.search.session import Cancelled, Session

EventSink = Callable[[str, dict], None]


class CallRecorder:
    """``LLMService.on_call`` hook: commits each call to the run store and remembers its id per thread."""

    def __init__(self, store, on_event: EventSink | None = None):
        self.store = store
        self.on_event = on_event or (lambda kind, data: None)
        self._local = threading.local()

    def __call__(self, record) -> None:
        self._local.last_id = self.store.record_llm_call(record)
        comp = record.completion
        self.on_event("llm_call", {"phase": record.phase, "cost_usd": comp.cost_usd if comp else 0.0,
                                   "cache_hit": bool(comp and comp.cache_hit), "error": record.error_type})

    def take(self) -> int | None:
        last = getattr(self._local, "last_id", None)
        self._local.last_id = None
        return last


@dataclass
class _Attempt:
    """One kernel an implement or repair call produced (or failed to)."""

    slot: str
    messages: list[Message]
    text: str
    source: str | None
    error: ExtractionError | None
    call_id: int | None


class LLMAgent:
    """Proposer backed by an LLM. See the module docstring."""

    name = "llm"

    def __init__(self, llm: LLMService, library: PromptLibrary, renderer: PromptRenderer, config: SearchConfig,
                 *, recorder: CallRecorder | None = None, on_event: EventSink | None = None):
        self.llm = llm
        self.library = library
        self.renderer = renderer
        self.config = config
        self.recorder = recorder
        self.on_event = on_event or (lambda kind, data: None)
        self._exhausted: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.failures = 0

    @property
    def exhausted(self) -> str | None:
        return self._exhausted

    # ------------------------------------------------------------------ one iteration
    def expand(self, iteration: int, beam: Sequence[Node], session: Session) -> None:
        cfg = self.config
        self._stop.clear()
        pool = ThreadPoolExecutor(max_workers=cfg.llm_concurrency, thread_name_prefix="autocomp-llm")
        try:
            plan_jobs: dict[Future, tuple[Node, int]] = {}
            for parent in beam:
                for j in range(cfg.plans):
                    plan_jobs[pool.submit(self._plan, iteration, parent, j, session)] = (parent, j)
            impl_jobs: list[Future] = []
            pending = set(plan_jobs)
            while pending:
                done, pending = wait(pending, return_when="FIRST_COMPLETED")
                for fut in done:
                    plan = fut.result()
                    if plan is None:
                        continue
                    parent, j = plan_jobs[fut]
                    for k in range(cfg.impls):
                        impl_jobs.append(pool.submit(self._implement, iteration, parent, j, k, plan, session))
            for fut in impl_jobs:
                fut.result()
        except BaseException:
            # Ctrl-C: running calls finish in the background; nothing new starts.
            self._stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _guard(self, fn, *args):
        """Run one LLM step; budget, provider failures and cancellation end the step, not the run."""
        if self._exhausted or self._stop.is_set():
            return None
        try:
            return fn(*args)
        except BudgetExceeded as e:
            with self._lock:
                if not self._exhausted:
                    self._exhausted = f"LLM budget exhausted ({e.limit})"
                    self.on_event("budget_exhausted", {"message": str(e)})
            return None
        except Cancelled:
            return None
        except LLMError as e:
            with self._lock:
                self.failures += 1
            self.on_event("llm_error", {"error": f"{type(e).__name__}: {e}"})
            return None

    def _complete(self, messages: list[Message], *, phase: str, sample: int, temperature: float,
                  max_tokens: int) -> tuple[Completion, int | None]:
        completion = self.llm.complete(messages, phase=phase, sample_index=sample, temperature=temperature,
                                       max_tokens=max_tokens)
        return completion, self.recorder.take() if self.recorder else None

    # ------------------------------------------------------------------ plan
    def _plan(self, iteration: int, parent: Node, j: int, session: Session) -> str | None:
        return self._guard(self._plan_unguarded, iteration, parent, j, session)

    def _plan_unguarded(self, iteration: int, parent: Node, j: int, session: Session) -> str | None:
        slot = self._slot(iteration, parent, j)
        known = [session.by_slot(f"{slot}:i{k}") for k in range(self.config.impls)]
        if all(n is not None for n in known) and known and known[0].plan:
            return known[0].plan  # resumed: every kernel of this plan exists already
        rng = stable_rng(self.config.seed, iteration, parent.source_hash, j)
        menu = sample_menu(self.library.menu, rng, dropout=self.config.menu_dropout,
                           tags=self.renderer.brief.tags)
        messages = self.renderer.plan(parent, history=self.history(parent, iteration, session), menu=menu,
                                      number=j + 1, count=self.config.plans)
        completion, _ = self._complete(messages, phase="plan", sample=j, temperature=self.config.plan_temperature,
                                       max_tokens=self.config.plan_max_tokens)
        plan = extract_plan(completion.text)
        return plan or None

    def history(self, parent: Node, iteration: int, session: Session) -> list[str]:
        """What was tried from ``parent`` and its ancestors before ``iteration``, oldest first."""
        lines = []
        for ancestor in session.lineage(parent):
            for child in session.children(ancestor):
                if child.iteration >= iteration or not child.evaluated:
                    continue
                title = _first_line(child.plan) or child.origin
                result = child.outcome.short() if child.outcome else "not evaluated"
                if child.correct and ancestor.correct:
                    result += f", {ancestor.latency_us / child.latency_us:.2f}x vs its parent"
                lines.append(f"- from #{ancestor.id} ({child.origin}, iteration {child.iteration}): "
                             f"{title} -> #{child.id} {result}")
        limit = self.config.history_limit
        return lines[-limit:] if limit else []

    # ------------------------------------------------------------------ implement and repair
    def _implement(self, iteration: int, parent: Node, j: int, k: int, plan: str, session: Session) -> None:
        self._guard(self._implement_unguarded, iteration, parent, j, k, plan, session)

    def _implement_unguarded(self, iteration: int, parent: Node, j: int, k: int, plan: str,
                             session: Session) -> None:
        slot = f"{self._slot(iteration, parent, j)}:i{k}"
        attempt = self._attempt(slot, self.renderer.implement(parent, plan), phase="implement", sample=k,
                                temperature=self.config.impl_temperature, reference=parent.source, session=session)
        node, duplicate = self._submit(attempt, iteration, parent, plan, origin=LLM, session=session)
        for r in range(self.config.repairs):
            # A duplicate belongs to the job that made it first: repairing it again would pay twice.
            if duplicate or (node is not None and node.correct):
                return
            if node is not None:
                code, status = node.source, node.outcome.status
                reason, report = node.outcome.reason, node.outcome.error_report
            else:  # the answer had no usable kernel: start again from the parent
                code = parent.source
                status, reason, report = "no_kernel", f"your previous answer: {attempt.error}", ""
            messages = self.renderer.repair(code, status=status, reason=reason, error_report=report, plan=plan)
            attempt = self._attempt(f"{slot}:r{r}", messages, phase="repair", sample=r,
                                    temperature=self.config.repair_temperature, reference=parent.source,
                                    session=session)
            fixed, duplicate = self._submit(attempt, iteration, node or parent, plan, origin=REPAIR,
                                            session=session, beam_parent=parent)
            node = fixed if fixed is not None else node

    def _attempt(self, slot: str, messages: list[Message], *, phase: str, sample: int, temperature: float,
                 reference: str, session: Session) -> _Attempt:
        known = session.by_slot(slot)
        if known is not None:  # resumed: this call's kernel is stored already
            return _Attempt(slot, messages, "", known.source, None, None)
        completion, call_id = self._complete(messages, phase=phase, sample=sample, temperature=temperature,
                                             max_tokens=self.config.impl_max_tokens)
        try:
            source = extract_kernel(completion.text, self.renderer.brief.function,
                                    finish_reason=completion.finish_reason, reference=reference)
            return _Attempt(slot, messages, completion.text, source, None, call_id)
        except ExtractionError as e:
            self.on_event("extract_failed", {"slot": slot, "error": str(e)})
            session.store.event("extract_failed", slot=slot, error=str(e), llm_call=call_id)
            return _Attempt(slot, messages, completion.text, None, e, call_id)

    def _submit(self, attempt: _Attempt, iteration: int, parent: Node, plan: str, *, origin: str,
                session: Session, beam_parent: Node | None = None) -> tuple[Node | None, bool]:
        if attempt.source is None:
            return None, False
        lineage_root = beam_parent or parent
        submitted = session.submit(
            attempt.source, origin=origin, iteration=iteration, parent=parent, plan=plan,
            prompt=attempt.messages, response=attempt.text or None, slot=attempt.slot,
            llm_call_id=attempt.call_id, meta={"beam_parent": lineage_root.source_hash}).result()
        return submitted.node, submitted.duplicate

    @staticmethod
    def _slot(iteration: int, parent: Node, j: int) -> str:
        return f"{iteration}:{parent.source_hash}:p{j}"


def _first_line(text: str | None) -> str:
    if not text:
        return ""
    for line in text.splitlines():
        line = line.strip().lstrip("#*-0123456789. ").strip()
        if line:
            return line[:140]
    return ""
