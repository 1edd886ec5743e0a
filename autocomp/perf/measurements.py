"""Measured latencies for ``autocomp calibrate``: a CSV file, or (trace, target, us) tuples.

CSV columns (a header row names them; extra columns are ignored)::

    kernel,function,shapes,target,measured_us,scalars,grid,chain
    kernels/mm.py,matmul,"lhsT=8192x4096:bfloat16 rhs=8192x8192:bfloat16",trn1,6970,,,mm-ladder

``kernel`` is a kernel file (relative to the CSV's folder), ``shapes`` the tensor arguments in
autocomp's shape syntax separated by spaces or semicolons, ``scalars`` NAME=VALUE pairs (Python
literals), ``grid`` an SPMD launch grid like ``2x2``, ``chain`` an optional name grouping the
steps of one optimisation ladder (their ranking is scored). Kernels are traced shape-only.

``from_traces`` takes what a run directory's hardware evaluations hold once the sandboxed evaluator
has traced them (the trace, the target and the measured microseconds); stored candidates are
LLM-written code and are never run in this process.
"""

from __future__ import annotations

import ast
import csv
import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autocomp.perf.fit import Measurement

REQUIRED = ("kernel", "function", "shapes", "target", "measured_us")
OPTIONAL = ("scalars", "grid", "chain", "label")


class MeasurementError(ValueError):
    """A measurement that cannot be used; the message names the file, the row and what to change."""


@dataclass
class KernelCall:
    """How to trace one measured kernel."""

    where: str  # file:row, for messages
    kernel: Path
    function: str
    shapes: list[str]
    target: str
    measured_us: float
    scalars: dict = field(default_factory=dict)
    grid: tuple[int, ...] = ()
    chain: str | None = None
    label: str = ""


