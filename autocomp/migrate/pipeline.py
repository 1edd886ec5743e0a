"""One migration end to end: the rules, the equivalence proof in the sandbox, and the LLM fallback."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autocomp.migrate.assist import AssistLog
from autocomp.migrate.equivalence import Equivalence, InputCase, kernel_parameters, prove
from autocomp.migrate.findings import Migration
from autocomp.migrate.rules import migrate_source


class InputsError(ValueError):
    """The inputs asked for cannot be built (unknown parameter, bad shape text)."""


@dataclass
class MigrationReport:
    migration: Migration
    equivalence: Equivalence | None = None
    final_source: str = ""  # what to write: the rules' output, or the LLM's equivalent rewrite
    by: str = "rules"  # "rules" or "rules+llm"
    assist: AssistLog | None = None

    @property
    def equivalent(self) -> bool:
        return self.equivalence is not None and self.equivalence.equivalent

    def to_dict(self) -> dict:
        m = self.migration
        return {"function": m.function, "equivalent": self.equivalent, "by": self.by,
                "rules_applied": m.rule_counts(), "applied": [a.to_dict() for a in m.applied],
                "findings": [f.to_dict() for f in m.findings],
                "equivalence": self.equivalence.to_dict() if self.equivalence else None,
                "assist": self.assist.to_dict() if self.assist else None}


def problem_cases(problem, seeds: list[int] | None) -> list[InputCase]:
    """The problem's correctness-check inputs for each seed (the shapes its own evaluation runs)."""
    cases = []
    for s in seeds or list(problem.spec.seeds):
        arrays = problem.inputs(s)
        shapes = ", ".join(f"{'x'.join(map(str, a.shape))}:{np.dtype(a.dtype).name}" for a in arrays)
        cases.append(InputCase(f"seed {s}, {shapes}", tuple(np.ascontiguousarray(a) for a in arrays)))
    return cases


def spec_cases(source: str, function: str, texts: list[str], seeds: list[int]) -> list[InputCase]:
    """Random inputs for each shape set in ``texts`` ("a=128x512:bfloat16,b=512x256:bfloat16") and seed."""
    from autocomp.nki.shapes import parse_shape_specs

    names, required = kernel_parameters(source, function)
    cases = []
    for text in texts:
        try:
            specs = parse_shape_specs([text.replace(",", ";")])
        except ValueError as e:
            raise InputsError(f"--inputs {text!r}: {e}") from None
        unknown = sorted(set(specs) - set(names))
        if unknown:
            raise InputsError(f"--inputs {text!r}: {', '.join(unknown)} is not a parameter of "
                              f"{function}({', '.join(names)})")
        missing = [n for n in names[:required] if n not in specs]
        given = names[:required] + [n for n in names[required:] if n in specs]
        if not missing and len(given) < len(names) and any(n in specs for n in names[len(given):]):
            raise InputsError(f"--inputs {text!r}: give the optional parameters in order, from "
                              f"{names[required]}")
        if missing:
            raise InputsError(f"--inputs {text!r}: no shape for {', '.join(missing)}; give every parameter, e.g. "
                              f"\"{missing[0]}=128x512:float32\"")
        for s in seeds:
            rng = np.random.default_rng(s)
            cases.append(InputCase(f"seed {s}, {text}", tuple(specs[n].random(rng) for n in given)))
    return cases


def run_migration(source: str, function: str, cases: list[InputCase], evaluator, *, target: str,
                  filename: str = "kernel.py", atol: float = 0.0, rtol: float = 0.0, timeout_s: float = 600.0,
                  llm=None, renderer=None, rounds: int = 3) -> MigrationReport:
    """Rules, then the proof; with ``llm`` (an ``LLMService``) and ``renderer`` (a ``PromptRenderer``), the
    LLM finishes what the rules left or fixes what the proof refuted, up to ``rounds`` answers."""
    migration = migrate_source(source, function, filename)
    report = MigrationReport(migration, final_source=migration.migrated)
    verdict, original_outputs = prove(evaluator, source, migration.migrated, function, cases, target=target,
                                      atol=atol, rtol=rtol, timeout_s=timeout_s)
    report.equivalence = verdict
    if verdict.equivalent or verdict.original_error or llm is None:
        return report

    def check(candidate: str):
        v, _ = prove(evaluator, source, candidate, function, cases, target=target, atol=atol, rtol=rtol,
                     timeout_s=timeout_s, original_outputs=original_outputs)
        status = "compile_error" if v.migrated_error else "incorrect"
        check.last = v
        return v.equivalent, v.failure(), status

    from autocomp.migrate.assist import assist

    status = "compile_error" if verdict.migrated_error else "incorrect"
    final, log = assist(llm, renderer, function, migration.migrated, migration.findings, verdict.failure(), check,
                        rounds=rounds, status=status)
    report.assist = log
    if final is not None:
        report.final_source, report.by, report.equivalence = final, "rules+llm", check.last
    return report
