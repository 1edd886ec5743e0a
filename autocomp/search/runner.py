"""One optimization run, start to finish: store, evaluator, agent, beam search, re-validation, result.

``run_optimization`` is what ``autocomp optimize`` and ``autocomp.optimize`` call.
The evaluator and the LLM service are injected for tests; by default they are
built from the configuration.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from autocomp.problem import Problem
from autocomp.search.agent import CallRecorder, LLMAgent
from autocomp.search.config import SearchConfig, nest
from autocomp.search.experience import RunMemory, load_run_memory, record_run, run_entries
from autocomp.search.hw_tier import HardwareTier
from autocomp.search.knob_tuner import KnobTuner
from autocomp.search.loop import SearchLoop, Stage
from autocomp.search.node import BASELINE, Node
from autocomp.search.outcome import Outcome, eval_result
from autocomp.search.prompts import ProblemBrief, PromptLibrary, PromptRenderer, stable_rng
from autocomp.search.selection import rank
from autocomp.search.session import EvaluatorLike, Session
from autocomp.search.strategy import create_strategy
from autocomp.store import RunStore
from autocomp.store.reader import HW

EventSink = Callable[[str, dict], None]
LLM_CACHE_NAME = "llm_cache.sqlite"
REVALIDATE = "revalidate"
# How many runners-up are re-validated when the fastest fails on fresh seeds.
MAX_REVALIDATIONS = 3


class SearchError(RuntimeError):
    """The run could not proceed (a broken baseline, a missing prompt file); the message says what to fix."""


class RunResult(BaseModel):
    """What a run produced. Every figure is reproducible from ``run_dir``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    run_id: str
    run_dir: Path
    problem: str
    agent: str
    status: str
    stop_reason: str
    iterations: int = 0
    evaluations: int = 0
    duplicates_skipped: int = 0
    llm_calls: int = 0
    llm_cost_usd: float = 0.0
    baseline_latency_us: float | None = None
    best_candidate: int | None = None
    best_latency_us: float | None = None
    speedup: float | None = None
    roofline_percent: float | None = None
    evidence: str | None = None
    revalidated: bool | None = None
    revalidation_note: str = ""
    # The backend the run evaluated with ("sim", "hw", "neuron"), and, when --backend auto chose it, why.
    backend: str | None = None
    backend_choice: str = ""
    best_kernel_path: Path | None = None
    best_source: str | None = Field(default=None, repr=False)
    # The cost model behind sim figures: the calibration label ("<file> sha256:<12 hex>"), None for the built-in.
    calibration: str | None = None
    # Whether the speedup is beyond the cost model's error (sim evidence; store/win.py): "certain win" or "needs
    # hardware confirmation" (or "certain loss"), with the 90% interval of the true speedup. None: no verdict
    # applies (hardware evidence, or the baseline is the best).
    win: str | None = None
    speedup_low: float | None = None
    speedup_high: float | None = None
    win_reason: str = ""


def llm_settings(config: SearchConfig, run_dir: Path, env: Mapping[str, str] | None = None):
    from autocomp.llm import LLMSettings

    return LLMSettings(models=config.resolved_models(env), seed=config.seed, base_url=config.llm.base_url,
                       cache_path=run_dir / LLM_CACHE_NAME, no_cache=config.no_llm_cache, max_usd=config.llm.max_usd,
                       max_llm_calls=config.llm.max_llm_calls, concurrency=config.llm.concurrency,
                       timeout_s=config.llm.timeout, prices=config.llm.prices, manual_dir=run_dir / "manual",
                       manual_timeout_s=config.llm.manual_timeout, manual_stdin=config.llm.manual_stdin)