def _scalars(where: str, text: str) -> dict:
    out = {}
    for item in re.split(r"[;\s]+", text.strip()):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise MeasurementError(f"{where}: bad scalar {item!r}: write NAME=VALUE, e.g. eps=1e-5")
        try:
            out[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise MeasurementError(f"{where}: scalar {item!r}: {value!r} is not a Python literal") from None
    return out


def _grid(where: str, text: str) -> tuple[int, ...]:
    text = text.strip().lower()
    if not text:
        return ()
    try:
        grid = tuple(int(g) for g in text.split("x"))
    except ValueError:
        raise MeasurementError(f"{where}: grid {text!r}: write sizes joined by x, e.g. 2x2") from None
    if any(g <= 0 for g in grid):
        raise MeasurementError(f"{where}: grid {text!r}: sizes must be positive")
    return grid


def read_csv(path: str | Path) -> list[KernelCall]:
    """The measurements of a CSV file (see the module docstring); errors name the row."""
    from autocomp.perf.targets import get_target

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise MeasurementError(f"{p}: cannot read ({e.strerror or e})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    rows = list(reader)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise MeasurementError(f"{p}: missing column(s) {', '.join(missing)}; the header must name "
                               f"{', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})")
    calls = []
    for n, row in enumerate(rows, start=2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        where = f"{p}:{n}"
        if not any(row.values()):
            continue
        for c in REQUIRED:
            if not row.get(c):
                raise MeasurementError(f"{where}: empty {c}")
        try:
            us = float(row["measured_us"])
        except ValueError:
            raise MeasurementError(f"{where}: measured_us {row['measured_us']!r} is not a number") from None
        if not us > 0 or us == float("inf"):
            raise MeasurementError(f"{where}: measured_us must be a positive number of microseconds, got {us}")
        try:
            target = get_target(row["target"]).name
        except ValueError as e:
            raise MeasurementError(f"{where}: {e}") from None
        kernel = Path(row["kernel"])
        kernel = kernel if kernel.is_absolute() else p.parent / kernel
        calls.append(KernelCall(where=where, kernel=kernel, function=row["function"],
                                shapes=[s for s in re.split(r"[;\s]+", row["shapes"]) if s], target=target,
                                measured_us=us, scalars=_scalars(where, row.get("scalars", "")),
                                grid=_grid(where, row.get("grid", "")), chain=row.get("chain") or None,
                                label=row.get("label") or f"{kernel.name}:{row['function']}"))
    if not calls:
        raise MeasurementError(f"{p}: no measurements (one row per measured kernel under the header)")
    return calls


def _arguments(call: KernelCall, fn) -> tuple[list, dict]:
    """Arguments by parameter name: leading ones positionally, the rest by keyword."""
    from autocomp.nki.shapes import parse_shape_spec

    given: dict = {}
    for text in call.shapes:
        try:
            name, spec = parse_shape_spec(text)
        except ValueError as e:
            raise MeasurementError(f"{call.where}: {e}") from None
        given[name] = spec
    for name, value in call.scalars.items():
        if name in given:
            raise MeasurementError(f"{call.where}: {name} is given both as a shape and as a scalar")
        given[name] = value
    f = getattr(fn, "func", fn)
    params = [q for q in inspect.signature(f).parameters.values()
              if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD, q.KEYWORD_ONLY)]
    names = [q.name for q in params]
    unknown = [n for n in given if n not in names]
    if unknown:
        raise MeasurementError(f"{call.where}: {', '.join(unknown)}: not parameters of "
                               f"{call.function}({', '.join(names)})")
    args, kwargs, positional = [], {}, True
    for q in params:
        if q.name not in given:
            if q.default is q.empty:
                raise MeasurementError(f"{call.where}: no value for parameter {q.name!r} of {call.function}: add "
                                       f"\"{q.name}=128x512:float32\" to shapes or {q.name}=VALUE to scalars")
            positional = False
            continue
        if positional and q.kind != q.KEYWORD_ONLY:
            args.append(given[q.name])
        else:
            kwargs[q.name] = given[q.name]
    return args, kwargs


def trace_call(call: KernelCall) -> Measurement:
    """Load and trace one measured kernel (shape-only)."""
    from autocomp.nki import NkiError, run_kernel
    from autocomp.nki.loader import KernelLoadError, load_kernel

    if not call.kernel.is_file():
        raise MeasurementError(f"{call.where}: no kernel file {call.kernel}")
    try:
        fn = load_kernel(call.kernel, call.function, call.target)
        args, kwargs = _arguments(call, fn)
        result = run_kernel(fn, args, kwargs or None, target=call.target, grid=call.grid or getattr(fn, "grid", ()),
                            dialect=getattr(fn, "dialect", "v1"), numerics=False)
    except (KernelLoadError, NkiError, TypeError, ValueError) as e:
        if isinstance(e, MeasurementError):
            raise
        raise MeasurementError(f"{call.where}: {call.kernel.name}:{call.function} does not trace: {e}") from None
    return Measurement(label=call.label, measured_us=call.measured_us, trace=result.trace, target=call.target,
                       chain=call.chain)


def from_csv(path: str | Path) -> list[Measurement]:
    return [trace_call(c) for c in read_csv(path)]


def from_traces(items: Iterable[tuple]) -> list[Measurement]:
    """Measurements from (trace, target, measured us[, chain[, label]]) tuples, e.g. the ``hw`` evaluations of
    a run directory. Stored candidates are LLM-written code: their traces must come from the sandboxed evaluator
    (which hands traces back as data), never from running their source in this process."""
    out = []
    for i, item in enumerate(items):
        trace, target, us = item[:3]
        chain = item[3] if len(item) > 3 else None
        label = item[4] if len(item) > 4 else None
        where = f"evaluation {i} ({label or getattr(trace, 'kernel', '') or 'kernel'})"
        if not (isinstance(us, (int, float)) and us > 0):
            raise MeasurementError(f"{where}: measured latency must be a positive number of us, got {us!r}")
        if not getattr(trace, "instructions", None):
            raise MeasurementError(f"{where}: the trace holds no instructions")
        out.append(Measurement(label=label or f"{trace.kernel or 'kernel'}#{i}", measured_us=float(us), trace=trace,
                               target=target, chain=chain or trace.kernel or f"evaluation-{i}"))
    return out
