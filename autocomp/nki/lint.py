"""Source lint for v1 kernels (``neuronxcc.nki``): Python state updated inside NKI loops.

The NKI 0.1 tracer ran each ``affine_range`` / ``sequential_range`` body once,
so host-side Python state updated in the body (a counter, a list) ends up
different on the real toolchain than here, where every iteration runs.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import warnings

from autocomp.nki.errors import NkiWarning
from autocomp.pyparse import parse_python

_LOOPS = {"affine_range", "sequential_range"}
_MUTATORS = {"append", "extend", "insert", "pop", "update", "add", "setdefault", "remove", "clear"}
_checked: dict = {}


def _loop_name(node: ast.For) -> str | None:
    call = node.iter
    if isinstance(call, ast.Call):
        fn = call.func
        name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", None)
        if name in _LOOPS:
            return name
    return None


def _host_names(fn: ast.FunctionDef) -> set[str]:
    """Names bound to Python literals (numbers, lists, dicts, sets) in the kernel body."""
    names = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.List, ast.Dict, ast.Set)):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def host_state_findings(func) -> list[tuple[int, str]]:
    """(line, message) for each host-state update inside an NKI loop of ``func``."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
        first = func.__code__.co_firstlineno
    except (OSError, TypeError, AttributeError):
        return []
    try:
        tree = parse_python(source)
    except SyntaxError:
        return []
    fn = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if fn is None:
        return []
    host = _host_names(fn)
    findings = []
    for loop in ast.walk(fn):
        if not isinstance(loop, ast.For) or _loop_name(loop) is None:
            continue
        for node in ast.walk(loop):
            line = first + node.lineno - 1 if hasattr(node, "lineno") else first
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id in host:
                findings.append((line, f"`{node.target.id}` is Python state updated inside nl.{_loop_name(loop)}"))
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in _MUTATORS and isinstance(node.func.value, ast.Name)
                  and node.func.value.id in host):
                findings.append((line, f"`{node.func.value.id}.{node.func.attr}(...)` mutates a Python container "
                                       f"inside nl.{_loop_name(loop)}"))
    return findings


def warn_host_state(func) -> None:
    """Warn once per kernel function about host-side state updated in NKI loops."""
    code = getattr(func, "__code__", None)
    if code is None or code in _checked:
        return
    _checked[code] = True
    for line, what in host_state_findings(func):
        warnings.warn_explicit(
            f"[warn_host_state_in_loop] {what}; the legacy NKI tracer runs a loop body once, so on the real "
            "toolchain this value would differ from the simulation. Use nl.static_range for loops that build "
            "Python state, or compute the value outside the loop",
            NkiWarning, code.co_filename, line)
