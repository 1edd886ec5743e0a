"""Which documented NKI functions have a behaviour test: the evidence behind "present, matching and working".

``tests/nki/data/behaviour_tests.json`` maps each documented function (the keys of
``tests/fakes/api_signatures.py``: ``nki.isa.nc_matmul``, ``neuronxcc.nki.language.exp``,
``nki.language.NkiTensor.reshape``) to the tests in ``tests/nki/`` that exercise it and check numbers.
An entry is only believed when the test's code shows it, read statically (nothing runs here):

- the test function exists;
- the function, or a module-level function or value it reaches by name (its kernels, helpers and
  tables, transitively), refers to the documented name through the module's own imports, so
  ``nisa.nc_matmul`` counts for ``nki.isa.nc_matmul`` only in a module that imported ``nki.isa as
  nisa``; a language function passed as an ISA call's operand (``op=nl.exp``) does not count. A method
  of a value class (``NkiTensor.reshape``, the legacy ``tensor.view``) counts as a ``.reshape``
  attribute in a reached function that itself calls that dialect's API (a kernel or kernel helper);
- the same code checks numbers: a numeric assertion helper (``assert_close``,
  ``np.testing.assert_allclose``, ``np.array_equal``, ...) or an ``assert`` comparing values, not
  just an error code or a message.

Run ``python -m tests.fakes.api_coverage`` for the per-dialect table; ``--suggest`` lists, for each
documented function without an entry, the tests that would qualify.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from autocomp.pyparse import parse_python
from tests.fakes.api_signatures import check, load

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests" / "nki"
REGISTRY = TESTS / "data" / "behaviour_tests.json"
DIALECT_PREFIX = {"v1": "neuronxcc.nki", "v2": "nki"}
# Documented classes whose instances kernels hold: their methods are called on values, not through a module path.
VALUE_CLASSES = {"neuronxcc.nki.tensor", "nki.language.NkiTensor", "nki.isa.NkiInstruction"}
_COLLECTIVES = ("not simulated: the docs define each collective over a ReplicaGroup of ranks, separate devices of a "
                "distributed job that each run the kernel on their own inputs; a problem here is one kernel run on "
                "one set of inputs, so there is no peer data to exchange")
# Documented functions no behaviour test can exercise, and the documented reason.
NOT_WORKING: dict[str, dict[str, str]] = {
    "v1": {},
    "v2": {f"nki.collectives.{name}": _COLLECTIVES for name in (
        "all_reduce", "all_gather", "all_gather_v", "reduce_scatter", "all_to_all", "all_to_all_v",
        "collective_permute", "collective_permute_implicit", "collective_permute_implicit_reduce",
        "collective_permute_implicit_current_processing_rank_id", "rank_id")},
}
_NUMERIC_CALL = re.compile(r"(assert_?close|allclose|array_equal|assert_array|assert_equal|isclose)$", re.I)


@dataclass
class TestCode:
    """What one test function reaches: resolved dotted names, attribute names, and whether it checks numbers."""
    node_id: str
    dialects: set[str]
    names: set[str] = field(default_factory=set)  # "nki.isa.nc_matmul", "nki.language.tile_size.pmax", ...
    # dialect -> attribute names used in reached functions that call that dialect's API (kernels and their helpers)
    attributes: dict[str, set[str]] = field(default_factory=dict)
    checks_numbers: bool = False


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted name, from the module's top-level imports."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in aliases:
        return ".".join([aliases[node.id]] + parts[::-1])
    return None


def _top_level(tree: ast.Module) -> dict[str, ast.AST]:
    """Module-level functions, classes and assigned values by name: what a test can reach by name."""
    out: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[node.name] = node
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = node
    return out


def _reached(start: ast.AST, top: dict[str, ast.AST]) -> list[ast.AST]:
    seen, todo, order = {id(start)}, [start], []
    while todo:
        node = todo.pop()
        order.append(node)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in top and id(top[sub.id]) not in seen:
                seen.add(id(top[sub.id]))
                todo.append(top[sub.id])
    return order


def _is_numeric_assert(node: ast.Assert) -> bool:
    """An assert that compares values: not an error code, a message or a type."""
    for sub in ast.walk(node.test):
        if isinstance(sub, ast.Attribute) and sub.attr in ("code", "message", "args", "__name__"):
            return False
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in ("str", "repr", "type",
                                                                                            "isinstance"):
            return False
    for sub in ast.walk(node.test):
        if isinstance(sub, ast.Compare):
            operands = [sub.left] + sub.comparators
            if any(isinstance(o, ast.Constant) and isinstance(o.value, str) for o in operands):
                continue
            if any(isinstance(op, (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)) for op in sub.ops):
                return True
        if isinstance(sub, ast.Call) and _NUMERIC_CALL.search(_call_name(sub)):
            return True
    return False


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _checks_numbers(nodes: list[ast.AST]) -> bool:
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and _NUMERIC_CALL.search(_call_name(sub)):
                return True
            if isinstance(sub, ast.Assert) and _is_numeric_assert(sub):
                return True
    return False


def _isa_operands(node: ast.AST, aliases: dict[str, str]) -> set[int]:
    """Arguments of ISA calls: ``nisa.activation(op=nl.exp, ...)`` exercises the instruction's table of
    functions, not the language function ``nl.exp``, so such a reference is no evidence for it."""
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and (_dotted(sub.func, aliases) or "").split(".")[-2:-1] == ["isa"]:
            out.update(id(a) for a in sub.args + [k.value for k in sub.keywords])
    return out


@cache
def scan_module(path: Path) -> dict[str, TestCode]:
    """Every ``test_*`` function of one test module with what it reaches."""
    tree = parse_python(path.read_text(), str(path))
    aliases = _aliases(tree)
    dialects = {d for d, prefix in DIALECT_PREFIX.items()
                if any(v == prefix or v.startswith(prefix + ".") for v in aliases.values())}
    top = _top_level(tree)
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    out = {}
    for name, node in top.items():
        if not (name.startswith("test_") and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))):
            continue
        code = TestCode(f"{rel}::{name}", dialects)
        nodes = _reached(node, top)
        for n in nodes:
            operands = _isa_operands(n, aliases)
            names, attributes = set(), set()
            for sub in ast.walk(n):
                if id(sub) in operands:
                    continue
                if isinstance(sub, (ast.Attribute, ast.Name)):
                    dotted = _dotted(sub, aliases)
                    if dotted is not None:
                        names.add(dotted)
                    elif isinstance(sub, ast.Attribute):
                        attributes.add(sub.attr)
            code.names |= names
            if n is not node and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for d, prefix in DIALECT_PREFIX.items():
                    if any(x.startswith(prefix + ".") for x in names):
                        code.attributes.setdefault(d, set()).update(attributes)
        code.checks_numbers = _checks_numbers(nodes)
        out[name] = code
    return out


def all_tests() -> dict[str, TestCode]:
    return {code.node_id: code for path in sorted(TESTS.rglob("test_*.py")) for code in scan_module(path).values()}


def _dialect_of(key: str) -> str:
    return "v1" if key.startswith("neuronxcc.") else "v2"


def exercises(code: TestCode, key: str) -> bool:
    """Whether the test's code refers to the documented function ``key`` (see the module docstring)."""
    if key in code.names:
        return True
    owner, _, member = key.rpartition(".")
    return owner in VALUE_CLASSES and member in code.attributes.get(_dialect_of(key), ())


