"""The equivalence proof of a migration: the original kernel under the legacy dialect and the migrated one
under the current dialect, each in its own sandboxed worker (both files are untrusted input), on the same
inputs, outputs compared per run.

"Equivalent" is bit-exact by default: both dialects drive the same simulator core, so a faithful migration
records the same instructions and computes the same bits. ``atol`` / ``rtol`` relax that to
``|a - b| <= atol + rtol * |a|`` (NaN matching NaN) for migrations that legitimately reorder arithmetic.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field

import numpy as np

from autocomp.pyparse import parse_python


@dataclass
class InputCase:
    """One set of kernel arguments: which seed and shapes made them."""

    label: str  # e.g. "seed 1, x=256x512:bfloat16"
    arrays: tuple[np.ndarray, ...]


@dataclass
class CaseVerdict:
    label: str
    equivalent: bool
    detail: str  # "bit-exact", "max abs diff 0.5 at output 0", or the error that stopped a run

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Equivalence:
    cases: list[CaseVerdict] = field(default_factory=list)
    tolerance: str = "bit-exact"
    original_error: str | None = None  # the legacy kernel itself failed: nothing to compare against
    migrated_error: str | None = None

    @property
    def equivalent(self) -> bool:
        return bool(self.cases) and self.original_error is None and all(c.equivalent for c in self.cases)

    def failure(self) -> str:
        """One paragraph on why the proof failed, for the report and for the LLM's repair prompt."""
        if self.original_error:
            return f"the original (legacy) kernel failed: {self.original_error}"
        if self.migrated_error:
            return f"the migrated kernel failed: {self.migrated_error}"
        bad = [c for c in self.cases if not c.equivalent]
        return "; ".join(f"{c.label}: {c.detail}" for c in bad[:4]) or "no inputs were compared"

    def to_dict(self) -> dict:
        return {"equivalent": self.equivalent, "tolerance": self.tolerance, "original_error": self.original_error,
                "migrated_error": self.migrated_error, "cases": [c.to_dict() for c in self.cases]}


def kernel_parameters(source: str, function: str) -> tuple[list[str], int]:
    """The positional parameter names of ``function`` in ``source`` and how many have no default, read from
    the AST (the file is never imported in this process)."""
    for node in parse_python(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
            return names, len(names) - len(node.args.defaults)
    return [], 0


def compare(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> str | None:
    """None when ``b`` matches ``a`` (bit-exact, or within the tolerance), else what differs."""
    if a.shape != b.shape:
        return f"shape {list(b.shape)} instead of {list(a.shape)}"
    if a.dtype != b.dtype:
        return f"dtype {b.dtype} instead of {a.dtype}"
    if atol == 0 and rtol == 0:
        if a.tobytes() == b.tobytes():
            return None
        fa, fb = a.astype(np.float64), b.astype(np.float64)
    else:
        fa, fb = a.astype(np.float64), b.astype(np.float64)
        both_nan = np.isnan(fa) & np.isnan(fb)
        close = (np.abs(fa - fb) <= atol + rtol * np.abs(fa)) | both_nan
        if close.all():
            return None
    with np.errstate(invalid="ignore"):
        diff = np.abs(fa - fb)
    nan_mismatch = int((np.isnan(fa) != np.isnan(fb)).sum())
    worst = float(np.nanmax(diff)) if np.isfinite(diff).any() else float("nan")
    wrong = int((~((diff <= atol + rtol * np.abs(fa)) | (np.isnan(fa) & np.isnan(fb)))).sum())
    more = f", {nan_mismatch} NaN(s) in one only" if nan_mismatch else ""
    return f"{wrong} of {a.size} elements differ, max abs diff {worst:.4g}{more}"


def prove(evaluator, original: str, migrated: str, function: str, cases: list[InputCase], *, target: str,
          atol: float = 0.0, rtol: float = 0.0, timeout_s: float = 600.0,
          original_outputs: dict | None = None) -> tuple[Equivalence, dict]:
    """Run both kernels on every case in the sandbox and compare. Returns the verdict and the original's outputs
    (pass them back as ``original_outputs`` to check a later revision of the migration without rerunning it)."""
    tol = "bit-exact" if atol == 0 and rtol == 0 else f"|a - b| <= {atol:g} + {rtol:g} * |a|"
    result = Equivalence(tolerance=tol)
    inputs = {i: c.arrays for i, c in enumerate(cases)}
    if original_outputs is None:
        run = evaluator.run_outputs(original, function=function, dialect="v1", target=target, inputs=inputs,
                                    timeout_s=timeout_s, filename="original.py")
        if run.error is not None or len(run.outputs) != len(cases):
            result.original_error = run.error or "it did not run every input set"
            return result, {}
        original_outputs = run.outputs
    run = evaluator.run_outputs(migrated, function=function, dialect="v2", target=target, inputs=inputs,
                                timeout_s=timeout_s, filename="migrated.py")
    if run.error is not None and not run.outputs:
        result.migrated_error = run.error
    for i, case in enumerate(cases):
        want, got = original_outputs.get(i), run.outputs.get(i)
        if got is None:
            result.cases.append(CaseVerdict(case.label, False, run.error or "no outputs"))
            continue
        if len(got) != len(want):
            result.cases.append(CaseVerdict(case.label, False, f"{len(got)} outputs instead of {len(want)}"))
            continue
        problems = [f"output {k}: {d}" for k, (a, b) in enumerate(zip(want, got)) if (d := compare(a, b, atol, rtol))]
        result.cases.append(CaseVerdict(case.label, not problems, "; ".join(problems) or
                                        ("bit-exact" if tol == "bit-exact" else "within tolerance")))
    return result, original_outputs