def preflight_llm(config: SearchConfig, env: Mapping[str, str] | None = None) -> None:
    """Fail on a missing key or unknown provider before anything is created (builds clients, sends nothing)."""
    from autocomp.llm import create_client, parse_model_spec

    settings = llm_settings(config, Path("."), env).model_copy(update={"cache_path": None})
    for provider in sorted({parse_model_spec(m).provider for m in settings.models}):
        if provider != "manual":
            create_client(provider, settings, env=os.environ if env is None else env)


def run_executor(config: SearchConfig):
    """Where the run's sandboxed workers run (``[evaluation] executor``): None for this machine, else the executor
    (a Ray cluster's)."""
    from autocomp.evaluate.executors import create_executor

    ev = config.evaluation
    try:
        return create_executor(ev.executor, ray_address=ev.ray_address)
    except RuntimeError as e:  # Ray missing, or its cluster unreachable
        raise SearchError(str(e)) from None


def default_evaluator(config: SearchConfig, calibration: Any = None, *, backend: str | None = None,
                      executor: Any = None):
    """The run's evaluator; ``executor``: one the caller shares with another evaluator, else its own is made."""
    from autocomp.evaluate import Evaluator, EvaluatorError

    ev = config.evaluation
    if executor is None:
        executor = run_executor(config)
    try:
        return Evaluator(backend or ev.backend, workers=ev.workers, target=ev.target, timeout_s=ev.timeout_s,
                         isolation=ev.isolation, allow_unisolated=ev.allow_unisolated, calibration=calibration,
                         nki_version=ev.nki_version, executor=executor)
    except EvaluatorError as e:  # e.g. --isolation bwrap where bubblewrap is missing
        if executor is not None:
            executor.close()
        raise SearchError(str(e)) from None


def hardware_evaluator(config: SearchConfig, target: str, executor: Any = None):
    """The Evaluator on the NeuronCores (``--backend hw``): as many compile slots as ``workers`` plus one per
    core, so the CPU pool compiles the next candidates while every core runs one (docs/evaluation.md). With a
    Ray ``executor`` the compiles are cluster tasks and the cores are the cluster's: every device step is a task
    on a free NeuronCore of any node (docs/evaluation.md#running-evaluations-on-a-ray-cluster)."""
    from autocomp import targets
    from autocomp.evaluate import Evaluator, EvaluatorError
    from autocomp.evaluate.backends import get_backend
    from autocomp.evaluate.backends.sdk import SdkError
    from autocomp.evaluate.device_fleet import DeviceToolError

    ev = config.evaluation
    options = ev.hw_options()
    if ev.lnc is not None and not targets.get(target).has("logical_core_pairs"):
        raise SearchError(f"lnc = {ev.lnc}: {target} NeuronCores cannot be paired into logical cores; drop lnc")
    try:
        if executor is not None and callable(getattr(executor, "neuron_cores", None)):
            from autocomp.evaluate.executors.ray import NO_CORES

            cores = executor.neuron_cores()
            if cores < 1:
                raise SearchError(NO_CORES)
            backend = _cluster_hw_backend(options, executor)
        else:
            backend = get_backend("hw", **options)
            cores = len(backend.fleet().cores) if hasattr(backend, "fleet") else 1
        return Evaluator(backend, workers=ev.workers + cores, target=ev.target, timeout_s=ev.timeout_s,
                         isolation=ev.isolation, allow_unisolated=ev.allow_unisolated, executor=executor)
    except (SdkError, DeviceToolError, EvaluatorError) as e:
        raise SearchError(str(e)) from None


def _cluster_hw_backend(options: dict[str, Any], executor: Any):
    """The hw backend whose device steps go to the cluster's NeuronCores: this machine needs the SDK's packages
    (every result records their versions, and nodes must match them) but no NeuronCore and no neuron-ls."""
    from autocomp.evaluate.backends import get_backend
    from autocomp.evaluate.backends.hw import HwBackend
    from autocomp.evaluate.executors.devices import ClusterDevices

    backend = HwBackend(**options)
    backend.use_devices(ClusterDevices(executor))
    if backend.available()[0]:
        return backend
    return get_backend("hw", **options)  # an old SDK's legacy backend (its workers ask for cores), or the error