def evidence_problems(key: str, node_id: str, tests: dict[str, TestCode]) -> list[str]:
    code = tests.get(node_id)
    if code is None:
        return [f"{node_id}: no such test function in tests/nki"]
    problems = []
    if not exercises(code, key):
        problems.append(f"{node_id} does not refer to {key} (directly or through a kernel or helper it calls)")
    if not code.checks_numbers:
        problems.append(f"{node_id} checks no numbers (no numeric assertion)")
    return problems


def registry() -> dict[str, dict[str, list[str]]]:
    return json.loads(REGISTRY.read_text())


def documented_functions(dialect: str) -> list[str]:
    """The documented functions and methods of a dialect, in the recorded order."""
    data = load(dialect)
    keys = []
    for mod_name, api in data["modules"].items():
        keys += [f"{mod_name}.{n}" for n, spec in api["functions"].items() if spec["documented"]]
        for cls, spec in api["classes"].items():
            if spec["documented"]:
                keys += [f"{mod_name}.{cls}.{m}" for m in spec["methods"]]
    return keys


def suggest(key: str, tests: dict[str, TestCode], limit: int = 2) -> list[str]:
    """Qualifying tests for ``key``, those named after the function first, then the most focused."""
    short = key.rsplit(".", 1)[-1].strip("_")
    found = [c for c in tests.values() if c.checks_numbers and exercises(c, key)]
    found.sort(key=lambda c: (short not in c.node_id.split("::")[1], len(c.names), c.node_id))
    return [c.node_id for c in found[:limit]]


@dataclass
class Coverage:
    dialect: str
    documented: int
    present: int
    matching: int
    working: int
    excepted: int

    def line(self) -> str:
        def pct(n):
            return f"{n}/{self.documented} ({100 * n / self.documented:.1f}%)"
        return (f"{self.dialect}: documented functions {self.documented}: present {pct(self.present)}, documented "
                f"signature {pct(self.matching)}, working (behaviour test checking numbers) {pct(self.working)}, "
                f"listed exceptions {self.excepted}")


def coverage(dialect: str, exceptions: dict[str, str]) -> Coverage:
    keys = documented_functions(dialect)
    found = {f.key: f for f in check(dialect)}
    tests, reg = all_tests(), registry().get(dialect, {})
    working = [k for k in keys if reg.get(k) and not any(evidence_problems(k, t, tests) for t in reg[k])]
    return Coverage(dialect, len(keys), sum(found[k].present for k in keys), sum(found[k].matches for k in keys),
                    len(working), sum(k in exceptions for k in keys))


def main(argv: list[str]) -> int:
    tests = all_tests()
    for d in ("v1", "v2"):
        print(coverage(d, NOT_WORKING[d]).line())
        reg = registry().get(d, {})
        for k in documented_functions(d):
            if not reg.get(k) and k not in NOT_WORKING[d]:
                print(f"  {k}: no behaviour test" + (f"; candidates: {suggest(k, tests)}" if "--suggest" in argv
                                                      else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
