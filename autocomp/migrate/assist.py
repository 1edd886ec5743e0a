"""The LLM fallback of a migration: the agent's repair prompt, with the findings the rules left and the
equivalence failure as "what went wrong", until the migrated kernel is proven equivalent or the rounds run out.

It reuses the optimisation agent's machinery (``PromptRenderer.repair`` over ``prompts/repair.md``, the
system prompt with the current dialect's rules and API digest, ``extract_kernel``), so a provider, the fake
LLM servers of the tests and ``--model manual`` work as they do for ``autocomp optimize``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autocomp.migrate.findings import Finding

PLAN = ("Migrate this kernel from the legacy neuronxcc.nki dialect to the current nki dialect without changing "
        "what it computes: the migrated kernel must return bit-identical outputs to the legacy kernel on every "
        "input. Keep its algorithm, tiling, dtypes and instruction order; change only what the current dialect "
        "requires.")


@dataclass
class AssistRound:
    round: int
    verdict: str  # "equivalent", "not equivalent: ...", "no kernel: ..."
    llm_call: int | None = None


@dataclass
class AssistLog:
    rounds: list[AssistRound] = field(default_factory=list)
    stopped: str = ""  # why the loop ended

    def to_dict(self) -> dict:
        return {"rounds": [r.__dict__ for r in self.rounds], "stopped": self.stopped}


def brief_for(function: str, target: str, input_labels: list[str], *, problem=None):
    """The prompt's problem facts: the problem's own when there is one, else the kernel file's."""
    from autocomp.search.prompts import ProblemBrief

    if problem is not None:
        brief = ProblemBrief.from_problem(problem, target=target)
        brief.dialect = "v2"  # the prompt speaks of, and its rules and API digest are, the target dialect's
        return brief
    shapes = "; ".join(input_labels) or "see the kernel"
    return ProblemBrief(name=function, description="A legacy-dialect kernel being migrated to the current dialect.",
                        function=function, dialect="v2", target=target, input_shapes=shapes,
                        tolerance="outputs identical to the legacy kernel's", precision_note="",
                        check_shapes="", timing_shapes=shapes, accuracy="outputs identical to the legacy kernel's")


def failure_reason(findings: list[Finding], failure: str) -> str:
    lines = []
    if findings:
        lines.append("These legacy constructs were not migrated by the rules:")
        lines += [f"- {f}" for f in findings]
    if failure:
        lines.append(f"Equivalence check: {failure}")
    return "\n".join(lines)


def assist(llm, renderer, function: str, source: str, findings: list[Finding], failure: str, check, *,
           rounds: int, status: str) -> tuple[str | None, AssistLog]:
    """Ask the model to finish the migration of ``source``; ``check(candidate) -> (equivalent, failure, status)``
    judges each answer. Returns the first equivalent candidate (or None) and what each round did."""
    from autocomp.llm import BudgetExceeded, LLMError
    from autocomp.search.extract import ExtractionError, extract_kernel

    log = AssistLog()
    code, reason = source, failure_reason(findings, failure)
    for r in range(1, rounds + 1):
        messages = renderer.repair(code, status=status, reason=reason, error_report="", plan=PLAN)
        try:
            completion = llm.complete(messages, phase="repair", sample_index=r - 1,
                                      max_tokens=16384)
        except BudgetExceeded as e:
            log.stopped = f"LLM budget exhausted ({e.limit})"
            return None, log
        except LLMError as e:
            log.stopped = f"LLM call failed: {type(e).__name__}: {e}"
            return None, log
        try:
            candidate = extract_kernel(completion.text, function, finish_reason=completion.finish_reason,
                                       reference=code)
        except ExtractionError as e:
            log.rounds.append(AssistRound(r, f"no kernel: {e}"))
            reason = f"Your previous answer had no usable kernel: {e}\n\n{failure_reason(findings, failure)}"
            continue
        ok, failure, status = check(candidate)
        log.rounds.append(AssistRound(r, "equivalent" if ok else f"not equivalent: {failure}"))
        if ok:
            log.stopped = f"equivalent after {r} round(s)"
            return candidate, log
        code, findings, reason = candidate, [], failure_reason([], failure)
    log.stopped = f"not equivalent after {rounds} round(s)"
    return None, log