class Run:
    """The pieces of one run, built once; :meth:`execute` runs the search."""

    def __init__(self, problem: Problem, config: SearchConfig, store: RunStore, *,
                 evaluator: EvaluatorLike | None = None, llm: Any = None, on_event: EventSink | None = None,
                 env: Mapping[str, str] | None = None, calibration: Any = None, backend_choice: str = "",
                 announce_backend: bool = True):
        self.problem = problem
        self.config = config
        self.store = store
        self.env = os.environ if env is None else env
        self.on_event = on_event or (lambda kind, data: None)
        self.backend_choice = backend_choice
        store.profile_max_bytes = int(config.evaluation.hw_profile_max_mb * (1 << 20))
        if backend_choice and announce_backend:  # what --backend auto chose and why, before anything runs on it
            self.on_event("notice", {"message": backend_choice})
        # An injected LLM service counts as a configured provider for --agent auto.
        self.use_llm = config.llm_requested(self.env) or (llm is not None and config.agent == "auto")
        self._owns_evaluator = evaluator is None
        self.hw_evaluator = self.tier_pools = hw_tier = None
        if evaluator is None and config.evaluation.hardware:
            from autocomp.evaluate.executors import SharedExecutor

            target = config.evaluation.target or problem.spec.target
            two_tier = config.evaluation.two_tier
            executor = run_executor(config)  # one connection to a cluster for both tiers
            if executor is not None:
                executor = SharedExecutor(executor, 2 if two_tier else 1)
            try:
                measured = hardware_evaluator(config, target, executor=executor)
            except BaseException:
                if executor is not None:
                    executor.executor.close()  # nothing holds it yet
                raise
            if two_tier:
                try:
                    evaluator = default_evaluator(config, calibration, backend="sim", executor=executor)
                except BaseException:
                    measured.close()  # and its share (default_evaluator let go of its own)
                    raise
            if two_tier:  # sim triage first: search/hw_tier.py
                from autocomp.search.tier_pools import TierPools

                self.hw_evaluator = measured
                self.tier_pools = TierPools({"sim": evaluator, "hw": measured})
                hw_tier = HardwareTier(self.tier_pools, store, problem, top_k=config.evaluation.hw_top_k,
                                       hw_margin=config.search.hw_margin, on_event=self.on_event)
            else:
                evaluator = measured
        self.evaluator = evaluator if evaluator is not None else default_evaluator(config, calibration)
        self.hw_tier = hw_tier
        self._check_calibration(calibration)
        self._check_sandbox()
        self.session = Session(problem, store, self.evaluator, workers=config.evaluation.workers,
                               on_event=self.on_event)
        self.recorder = CallRecorder(store, self.on_event)
        self.llm = llm
        self._owns_llm = False
        if self.use_llm and self.llm is None:
            from autocomp.llm import build_service

            self.llm = build_service(llm_settings(config, store.root, self.env), on_call=self.recorder,
                                     env=self.env)
            self._owns_llm = True
        elif self.llm is not None and getattr(self.llm, "on_call", None) is None:
            self.llm.on_call = self.recorder
        self.memory: RunMemory | None = None  # taken after the baseline (execute)
        self.search = SearchLoop(self.session, create_strategy(config.search), hw_margin=config.search.hw_margin,
                                 min_gain=config.search.min_gain, on_event=self.on_event, hw_tier=hw_tier)

    def _check_calibration(self, calibration: Any) -> None:
        """A calibration must fit the run's target; say when the backend (hardware) does not use it."""
        if calibration is None:
            return
        applied = getattr(self.evaluator, "calibration", None)
        if applied is None:
            self.store.event("notice", message=f"calibration {calibration.label} not applied: the evaluator "
                                               "measures on hardware (or was supplied by the caller)")
            return
        target = self.config.evaluation.target or self.problem.spec.target
        made_for = applied.parse().target
        if made_for != target:
            if self._owns_evaluator and hasattr(self.evaluator, "close"):
                self.evaluator.close()
            raise SearchError(f"{applied.name}: a calibration for {made_for}, but this run is on {target}; pass a "
                              f"{target} calibration (autocomp calibrate ... --target {target}) or --target "
                              f"{made_for}")
        self.store.event("calibration", label=applied.label)

    def _check_sandbox(self) -> None:
        """Record which sandbox candidates run in; refuse an LLM run where there is none (unless allowed) before
        any LLM call is paid for. Knob-only runs evaluate the problem's own code (evaluate/trust.py)."""
        isolation = getattr(self.evaluator, "isolation", None)
        if isolation is not None:
            self.store.event("sandbox", isolation=isolation)
        require = getattr(self.evaluator, "require_isolation", None)
        if not self.use_llm or not callable(require):
            return
        from autocomp.evaluate import EvaluatorError

        try:
            require()
        except EvaluatorError as e:
            if self._owns_evaluator:
                self.evaluator.close()
            raise SearchError(str(e)) from None

    # ------------------------------------------------------------------ stages
    def stages(self) -> list[Stage]:
        cfg, search = self.config, self.config.search
        tuner = KnobTuner(self.problem.spec.knobs, batch=search.knob_batch, seed=cfg.seed,
                          constraints=self.problem.knob_constraints)
        if not self.use_llm:
            return [Stage("knobs", tuner, search.beam, search.iterations, search.early_stop)]
        brief = ProblemBrief.from_problem(self.problem, target=cfg.evaluation.target)
        base = self.session.baseline
        brief.baseline_latency_us = base.latency_us if base is not None else None
        library = PromptLibrary()
        agent = LLMAgent(self.llm, library, PromptRenderer(library, brief), cfg, recorder=self.recorder,
                         on_event=self.on_event, memory=self.memory)
        stages = [Stage("llm", agent, search.beam, search.iterations, search.early_stop)]
        if search.tune_after_llm and search.polish_iterations:
            stages.append(Stage("knobs", tuner, search.polish_beam, search.polish_iterations, search.polish_early_stop))
        return stages

    def _precharge_budget(self) -> None:
        """A resumed run's budget starts from what the run already spent."""
        budget = getattr(self.llm, "budget", None)
        if budget is None:
            return
        calls = [c for c in self.store.llm_calls() if not c.cache_hit and c.error_type is None]
        budget.calls = len(calls)
        budget.spent_usd = sum(c.cost_usd for c in calls)
        budget.tokens = sum(c.input_tokens + c.output_tokens for c in calls)

    # ------------------------------------------------------------------ running
    def execute(self) -> RunResult:
        self.session.load_existing()
        for fut in self.session.evaluate_pending():
            fut.result()
        self._precharge_budget()
        baseline = self._baseline()
        if not self.use_llm:
            self.on_event("notice", {"message": "no LLM configured: tuning knobs only. To let an LLM rewrite the "
                                                "kernel, pass --model provider:model or set ANTHROPIC_API_KEY / "
                                                "OPENAI_API_KEY."})
        self.on_event("baseline", {"id": baseline.id, "latency_us": baseline.latency_us})
        self.memory = load_run_memory(decisions=self.session.decisions, store=self.store, config=self.config,
                                      problem=self.problem, target=self.target, baseline=baseline, env=self.env,
                                      on_event=self.on_event)
        outcome = self.search.run(self.stages())
        if outcome.stop_reason == "interrupted":
            return self._result("interrupted", "interrupted")
        reasons = "; ".join(f"{k}: {v}" for k, v in outcome.stage_reasons.items())
        # The LLM budget's first refusal ended the LLM stage: the result says so, with the spent and cap figures.
        refusal = getattr(getattr(self.llm, "budget", None), "exhausted", None) if self.use_llm else None
        if refusal is None and self.use_llm:  # a resumed run replays where the budget ran out, without asking
            refusal = outcome.refusal
        if refusal is not None:
            reasons = f"{refusal} | {reasons}"
        note, winner, passed = self._revalidate()
        self._record_memory()
        self.store.set_status("finished", reasons)
        result = self._result("budget_exhausted" if refusal is not None else "finished", reasons, winner=winner,
                              note=note, revalidated=passed, iterations=outcome.iterations)
        # The run's verdict on its result, kept with it: which kernel, how fast, and whether the win is certain.
        self.store.event("result", candidate=result.best_candidate, speedup=result.speedup,
                         evidence=result.evidence, calibration=result.calibration, win=result.win,
                         speedup_low=result.speedup_low, speedup_high=result.speedup_high)
        return result

    def _backend_name(self) -> str | None:
        """The backend of record: the configured one, or an injected evaluator's."""
        if self._owns_evaluator:
            return self.config.evaluation.backend
        backend = getattr(self.evaluator, "backend", None)
        return getattr(backend, "name", None)

    @property
    def target(self) -> str:
        return self.config.evaluation.target or self.problem.spec.target

    def _record_memory(self) -> None:
        """Leave this run's accepted improvements (and failures worth avoiding) in the experience memory."""
        if self.memory is None or not self.config.memory.enabled:  # --no-memory on resume: record nothing
            return
        nodes = self.session.all_nodes()
        failed_revalidation = [n.id for n in nodes if (ev := self.store.evaluation(n.id, REVALIDATE)) is not None
                               and ev.eval_result.status != "correct"]
        entries = run_entries(nodes, problem=self.problem, target=self.target, run_id=self.store.root.name,
                              min_gain=self.config.search.min_gain, hw_margin=self.config.search.hw_margin,
                              exclude=failed_revalidation)
        record_run(self.memory, entries, self.store, self.on_event)

    def _baseline(self) -> Node:
        base = self.session.baseline
        if base is None:
            base = self.session.submit(self.problem.baseline_source, origin=BASELINE, iteration=0,
                                       slot="baseline", plan="the problem's own kernel").result().node
        if not base.correct:
            why = f"({base.outcome.status}): {base.outcome.reason}" if base.outcome else "(not evaluated)"
            raise SearchError(f"{self.problem.kernel_path}: the baseline kernel fails its own evaluation {why}; "
                              "check it with `autocomp eval` before optimizing")
        if self.hw_tier is not None and base.hw_outcome is None:
            failures = self.hw_tier.measure([(base, "the baseline")], iteration=0)
            if failures:
                raise SearchError(f"measuring the baseline on hardware failed: {failures[0]}")
            if not base.correct:
                record = base.of_record
                raise SearchError(f"{self.problem.kernel_path}: the baseline kernel fails on hardware "
                                  f"({record.status}): {record.reason}" if record else "the baseline was not measured")
        return base

    def _revalidate(self) -> tuple[str, Node | None, bool | None]:
        """Re-check the fastest candidates on fresh seeds until one passes: (note, winner, passed)."""
        ranked = rank(self.session.all_nodes(), iteration=10**9, hw_margin=self.config.search.hw_margin)
        if not ranked:
            return "no correct candidate", None, None
        if self.config.evaluation.revalidate_seeds == 0:
            return "re-validation skipped (revalidate_seeds = 0)", ranked[0], None
        rng = stable_rng(self.config.seed, "revalidate", self.problem.content_hash)
        used = set(self.problem.spec.seeds)
        seeds: list[int] = []
        while len(seeds) < self.config.evaluation.revalidate_seeds:
            s = rng.randrange(1000, 2**31 - 1)
            if s not in used and s not in seeds:
                seeds.append(s)
        failed = []
        for node in ranked[:MAX_REVALIDATIONS]:
            if node.origin == BASELINE:
                break
            stored = self.store.evaluation(node.id, REVALIDATE)
            if stored is not None:
                result = stored.eval_result
            else:
                self.on_event("revalidating", {"id": node.id, "seeds": seeds})
                # A hardware winner is re-checked on hardware: its correctness there is what is reported.
                checker = self.hw_evaluator if node.evidence == "hw" and self.hw_evaluator else self.evaluator
                result = eval_result(_evaluate_with_seeds(checker, self.problem, node.source, seeds))
                self.store.record_evaluation(node.id, result, purpose=REVALIDATE)
            check = Outcome.from_result(result)
            if check.status == "correct":
                prefix = "".join(f"#{i} failed re-validation ({why}); " for i, why in failed)
                return prefix + f"re-validated on fresh seeds {seeds}", node, True
            failed.append((node.id, check.short()))
            self.store.event("revalidation_failed", candidate=node.id, result=check.short())
        base = self.session.baseline
        if failed:
            return ("; ".join(f"#{i} failed re-validation ({why})" for i, why in failed)
                    + "; reporting the baseline"), base, False
        return "the baseline is the fastest correct kernel", base, None

    def _result(self, status: str, reason: str, *, winner: Node | None = None, note: str = "",
                revalidated: bool | None = None, iterations: int | None = None) -> RunResult:
        base = self.session.baseline
        counts = self.store.counts()
        spend = self.store.total_cost_usd()
        if winner is None and status != "finished":
            ranked = rank(self.session.all_nodes(), iteration=10**9, hw_margin=self.config.search.hw_margin)
            winner = ranked[0] if ranked else None
        beams = self.store.beams()
        result = RunResult(
            run_id=self.store.root.name, run_dir=self.store.root, problem=self.problem.name,
            agent="llm" if self.use_llm else "knobs", status=status, stop_reason=reason,
            iterations=iterations if iterations is not None else (beams[-1].iteration if beams else 0),
            evaluations=counts["evaluations"], duplicates_skipped=self.session.duplicates,
            llm_calls=counts["llm_calls"], llm_cost_usd=spend,
            baseline_latency_us=base.latency_us if base else None,
            backend=self._backend_name(), backend_choice=self.backend_choice)
        if winner is not None and winner.correct:
            result.best_candidate = winner.id
            result.best_latency_us = winner.latency_us
            result.speedup = base.latency_us / winner.latency_us if base and base.latency_us else None
            result.roofline_percent = winner.outcome.roofline_percent
            result.evidence = winner.evidence
            result.revalidated = revalidated
            result.revalidation_note = note
            result.best_kernel_path = self.store.candidate_dir(winner.id) / "kernel.py"
            result.best_source = winner.source
            stored = self.store.evaluation(winner.id)
            result.calibration = (stored.result.get("calibration") if stored is not None
                                  else getattr(getattr(self.evaluator, "calibration", None), "label", None))
            if winner.hw_outcome is not None:  # the winner's figures of record are its hardware ones
                measured = self.store.evaluation(winner.id, HW)
                stored = measured or stored
                result.roofline_percent = None
            if base is not None and winner.id != base.id:
                from autocomp.store.win import verdict_fields, win_verdict

                base_eval = self.store.evaluation(base.id)
                verdict = win_verdict(base_eval.result if base_eval else None, stored.result if stored else None)
                for key, value in verdict_fields(verdict).items():
                    setattr(result, key, value)
        return result

    def close(self, *, wait: bool = True) -> None:
        self.session.close(wait=wait)
        if self._owns_llm and self.llm is not None:
            self.llm.close()
        if self._owns_evaluator and hasattr(self.evaluator, "close"):
            self.evaluator.close()
        if self.tier_pools is not None:
            self.tier_pools.close()
        if self.hw_evaluator is not None:
            self.hw_evaluator.close()


