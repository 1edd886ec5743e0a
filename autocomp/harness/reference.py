"""Finding a numpy reference in a harness's ``test_nki``: the side of an ``allclose`` that is not a kernel output.

Harnesses either compare the solution with the original kernel (``allclose(ref_func(a), test_func(a))``)
or with a host computation (``allclose(test_func(x), np.cumsum(x, axis=1))``). The second kind becomes
a float64 ``reference()``: the expected expression plus the local assignments it needs, with the
harness's input names mapped onto the kernel's inputs.
"""

from __future__ import annotations

import ast
import builtins
import copy
from dataclasses import dataclass, field

from autocomp.harness.inputs import KernelCall
from autocomp.harness.source import Harness, dotted, loaded_names

_COMPARATORS = {"allclose", "isclose", "assert_allclose", "assert_array_almost_equal", "array_equal",
                "assert_array_equal"}
# Calls that only convert or move an array (so `b = torch.from_numpy(a).to(dev)` makes b an alias of a).
_CONVERTING_FUNCTIONS = {"from_numpy", "as_tensor", "tensor", "asarray", "array", "ascontiguousarray"}
_CONVERTING_METHODS = {"to", "astype", "float", "bfloat16", "half", "copy", "contiguous", "cpu", "detach", "numpy",
                       "clone", "cuda"}


@dataclass
class NumpyReference:
    """``def reference(*params): <statements>; return <expr>`` in the harness's own words."""

    params: list[str]
    statements: list[ast.stmt]
    expr: ast.expr
    module_names: list[str]  # module-level helpers and constants it uses
    line: int


@dataclass
class Comparison:
    """What test_nki checks against, and the tolerances it uses."""

    reference: NumpyReference | None
    why_not_numpy: str = ""
    atol: float | None = None
    rtol: float | None = None
    notes: list[str] = field(default_factory=list)


def _flatten(body: list[ast.stmt]) -> list[ast.stmt]:
    out = []
    for stmt in body:
        out.append(stmt)
        for attr in ("body", "orelse", "finalbody"):
            if not isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) and isinstance(getattr(stmt, attr, None), list):
                out.extend(_flatten(getattr(stmt, attr)))
    return out


def _conversion_source(expr: ast.expr) -> str | None:
    """``torch.from_numpy(a).to(d)`` / ``a.astype(t)`` -> "a"; None for anything that changes values or layout."""
    while isinstance(expr, ast.Call):
        func = expr.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in _CONVERTING_FUNCTIONS and expr.args:
            expr = expr.args[0]
        elif name in _CONVERTING_METHODS and isinstance(func, ast.Attribute):
            expr = func.value
        else:
            return None
    return expr.id if isinstance(expr, ast.Name) else None


def _tolerances(call: ast.Call) -> tuple[float | None, float | None]:
    kw = {k.arg: k.value for k in call.keywords}
    name = dotted(call.func).split(".")[-1]
    positional = call.args[2:4]
    order = ("rtol", "atol")  # allclose(a, b, rtol, atol) and assert_allclose(actual, desired, rtol, atol)
    if name in ("assert_array_almost_equal", "array_equal", "assert_array_equal"):
        positional = []
    values = {}
    for key, node in list(zip(order, positional)) + [(k, kw[k]) for k in order if k in kw]:
        try:
            values[key] = float(ast.literal_eval(node))
        except (ValueError, TypeError, SyntaxError):
            pass
    return values.get("atol"), values.get("rtol")


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]):
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.copy_location(ast.Name(self.mapping.get(node.id, node.id), node.ctx), node)


def find_reference(harness: Harness, test: KernelCall) -> Comparison:
    """Look in test_nki for a numpy expected value; otherwise say why the harness kernel must be the reference."""
    fn = harness.functions()["test_nki"]
    kernel_params = {a.arg for a in fn.args.args[:2]}
    stmts = _flatten(fn.body)
    kernel_outputs: set[str] = set()
    for stmt in stmts:
        if isinstance(stmt, ast.Assign):
            used = loaded_names(stmt.value)
            if used & (kernel_params | kernel_outputs):
                kernel_outputs |= {n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)}

    def from_kernel(expr: ast.expr) -> bool:
        return bool(loaded_names(expr) & (kernel_params | kernel_outputs))

    # Each kernel argument, and the names it was converted from, maps to one reference parameter.
    params, alias = [], {}
    for i, arg in enumerate(test.call.args):
        name = arg.id if isinstance(arg, ast.Name) else f"x{i}"
        params.append(name)
        while name is not None and name not in alias:
            alias[name] = params[-1]
            source = test.definitions.get(name)
            name = _conversion_source(source) if source is not None else None

    result = Comparison(None, "test_nki only compares the solution with the harness's reference kernel")
    for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
        if dotted(call.func).split(".")[-1] not in _COMPARATORS or len(call.args) < 2:
            continue
        a, b = call.args[:2]
        if from_kernel(a) == from_kernel(b):
            continue
        result.atol, result.rtol = _tolerances(call)
        expected = b if from_kernel(a) else a
        reference, why = _slice(harness, stmts, call, expected, alias, kernel_outputs)
        if reference is not None:
            result.reference, result.why_not_numpy = reference, ""
            reference.params = params
            return result
        result.why_not_numpy = why
    return result


def _slice(harness: Harness, stmts: list[ast.stmt], compare: ast.Call, expected: ast.expr, alias: dict[str, str],
           kernel_outputs: set[str]) -> tuple[NumpyReference | None, str]:
    """The expected expression plus the local assignments it depends on, inputs renamed to the parameters."""
    module = set(harness.definitions)
    ignore = set(alias) | module | set(dir(builtins))
    needed = loaded_names(expected) - ignore
    kept: list[ast.stmt] = []
    for stmt in reversed([s for s in stmts if s.lineno < compare.lineno]):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        target = stmt.targets[0].id
        if target not in needed or target in alias:
            continue
        if target in kernel_outputs:
            return None, f"the expected value `{target}` depends on a kernel output"
        kept.insert(0, stmt)
        needed.discard(target)
        needed |= loaded_names(stmt.value) - ignore
    if needed:
        return None, (f"the expected value `{ast.unparse(expected)}` uses {', '.join(sorted(needed))}, which are not "
                      "kernel inputs")
    used = set().union(*(loaded_names(n) for n in [expected, *kept])) & module
    closure = harness.closure(sorted(used))
    frameworks = harness.uses_non_nki_modules([*kept, ast.Expr(expected), *closure])
    if frameworks:
        return None, f"the expected value is computed with {', '.join(frameworks)}, not numpy"
    if any(isinstance(n, ast.FunctionDef) and harness.is_kernel(n) for n in closure):
        return None, "the expected value is computed by an NKI kernel"
    rename = _Rename(alias)
    statements = [rename.visit(copy.deepcopy(s)) for s in kept]
    expr = rename.visit(copy.deepcopy(expected))
    return NumpyReference([], statements, expr, sorted(used), compare.lineno), ""
