"""The import structure of ``autocomp``: sibling NKI dialects over one core, and no cycles between packages.

Every module of ``autocomp/`` is parsed (not imported) and every ``import`` in it,
at any depth (function-level imports included), absolute or relative, is
resolved to the module it names. The rules:

- the v1 frontend (``autocomp.nki.v1``) and the v2 frontend (``autocomp.nki.v2``)
  never import each other;
- the core (``autocomp.nki`` outside ``v1/`` and ``v2/``) never imports a frontend
  (it names them in ``dialects.py`` and ``install`` loads them);
- packages (the first two components of a module name: ``autocomp.nki``,
  ``autocomp.perf``, ...) import each other without cycles, except the cycles in
  ``KNOWN_PACKAGE_CYCLES``, which may only shrink: fixing one fails this test until
  it is removed from the list;
- ``autocomp.targets`` (the hardware target records) is the bottom layer: it imports
  nothing else of autocomp, and no module outside it spells a target name or alias in
  code (docstrings and comments may): everything else asks a record's capabilities.

Names are not imports: ``install`` loads the frontends named in ``dialects.py``,
and ``nki.benchmark`` / ``nki.profile`` reach the cost model through
``launch.DEFAULT_COST_MODEL`` ("autocomp.perf:profile"), because the cost model
imports the simulator's trace.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

AUTOCOMP = Path(__file__).resolve().parents[2] / "autocomp"

FRONTENDS = ("autocomp.nki.v1", "autocomp.nki.v2")
TARGETS = "autocomp.targets"
# A target name or alias (trn1, inf2, gen3, ...) in a string constant: a comparison, a default or a message that
# should take the name from a target record (autocomp.targets) instead. Nothing is allow-listed.
TARGET_NAME = re.compile(r"trn\d|inf2|gen[234]")

# Cycles between packages outside the NKI simulator that predate the dialect split; each is to be removed, never
# extended (issue #14, "one place per seam"). The root package ``autocomp`` counts as a package of its own.
KNOWN_PACKAGE_CYCLES = [
]


def module_name(path: Path, root: Path) -> tuple[str, bool]:
    """(dotted module name, whether it is a package's ``__init__``) of a file under ``root``'s parent."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules ``source`` (module ``module``) imports anywhere in its body, resolved against ``known``.

    ``from a import b`` names the module ``a.b`` when that is a module, else ``a``;
    other names resolve to the longest known module prefix.
    """
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
    resolved = set()
    for name in found:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known and name != module:
            resolved.add(name)
    return resolved


def import_graph(root: Path = AUTOCOMP) -> dict[str, set[str]]:
    """Module -> the modules of ``root``'s package it imports."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = {name for name, _ in files}
    return {name: imports_of(path.read_text(), name, is_pkg, known) for (name, is_pkg), path in files.items()}


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the components of more than one node (the cycles)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        src = package_of(module)
        packages.setdefault(src, set()).update(package_of(t) for t in targets if package_of(t) != src)
    return packages


def edges_between(graph: dict[str, set[str]], source: str, target: str) -> list[str]:
    return sorted(f"{m} -> {t}" for m, ts in graph.items() if within(m, source) for t in ts if within(t, target))


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_the_dialect_frontends_never_import_each_other(graph):
    v1, v2 = FRONTENDS
    assert edges_between(graph, v1, v2) == []
    assert edges_between(graph, v2, v1) == []


def test_the_core_never_imports_a_frontend(graph):
    core = {m: ts for m, ts in graph.items() if within(m, "autocomp.nki") and not any(within(m, f) for f in FRONTENDS)}
    assert {"autocomp.nki.kernel", "autocomp.nki.ops.common", "autocomp.nki.functional.elementwise"} <= set(core)
    bad = [f"{m} -> {t}" for m, ts in sorted(core.items()) for t in sorted(ts) if any(within(t, f) for f in FRONTENDS)]
    assert bad == []


def test_no_import_cycles_between_packages_beyond_the_known_ones(graph):
    cycles = strongly_connected(package_graph(graph))
    assert not [c for c in cycles if "autocomp.nki" in c], "the NKI simulator is in a package cycle"
    new = [sorted(c) for c in cycles if c not in KNOWN_PACKAGE_CYCLES]
    assert new == [], f"new package cycles: {new}"
    fixed = [sorted(c) for c in KNOWN_PACKAGE_CYCLES if c not in cycles]
    assert fixed == [], f"these cycles are gone: remove them from KNOWN_PACKAGE_CYCLES: {fixed}"


def test_the_walker_resolves_relative_and_function_level_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for name in ("__init__.py", "a.py", "b.py", "sub/__init__.py", "sub/c.py"):
        (pkg / name).write_text("")
    (pkg / "sub" / "c.py").write_text("from .. import a\n\ndef f():\n    from ..b import x\n    import pkg.sub\n")
    (pkg / "a.py").write_text("from pkg.sub.c import f\n")
    graph = import_graph(pkg)
    assert graph["pkg.sub.c"] == {"pkg.a", "pkg.b", "pkg.sub"}
    assert graph["pkg.a"] == {"pkg.sub.c"}
    assert strongly_connected(graph) == [{"pkg.a", "pkg.sub.c"}]


def docstring_constants(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes of a module, its classes and its functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def target_names_in_code(root: Path = AUTOCOMP, exempt: str = "targets") -> list[str]:
    """``file:line: 'constant'`` for every string constant (f-string parts included, docstrings not) that spells a
    target name or alias, in the modules under ``root`` outside its ``exempt`` package."""
    hits = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] == exempt:
            continue
        tree = ast.parse(path.read_text())
        docs = docstring_constants(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                    and TARGET_NAME.search(node.value)):
                hits.append(f"{path.relative_to(root.parent)}:{node.lineno}: {node.value!r}")
    return hits


def test_autocomp_targets_is_the_bottom_layer(graph):
    assert TARGETS in graph, "autocomp/targets/__init__.py is missing"
    bad = [f"{m} -> {t}" for m, ts in sorted(graph.items()) if within(m, TARGETS) for t in sorted(ts)
           if not within(t, TARGETS)]
    assert bad == []


def test_no_module_outside_autocomp_targets_spells_a_target_name():
    assert target_names_in_code() == [], "ask the target record (autocomp.targets) instead of naming a target"


def test_the_target_name_scan_sees_code_and_f_strings_but_not_docstrings(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "targets").mkdir(parents=True)
    (pkg / "targets" / "data.py").write_text('NAME = "trn1"\n')
    (pkg / "ops.py").write_text('"""Runs on trn2."""\n\n\ndef f(t):\n    """Not on inf2."""\n    # gen3 is fine here\n'
                                '    if t == "trn1":\n        return f"needs {t} or gen4"\n')
    assert target_names_in_code(pkg) == ["pkg/ops.py:7: 'trn1'", "pkg/ops.py:8: ' or gen4'"]
