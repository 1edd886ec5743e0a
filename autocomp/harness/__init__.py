"""Converting an Autocomp-style Trainium harness into an autocomp problem directory.

Such a harness holds a reference NKI kernel, a ``# SUBSTITUTE HERE`` marker where a solution is pasted,
``test_nki(ref_func, test_func)`` comparing the two and ``benchmark_nki(nki_func)`` timing one. We read it
with ``ast`` (never import it: it may need torch_xla and a device): the kernel and what it needs become
kernel.py; the input shapes come from the kernel calls in benchmark_nki (timing) and test_nki (correctness);
the reference is test_nki's numpy expectation when it has one, else the original kernel run in the simulator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from autocomp.harness import emit
from autocomp.harness.gate_report import require_gate
from autocomp.harness.inputs import ArraySpec, KernelCall, kernel_call
from autocomp.harness.reference import find_reference
from autocomp.harness.source import BENCH_FUNCTION, TEST_FUNCTION, Harness, HarnessError
from autocomp.targets import DEFAULT_TARGET

__all__ = ["HarnessError", "ImportResult", "convert_harness", "default_name", "shrink_dim"]

# Automatic check shapes: inputs above this many elements in all get a smaller make_check_inputs.
LARGE_INPUTS = 2 ** 20


@dataclass
class ImportResult:
    root: Path
    name: str
    function: str
    dialect: str
    inputs: list[ArraySpec]
    reference_kind: str
    notes: list[str] = field(default_factory=list)
    check_specs: list[ArraySpec] | None = None  # the correctness inputs when they differ from the timing ones
    large: bool = False  # timing inputs above LARGE_INPUTS elements


def default_name(path: Path) -> str:
    """``3_rope_test.py`` -> ``rope``."""
    stem = re.sub(r"^\d+_", "", path.stem)
    stem = re.sub(r"_test$", "", stem)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem) or "imported"


def _low_precision(dtypes: list[np.dtype]) -> bool:
    from autocomp.nki import dtypes as dt

    return any(dt.dtype_name(d) in ("bfloat16", "float16") or dt.dtype_name(d).startswith("float8") for d in dtypes)


def shrink_dim(d: int, cap: int) -> int:
    """A check-shape size for a dimension of ``d``: ``d`` itself up to ``cap``, else its largest divisor
    <= cap that keeps ``d``'s power-of-two factor up to cap (so tile-divisibility asserts still hold)."""
    if d <= cap:
        return d
    align = np.gcd(d, cap)
    return max(x for x in range(align, cap + 1, align) if d % x == 0)


def _shrunk(specs: list[ArraySpec], cap: int) -> list[ArraySpec]:
    """Every dimension shrunk by the same rule, so equal dimensions of different inputs stay equal."""
    return [replace(s, shape=tuple(shrink_dim(d, cap) for d in s.shape)) for s in specs]


def _inputs_code(bench: KernelCall | None, test: KernelCall | None,
                 check_cap: int | None) -> tuple[str, list[np.dtype], bool, list[str], list[ArraySpec] | None]:
    """make_inputs (benchmark shapes) and make_check_inputs (test_nki's shapes, or shrunk ones)."""
    timing = (bench or test).specs
    notes = []
    narrow = {np.dtype(np.float64): np.dtype(np.float32), np.dtype(np.int64): np.dtype(np.int32)}
    dtypes = [narrow.get(s.dtype, s.dtype) for s in timing]
    if any(s.dtype in narrow for s in timing):
        notes.append("float64/int64 inputs of the harness become float32/int32 (NKI has no 64-bit types)")
    # Values are drawn the way test_nki draws them (benchmark placeholders say nothing about values).
    draws = [t if t.dist != "constant" else b for b, t in zip(timing, test.specs)] if test else timing
    code = emit.inputs_function("make_inputs", [replace(d, shape=b.shape) for b, d in zip(timing, draws)], dtypes,
                                f"Timing inputs: the shapes {BENCH_FUNCTION if bench else TEST_FUNCTION} passes "
                                "to the kernel.")
    check_shapes = bool(test and bench and [s.shape for s in test.specs] != [s.shape for s in bench.specs]
                        and check_cap != 0)
    check_specs = None
    if check_shapes:
        check_specs = test.specs
        code += "\n\n" + emit.inputs_function("make_check_inputs", test.specs, dtypes,
                                               f"Correctness inputs: the shapes {TEST_FUNCTION} uses.")
    elif check_cap:
        shrunk = _shrunk([replace(d, shape=b.shape) for b, d in zip(timing, draws)], check_cap)
        if [s.shape for s in shrunk] != [s.shape for s in timing]:
            check_shapes, check_specs = True, shrunk
            code += "\n\n" + emit.inputs_function(
                "make_check_inputs", shrunk, dtypes,
                f"Correctness inputs: the timing shapes with every dimension above {check_cap} shrunk "
                "(chosen by import-harness; values drawn like the timing inputs).")
    elif check_cap is None and sum(int(np.prod(s.shape)) for s in timing) > 32 * 2 ** 20:
        notes.append("correctness runs at the full timing shapes, which is slow in the simulator; add a smaller "
                     "make_check_inputs and set check_shapes = true")
    return code, dtypes, check_shapes, notes, check_specs