def _evaluate_with_seeds(evaluator: Any, problem: Problem, source: str, seeds: list[int]) -> Any:
    revalidate = getattr(evaluator, "revalidate", None)
    if callable(revalidate):
        return revalidate(problem, source, seeds=seeds)
    return evaluator.evaluate(problem, source, seeds=seeds)


# --------------------------------------------------------------------------- entry point
class Terminated(KeyboardInterrupt):
    """The process was asked to stop by a signal (SIGTERM): handled like Ctrl-C, reported by the signal's name."""


def stored_config(config: SearchConfig, problem: Problem, calibration: Any = None, backend_choice: str = "") -> dict:
    """config.toml contents: what was optimized, the run-level options, the [search], [evaluation] and [llm]
    tables (and the calibration's hash, and why --backend auto chose the backend recorded in [evaluation])."""
    from autocomp.search.calibration import recorded_fields

    chosen = {"backend_choice": backend_choice} if backend_choice else {}
    return {"problem": problem.name, "problem_path": str(problem.root), **config.model_dump(mode="json"),
            **recorded_fields(calibration), **chosen}


def resolve_auto_backend(config: SearchConfig, recorded: str | None = None) -> tuple[SearchConfig, str, bool]:
    """``[evaluation] backend = "auto"`` resolved once, at the start of a run: (the config naming the chosen
    backend, the line saying what was chosen and why, whether that line is worth a note on screen: not for the
    simulator where no Neuron SDK is installed at all). A resumed run keeps the backend it ``recorded`` (auto is
    never re-resolved for it, whatever this machine has now); runs that recorded "auto" (before the choice was
    recorded) are resolved again here. Other backends pass unchanged, with no line."""
    if config.evaluation.backend != "auto":
        return config, "", False
    resolved = config.model_copy(deep=True)
    if recorded and recorded != "auto":
        resolved.evaluation.backend = recorded
        return resolved, f"--backend auto: keeping {recorded}, which the run chose when it started", True
    from autocomp.evaluate.backends.choice import choose_backend

    choice = choose_backend(**config.evaluation.hw_options())
    resolved.evaluation.backend = choice.name
    unused = " (--hw-profile has no hardware to profile)" if config.evaluation.hw_profile and choice.name == "sim" \
        else ""
    return resolved, choice.line() + unused, choice.notable or bool(unused)


