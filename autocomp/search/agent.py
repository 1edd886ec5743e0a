"""The LLM agent: plan, implement, repair.

For every beam member the agent asks for ``plans`` short plans (each seeing a
different random slice of the optimization menu), turns each plan into
``impls`` full kernels, and gives a kernel that fails to compile, crashes or
computes the wrong numbers up to ``repairs`` attempts that see the exact error,
its line and, for wrong numbers, how wrong they were.

The plans for one beam member are asked one after the other: plan k's prompt shows
plans 1..k-1 (the recorded ones on resume), so siblings do not repeat one idea.
Plans of different beam members are asked in parallel. The history a plan sees
covers its lineage and the same ideas on other branches (autocomp.search.history).

LLM calls run on a thread pool and evaluations on the session's, so one plan's
kernels are evaluated while other answers are still being written; but one
thread decides. It takes the answers and submits the kernels in a fixed order
(plan by plan, sample by sample, then repair round by repair round), never in
the order calls happen to finish. Candidate ids, which of two identical kernels
is the original, and so the lineages and the prompts that show them, are the
same in every run with the same seed and the same answers. Each answer is
recorded as a decision before its kernel is evaluated
(:mod:`autocomp.search.decisions`), and a resumed run replays it instead of
asking again. Prompts of iteration ``t`` only show results of iterations before ``t``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from autocomp.llm import BudgetExceeded, LLMError, LLMService, ManualResponseTimeout
from autocomp.llm.manual import prompt_context
from autocomp.llm.types import Completion, Message
from autocomp.search import history as hist
from autocomp.search.config import SearchConfig
from autocomp.search.experience import RunMemory
from autocomp.search.extract import ExtractionError, extract_kernel, extract_plan
from autocomp.search.node import LLM, REPAIR, Node
from autocomp.search.prompts import PromptLibrary, PromptRenderer, sample_menu, stable_seed
from autocomp.search.session import Cancelled, Session

EventSink = Callable[[str, dict], None]


class AnswerPending(KeyboardInterrupt):
    """A manual prompt went unanswered: the run stops as if interrupted, and ``--resume`` waits on the same prompt."""


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
class _Job:
    """One answer the deciding thread will take: on record already, being asked on the pool, or never asked."""

    key: str
    data: dict | None = None  # the recorded (or otherwise known) answer
    record: bool = False  # known, but not yet on record: record it when taken
    future: Future | None = None
    text: str | None = None  # the whole answer, when it was asked in this process


@dataclass
class _Chain:
    """One implementation slot and its repairs: where it stands after each answer."""

    key: str
    parent: Node  # the beam member the plan was made for
    plan: str
    node: Node | None = None  # the latest kernel submitted for this slot
    duplicate: bool = False  # ... was an earlier kernel again: its repairs belong to the first
    error: str = ""  # why the latest answer had no kernel
    future: Future | None = None
    finished: bool = False
    job: _Job | None = None  # the implementation answer, until it is taken
    messages: list[Message] | None = None

    def settle(self) -> None:
        """Wait for the latest submitted kernel's evaluation."""
        if self.future is not None:
            submitted, self.future = self.future.result(), None
            self.node, self.duplicate = submitted.node, submitted.duplicate