def convert_harness(path: str | Path, *, out: str | Path | None = None, name: str | None = None,
                    function: str | None = None, target: str = DEFAULT_TARGET, force: bool = False,
                    problems_root: str | Path = "problems", check_cap: int | None = None) -> ImportResult:
    """Write a problem directory for the harness at ``path``; raises HarnessError with the reason otherwise.

    The kernel is gate-checked first (as the evaluator will check it) and nothing is written when it
    fails. ``check_cap``: write a make_check_inputs with every dimension above it shrunk (see shrink_dim),
    unless test_nki already uses smaller shapes.
    """
    from autocomp.nki.runtime import normalize_target

    try:
        target = normalize_target(target)
    except ValueError as e:
        raise HarnessError(str(e)) from None
    harness = Harness.read(path)
    dialect = harness.dialect
    kernel = harness.kernel_name(function)
    frameworks = harness.uses_non_nki_modules(harness.closure([kernel]))
    if frameworks:
        raise HarnessError(f"{harness.path}: kernel `{kernel}` uses {', '.join(frameworks)}; a problem kernel may "
                           "use only NKI, numpy and math")
    bench = kernel_call(harness, BENCH_FUNCTION, 0)
    test = kernel_call(harness, TEST_FUNCTION, 1) or kernel_call(harness, TEST_FUNCTION, 0)
    if bench is None and test is None:
        raise HarnessError(f"{harness.path}: found no kernel call in {BENCH_FUNCTION}(nki_func) or "
                           f"{TEST_FUNCTION}(ref_func, test_func) to take the input shapes from")
    if bench and test and len(bench.specs) != len(test.specs):
        raise HarnessError(f"{harness.path}: {BENCH_FUNCTION} passes {len(bench.specs)} arrays but {TEST_FUNCTION} "
                           f"passes {len(test.specs)}")
    name = name or default_name(harness.path)
    if not re.match(r"^[A-Za-z0-9_.-]+$", name):
        raise HarnessError(f"{name!r}: a problem name may use letters, digits, '_', '.' and '-' only")
    root = Path(out) if out else Path(problems_root) / name
    if root.exists() and not force:
        raise HarnessError(f"{root}: already exists; pass --force to overwrite it or --out to write elsewhere")

    kernel_text = emit.kernel_file(harness, kernel, name)
    require_gate(harness, kernel, kernel_text)
    inputs_code, dtypes, check_shapes, notes, check_specs = _inputs_code(bench, test, check_cap)
    comparison = find_reference(harness, test) if test else None
    if comparison and comparison.reference:
        reference = emit.numpy_reference_file(harness, name, comparison.reference, inputs_code)
        kind = f"numpy expression from {TEST_FUNCTION} line {comparison.reference.line}"
    else:
        why = comparison.why_not_numpy if comparison else f"the harness has no {TEST_FUNCTION}"
        reference = emit.simulated_reference_file(harness, kernel, name, why, dialect, target, inputs_code)
        kind = f"the harness kernel `{kernel}` run in the simulator ({why})"
    low = _low_precision(dtypes)
    harness_tol = {"atol": comparison.atol, "rtol": comparison.rtol} if comparison else {}
    tolerance = {"rel_l2": 2e-2 if low else 1e-3}
    tolerance |= {k: harness_tol.get(k) if harness_tol.get(k) is not None else default
                  for k, default in (("atol", 2e-2 if low else 1e-4), ("rtol", 2e-2 if low else 1e-3))}
    fields = {"name": name,
              "description": f"Imported from {harness.path.name} (an Autocomp-style harness): kernel `{kernel}`. "
                             f"Reference: {kind}.",
              "function": kernel, "dialect": dialect, "target": target, "seeds": [0, 1, 2],
              "check_shapes": check_shapes, "tags": ["imported"]}
    notes += _tolerance_notes(harness_tol, tolerance, low)
    emit.write(root, {"problem.toml": emit.problem_toml(fields, tolerance),
                      "kernel.py": kernel_text, "reference.py": reference})
    timing = (bench or test).specs
    return ImportResult(root, name, kernel, dialect, timing, kind, notes, check_specs,
                        sum(int(np.prod(s.shape)) for s in timing) > LARGE_INPUTS)


def _tolerance_notes(harness_tol: dict, tolerance: dict, low: bool) -> list[str]:
    """Say where the tolerance comes from, and when the harness's own is loose for the dtype."""
    given = {k: v for k, v in harness_tol.items() if v is not None}
    if not given:
        return [f"the harness gives no tolerance; using atol={tolerance['atol']:g}, rtol={tolerance['rtol']:g}"]
    loose_at = 5e-2 if low else 1e-2
    loose = {k: v for k, v in given.items() if v > loose_at}
    text = ", ".join(f"{k}={v:g}" for k, v in given.items())
    note = f"kept the harness's tolerance ({text})"
    if loose:
        note += (f"; it is loose for {'bf16/fp16/fp8' if low else 'fp32'} outputs ({', '.join(loose)} above "
                 f"{loose_at:g}): a wrong kernel may pass; tighten [tolerance] in problem.toml if you can")
    return [note]