def config_from_run(stored: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> SearchConfig:
    """The configuration of a run being resumed: what it was started with (tables, or the flat config.toml of
    earlier versions; keys this version does not know are dropped), updated by ``overrides``."""
    from autocomp.search.config import build_config

    base = nest(stored, "the run's config.toml", ignore_unknown=True)
    return build_config(base, **dict(overrides or {}))


def _check_checkpoints(store: RunStore, config: SearchConfig) -> None:
    """A run resumes with the strategy its checkpoints were written by (another would misread them)."""
    kinds = sorted({snap.state["kind"] for snap in store.beams()} - {config.search.strategy})
    if kinds:
        raise SearchError(f"run {store.root.name} was checkpointed by the {', '.join(map(repr, kinds))} search "
                          f"strategy, not {config.search.strategy!r}: resume it with [search] strategy = "
                          f"{kinds[0]!r}")


def _check_nki_version(store: RunStore, stored: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> None:
    """A run resumes with the NKI release it started with: another would judge candidates by other rules."""
    given = nest(overrides or {}, "options").get("evaluation", {}).get("nki_version")
    if given is None:
        return
    from autocomp.nki import versions

    recorded = nest(stored, "the run's config.toml", ignore_unknown=True).get("evaluation", {}).get("nki_version")
    try:
        same = recorded is not None and versions.normalize(given) == versions.normalize(recorded)
    except ValueError as e:
        raise SearchError(f"--nki-version {given}: {e}") from None
    if not same:
        started = f"NKI {recorded}" if recorded else "no --nki-version (each problem's own release)"
        raise SearchError(f"--nki-version {given}: run {store.root.name} was started with {started}, and a resumed "
                          "run keeps the release it started with; drop --nki-version, or start a new run")


def run_optimization(problem: str | Path | Problem | None, config: SearchConfig, *, resume: str | Path | None = None,
                     resume_overrides: Mapping[str, Any] | None = None, evaluator: EvaluatorLike | None = None,
                     llm: Any = None, on_event: EventSink | None = None, env: Mapping[str, str] | None = None,
                     on_start: Callable[[Run], None] | None = None) -> RunResult:
    """Create (or, with ``resume``, continue) a run and search until done, budget-exhausted or interrupted.

    Ctrl-C returns a result with status ``interrupted``; everything finished is kept in the run directory.
    """
    from autocomp.search.calibration import new_run_calibration, resumed_calibration
    from autocomp.store import resolve_run

    backend_choice, announce = "", False
    if resume is not None:
        store, _ = RunStore.resume(resolve_run(resume, config.runs_dir))
        try:
            stored = store.config()
            config = config_from_run(stored, resume_overrides)
            recorded = nest(stored, "the run's config.toml", ignore_unknown=True).get("evaluation", {}).get("backend")
            if evaluator is None:
                config, backend_line, announce = resolve_auto_backend(config, recorded)
                backend_choice = str(stored.get("backend_choice") or backend_line)
                if backend_line and recorded in (None, "auto"):  # chosen now: say so, as a new run does
                    store.event("backend", requested="auto", chosen=config.evaluation.backend, reason=backend_line)
            _check_checkpoints(store, config)
            # The run's own copy, never the file at its old path (which may have changed since).
            given = nest(resume_overrides or {}, "options").get("evaluation", {}).get("calibration")
            calibration = resumed_calibration(store, stored, given)
            _check_nki_version(store, stored, resume_overrides)
            snapshot = store.problem_dir() or store.info.problem_path
            problem = Problem.load(snapshot, store.problem_variant)
        except BaseException:
            store.set_status("interrupted", "resume failed before the search started")
            store.close()
            raise
    else:
        from autocomp.suite.location import load_problem

        problem = load_problem(problem)
        calibration = new_run_calibration(config.evaluation.calibration)
        if llm is None and config.llm_requested(env):
            preflight_llm(config, env)
        if evaluator is None:  # an injected evaluator is the backend: nothing to choose
            config, backend_choice, announce = resolve_auto_backend(config)
        store = RunStore.create(config.runs_dir, problem, stored_config(config, problem, calibration, backend_choice),
                                seed=config.seed, target=config.evaluation.target,
                                calibration=calibration.text if calibration else None)
        if backend_choice:
            store.event("backend", requested="auto", chosen=config.evaluation.backend, reason=backend_choice)
    run = None
    try:
        run = Run(problem, config, store, evaluator=evaluator, llm=llm, on_event=on_event, env=env,
                  calibration=calibration, backend_choice=backend_choice, announce_backend=announce)
        if on_start is not None:
            on_start(run)
        result = run.execute()
        run.close()
        return result
    except KeyboardInterrupt as e:
        why = str(e) or "stopped by the user (Ctrl-C)"  # or a manual prompt went unanswered (agent.AnswerPending)
        if run is None:
            store.set_status("interrupted", why)
            raise
        run.search.stop.set()
        run.session.cancel()
        store.set_status("interrupted", f"{why}; continue with --resume")
        result = run._result("interrupted", why)
        run.close(wait=False)
        return result
    except BaseException as e:
        if run is None and resume is None:
            # The run never started (a bad setting, a missing sandbox, no manual directory): nothing was
            # recorded, so no `failed` run is left behind.
            store.close()
            shutil.rmtree(store.root, ignore_errors=True)
            raise
        store.set_status("failed", f"{type(e).__name__}: {e}")
        if run is not None:
            run.close(wait=False)
        raise
    finally:
        store.close()