class LLMAgent:
    """Proposer backed by an LLM. See the module docstring."""

    name = "llm"

    def __init__(self, llm: LLMService, library: PromptLibrary, renderer: PromptRenderer, config: SearchConfig,
                 *, recorder: CallRecorder | None = None, on_event: EventSink | None = None,
                 memory: RunMemory | None = None):
        self.llm = llm
        self.memory = memory  # the experience memory's pool for this run (None: no memory section)
        self.library = library
        self.renderer = renderer
        self.config = config
        self.recorder = recorder
        self.on_event = on_event or (lambda kind, data: None)
        self._exhausted: str | None = None
        # The budget's first refusal in full (spent and cap figures), for the run's result.
        self.refusal: str | None = None
        self._stop = threading.Event()
        self.failures = 0

    @property
    def exhausted(self) -> str | None:
        return self._exhausted

    @property
    def limits(self) -> list:
        """What running dry depends on: a resumed run with a raised budget must not replay the old end."""
        budget = getattr(self.llm, "budget", None)
        return [getattr(budget, name, None) for name in ("max_usd", "max_llm_calls", "max_tokens")]

    @property
    def concurrency(self) -> int:
        """LLM calls in flight. One when a person answers (the manual provider): prompts then appear one at a time
        in the order the search takes the answers, so their numbering is the same in every run."""
        if set(getattr(self.llm, "clients", None) or ()) == {"manual"}:
            return 1
        return self.config.llm.concurrency

    # ------------------------------------------------------------------ one iteration
    def expand(self, iteration: int, beam: Sequence[Node], session: Session) -> None:
        self._stop.clear()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="autocomp-llm")
        try:
            self._expand(iteration, beam, session, pool)
        except Cancelled:  # the run is stopping; the beam loop sees the session cancelled
            self._stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            return
        except BaseException:
            # Ctrl-C: running calls finish in the background; nothing new starts.
            self._stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _expand(self, iteration: int, beam: Sequence[Node], session: Session, pool: ThreadPoolExecutor) -> None:
        cfg = self.config
        requests = self._plan_requests(iteration, beam, session)
        plan_jobs: list[_Job] = []
        earlier: dict[int, list[_Job]] = {}  # per beam member, its plans so far (plan k waits for 1..k-1)
        for req in requests:
            before = list(earlier.get(req["parent"], []))
            job = self._start(session, req["key"], lambda req=req, before=before: pool.submit(
                self._ask_plan_after, before, req, iteration, session))
            earlier.setdefault(req["parent"], []).append(job)
            plan_jobs.append(job)
        chains: list[_Chain] = []
        for req, job in zip(requests, plan_jobs):
            parent = session.node(req["parent"])
            answer = self._take(job, iteration, "plan", parent, session)
            plan = answer.get("plan") if answer else None
            if not plan:
                continue
            messages = self.renderer.implement(parent, plan)
            for k in range(cfg.search.impls):
                chain = _Chain(f"{req['key']}:i{k}", parent, plan, messages=messages)
                where = {"phase": "implement", "iteration": iteration, "parent": parent.id, "slot": chain.key,
                         "plan": f"{req['j'] + 1} of {cfg.search.plans}", "sample": f"{k + 1} of {cfg.search.impls}"}
                chain.job = self._start(session, chain.key, lambda m=messages, k=k, p=parent, w=where: pool.submit(
                    self._ask_kernel, m, "implement", k, cfg.llm.impl_temperature, p.source, w))
                chains.append(chain)
        for chain in chains:
            self._submit(chain, chain.job, chain.messages, iteration, LLM, session)
        for r in range(cfg.search.repairs):
            asked: list[tuple[_Chain, _Job, list[Message], str]] = []
            for chain in chains:  # start this round's repairs as the kernels they fix finish evaluating
                if chain.finished:
                    continue
                chain.settle()
                if chain.duplicate or (chain.node is not None and chain.node.correct):
                    chain.finished = True
                    continue
                messages = self._repair_messages(chain)
                key = f"{chain.key}:r{r}"
                where = {"phase": "repair", "iteration": iteration, "parent": chain.parent.id, "slot": key,
                         "candidate": chain.node.id if chain.node is not None else "none (the answer had no kernel)",
                         "round": f"{r + 1} of {cfg.search.repairs}"}
                job = self._start(session, key, lambda m=messages, r=r, p=chain.parent, w=where: pool.submit(
                    self._ask_kernel, m, "repair", r, cfg.llm.repair_temperature, p.source, w))
                asked.append((chain, job, messages, key))
            for chain, job, messages, key in asked:
                self._submit(chain, job, messages, iteration, REPAIR, session, key=key)
        for chain in chains:
            chain.settle()

    # ------------------------------------------------------------------ plans
    def _plan_requests(self, iteration: int, beam: Sequence[Node], session: Session) -> list[dict]:
        """The plans this iteration asks for, with each one's menu sample; recorded before any is asked."""
        key = f"{iteration}:llm:plans"
        recorded = session.decisions.recall(key)
        if recorded is not None:
            return [req for req in recorded["plans"] if req["parent"] in session.nodes]
        requests = []
        for parent in beam:
            for j in range(self.config.search.plans):
                seed = stable_seed(self.config.seed, iteration, parent.source_hash, j)
                menu = sample_menu(self.library.menu, random.Random(seed), dropout=self.config.llm.menu_dropout,
                                   tags=self.renderer.brief.tags)
                requests.append({"key": self._slot(iteration, parent, j), "parent": parent.id, "j": j,
                                 "menu": [item.id for item in menu], "menu_seed": seed})
        session.decisions.record(iteration, key, "plans", {"plans": requests})
        return requests

    def _plan_messages(self, req: dict, iteration: int, session: Session,
                       siblings: Sequence[str] = ()) -> list[Message]:
        parent = session.node(req["parent"])
        by_id = {item.id: item for item in self.library.menu}
        menu = [by_id[i] for i in req["menu"] if i in by_id]
        return self.renderer.plan(parent, history=self.history(parent, iteration, session, offered=req["menu"]),
                                  menu=menu, number=req["j"] + 1, count=self.config.search.plans, siblings=siblings,
                                  memory=self.memory.section(parent) if self.memory is not None else "")

    def _ask_plan_after(self, before: Sequence[_Job], req: dict, iteration: int,
                        session: Session) -> tuple[dict, str]:
        """Ask for one plan once the plans before it for the same beam member are known (runs on the pool)."""
        siblings = [plan for plan in (_plan_of(job) for job in before) if plan]
        if self._stop.is_set():
            raise CancelledError()
        where = {"phase": "plan", "iteration": iteration, "parent": req["parent"], "slot": req["key"],
                 "plan": f"{req['j'] + 1} of {self.config.search.plans}"}
        return self._ask_plan(self._plan_messages(req, iteration, session, siblings), req["j"], where)

    def history(self, parent: Node, iteration: int, session: Session, *,
                offered: Sequence[str] = ()) -> list[str]:
        """What was tried before ``iteration``: from ``parent``'s lineage (oldest first), then the same ideas on
        other branches, grouped by idea (those tried on this lineage or ``offered`` on the menu first)."""
        limit = self.config.llm.history_limit
        if not limit:
            return []
        menu_ids = {item.id for item in self.library.menu}
        nodes = session.all_nodes()
        by_id = {n.id: n for n in nodes}
        children: dict[int, list[Node]] = {}
        for n in sorted(nodes, key=lambda n: n.id):
            if n.parent_id is not None:
                children.setdefault(n.parent_id, []).append(n)
        lineage = session.lineage(parent)
        own = hist.lineage_lines(lineage, children, iteration, menu_ids)[-limit:]
        here = {c.id for a in lineage for c in children.get(a.id, [])} | {a.id for a in lineage}
        mine = {hist.idea_of(c.plan, menu_ids) for a in lineage for c in children.get(a.id, []) if c.plan}
        others = [a for a in hist.attempts(nodes, by_id, iteration, menu_ids) if a.child.id not in here]
        elsewhere = hist.elsewhere_lines(others, first=mine | set(offered), menu_ids=menu_ids,
                                         limit=max(3, limit // 2))
        lines = []
        if own:
            lines += ["From this kernel and its ancestors (oldest first):"] + own
        if elsewhere:
            lines += ["On other branches of this run, by idea:"] + elsewhere
        return lines

    # ------------------------------------------------------------------ kernels
    def _repair_messages(self, chain: _Chain) -> list[Message]:
        node = chain.node
        if node is not None:
            code, status = node.source, node.outcome.status
            reason, report = node.outcome.reason, node.outcome.error_report
        else:  # the answer had no usable kernel: start again from the parent
            code = chain.parent.source
            status, reason, report = "no_kernel", f"your previous answer: {chain.error}", ""
        return self.renderer.repair(code, status=status, reason=reason, error_report=report, plan=chain.plan)

    def _submit(self, chain: _Chain, job: _Job, messages: list[Message], iteration: int, origin: str,
                session: Session, *, key: str | None = None) -> None:
        """Take one kernel answer and submit its kernel for evaluation (not waiting for the verdict)."""
        key = key or chain.key
        parent = chain.node if origin == REPAIR and chain.node is not None else chain.parent
        answer = self._take(job, iteration, "implement" if origin == LLM else "repair", parent, session)
        if answer is None:  # the call failed or was never made: this slot ends here
            chain.finished = True
            return
        source = answer.get("source")
        if source is None:
            chain.error, chain.duplicate = answer.get("error") or "no kernel in the answer", False
            return
        response = job.text
        if response is None and session.by_slot(key) is None:
            response = self._response_text(answer, session)
        chain.future = session.submit(
            source, origin=origin, iteration=iteration, parent=parent, plan=chain.plan, prompt=messages,
            response=response, slot=key, llm_call_id=answer.get("llm_call"),
            meta={"beam_parent": chain.parent.source_hash})

    # ------------------------------------------------------------------ answers
    def _start(self, session: Session, key: str, launch: Callable[[], Future]) -> _Job:
        """The answer for ``key``: the recorded one, or a call started now (none once the budget is spent)."""
        recorded = session.decisions.recall(key)
        if recorded is not None:
            return _Job(key, data=recorded)
        known = session.by_slot(key)
        if known is not None:  # a run from before decisions were recorded: its kernel is stored
            return _Job(key, data={"source": known.source, "error": None, "llm_call": None}, record=True)
        if self._exhausted or self._stop.is_set():
            return _Job(key)
        return _Job(key, future=launch())

    def _take(self, job: _Job, iteration: int, kind: str, parent: Node, session: Session) -> dict | None:
        """Wait for one answer and record it before anything acts on it; None when there is none."""
        if job.data is not None:
            if job.record:
                session.decisions.record(iteration, job.key, kind, job.data, parent_id=parent.id)
            return job.data
        if job.future is None:
            return None
        try:
            answer, text = job.future.result()
        except ManualResponseTimeout as e:  # nobody answered: stop here, resumable, instead of asking on
            raise AnswerPending(str(e)) from None
        except BudgetExceeded as e:
            if not self._exhausted:
                self._exhausted, self.refusal = f"LLM budget exhausted ({e.limit})", str(e)
                self.on_event("budget_exhausted", {"message": str(e)})
            return None
        except LLMError as e:
            self.failures += 1
            self.on_event("llm_error", {"error": f"{type(e).__name__}: {e}"})
            return None
        answer = session.decisions.record(iteration, job.key, kind, answer, parent_id=parent.id)
        if answer.get("error"):
            self.on_event("extract_failed", {"slot": job.key, "error": answer["error"]})
            session.store.event("extract_failed", slot=job.key, error=answer["error"], llm_call=answer.get("llm_call"))
        job.data, job.text = answer, text
        return answer

    def _response_text(self, answer: dict, session: Session) -> str | None:
        call = answer.get("llm_call")
        if call is None:
            return None
        try:
            return session.store.llm_exchange(call)[1]
        except Exception:  # the text is a courtesy copy for people; the kernel is what matters
            return None

    def _complete(self, messages: list[Message], *, phase: str, sample: int, temperature: float,
                  max_tokens: int, where: dict | None = None) -> tuple[Completion, int | None]:
        # ``where`` heads the manual provider's prompt files (phase, iteration, parent, candidate); no model sees it.
        with prompt_context(where or {"phase": phase}):
            completion = self.llm.complete(messages, phase=phase, sample_index=sample, temperature=temperature,
                                           max_tokens=max_tokens)
        return completion, self.recorder.take() if self.recorder else None

    # Run on the LLM pool: they call the model and read its answer, and touch no shared state.
    def _ask_plan(self, messages: list[Message], j: int, where: dict | None = None) -> tuple[dict, str]:
        llm = self.config.llm
        completion, call_id = self._complete(messages, phase="plan", sample=j, temperature=llm.plan_temperature,
                                             max_tokens=llm.plan_max_tokens, where=where)
        return {"plan": extract_plan(completion.text) or None, "llm_call": call_id, "sample": j}, completion.text

    def _ask_kernel(self, messages: list[Message], phase: str, sample: int, temperature: float,
                    reference: str, where: dict | None = None) -> tuple[dict, str]:
        completion, call_id = self._complete(messages, phase=phase, sample=sample, temperature=temperature,
                                             max_tokens=self.config.llm.impl_max_tokens, where=where)
        answer: dict[str, Any] = {"source": None, "error": None, "llm_call": call_id, "sample": sample}
        try:
            answer["source"] = extract_kernel(completion.text, self.renderer.brief.function,
                                              finish_reason=completion.finish_reason, reference=reference)
        except ExtractionError as e:
            answer["error"] = str(e)
        return answer, completion.text

    @staticmethod
    def _slot(iteration: int, parent: Node, j: int) -> str:
        return f"{iteration}:{parent.source_hash}:p{j}"


def _plan_of(job: _Job) -> str | None:
    """The plan text of an earlier plan job: recorded, or its answer once it comes (None when it failed)."""
    if job.data is not None:
        return job.data.get("plan")
    if job.future is None:
        return None
    try:
        answer, _ = job.future.result()
    except (BudgetExceeded, LLMError, CancelledError):  # that plan was never made
        return None
    return answer.get("plan")
