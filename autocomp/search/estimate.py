"""``--dry-run``: how many LLM calls and evaluations a configuration can use, and what it may cost."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from autocomp.search.config import SearchConfig
from autocomp.search.node import BASELINE, Node

# Assumed share of candidates that fail and get repaired; the true rate depends on the model and the kernel.
REPAIR_RATE = 0.5
PLAN_OUTPUT_TOKENS = 450


@dataclass
class RunEstimate:
    agent: str
    models: list[str]
    calls_by_phase: dict[str, int]
    cost_by_phase: dict[str, float]
    cost_usd: float
    unpriced_models: tuple[str, ...]
    max_evaluations: int

    @property
    def calls(self) -> int:
        return sum(self.calls_by_phase.values())

    def lines(self) -> list[str]:
        if self.agent == "knobs":
            return ["agent: knob tuner (no LLM): 0 LLM calls, $0.00",
                    f"at most {self.max_evaluations} evaluations"]
        out = [f"agent: LLM ({', '.join(self.models)})",
               f"estimated LLM calls: {self.calls} ("
               + ", ".join(f"{p} {n}" for p, n in self.calls_by_phase.items()) + ")",
               f"estimated cost: ${self.cost_usd:.2f} ("
               + ", ".join(f"{p} ${c:.2f}" for p, c in self.cost_by_phase.items()) + ")",
               f"at most {self.max_evaluations} evaluations"]
        if self.unpriced_models:
            out.append(f"no price known for {', '.join(self.unpriced_models)}: counted as $0 "
                       "(set prices in the LLM settings to include them)")
        return out


def estimate_run(problem, config: SearchConfig, env: Mapping[str, str] | None = None) -> RunEstimate:
    """Upper-bound calls and evaluations, and expected dollars, without calling anything."""
    knob_evals = config.search.knob_batch
    if not config.llm_requested(env):
        return RunEstimate("knobs", [], {}, {}, 0.0, (),
                           1 + config.search.iterations * knob_evals + _revalidations(config))
    from autocomp.llm import Ensemble, estimate_run_cost
    from autocomp.search.prompts import ProblemBrief, PromptLibrary, PromptRenderer

    models = config.resolved_models(env)
    per_iter_plans = config.search.beam * config.search.plans
    plans = config.search.iterations * per_iter_plans
    impls = plans * config.search.impls
    repairs = math.ceil(impls * config.search.repairs * REPAIR_RATE)
    library = PromptLibrary()
    renderer = PromptRenderer(library, ProblemBrief.from_problem(problem, target=config.evaluation.target))
    base = Node(id=0, source=problem.baseline_source, iteration=0, origin=BASELINE)
    plan_text = "x" * 1500
    # The experience memory's section at its full budget (what it holds is not known before the run).
    memory = "x" * (4 * config.memory.budget_tokens) if config.memory.enabled and config.memory.max_entries else ""
    chars = {
        "plan": sum(len(m["content"]) for m in renderer.plan(base, history=["x" * 160] * config.llm.history_limit,
                                                              menu=library.menu, memory=memory)),
        "implement": sum(len(m["content"]) for m in renderer.implement(base, plan_text)),
        "repair": sum(len(m["content"]) for m in renderer.repair(problem.baseline_source, status="incorrect",
                                                                  reason="x" * 400, error_report="x" * 300,
                                                                  plan=plan_text)),
    }
    code_tokens = max(800, int(1.3 * len(problem.baseline_source) / 4) + 150)
    calls = {"plan": plans, "implement": impls, "repair": repairs}
    est = estimate_run_cost(calls, prompt_chars=chars,
                            output_tokens={"plan": PLAN_OUTPUT_TOKENS, "implement": code_tokens,
                                           "repair": code_tokens},
                            models=Ensemble(models, seed=config.seed))
    polish = config.search.polish_iterations * knob_evals if config.search.tune_after_llm else 0
    evaluations = 1 + impls * (1 + config.search.repairs) + polish + _revalidations(config)
    return RunEstimate("llm", models, calls, {p: e.cost_usd for p, e in est.by_phase.items()}, est.cost_usd,
                       est.unpriced_models, evaluations)


def _revalidations(config: SearchConfig) -> int:
    from autocomp.search.runner import MAX_REVALIDATIONS

    return MAX_REVALIDATIONS if config.evaluation.revalidate_seeds else 0
