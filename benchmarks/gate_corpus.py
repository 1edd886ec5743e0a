"""Run the static gate over every NKI kernel file under the given directories and print what it refuses.

    python benchmarks/gate_corpus.py DIR [DIR ...] [--kernels] [--all] [--allow MODULE ...]

A file counts as a kernel file when it imports an NKI namespace (``neuronxcc.nki`` or ``nki``). Each
refused file is printed with every violation, so a gate change can be checked against a corpus of
legitimate kernels (the suite, the tests, public NKI samples) before it refuses one of them.

Public samples mix kernels with test harness code (torch, unittest, file I/O) that no candidate
needs. ``--kernels`` gates only the kernel part of each file: the NKI-decorated functions (and the
functions handed to nki.jit/baremetal/simulate_kernel/...), every top-level function, constant and
import they reach, in file order. Files without a kernel are skipped.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from autocomp.evaluate.gate import check_source


def nki_file(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if any(n == "nki" or n.startswith(("nki.", "neuronxcc")) for n in names):
            return True
    return False


def entry_point(tree: ast.Module) -> str:
    """The first top-level function with a decorator, else the last top-level function."""
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    decorated = [f for f in functions if f.decorator_list]
    return (decorated or functions or [ast.FunctionDef(name="<none>")])[0 if decorated else -1].name


_KERNEL_WRAPPERS = ("jit", "baremetal", "simulate", "benchmark", "profile", "trace")


def _wraps_kernel(node: ast.AST) -> bool:
    text = ast.unparse(node)
    return "nki" in text or any(w in text for w in _KERNEL_WRAPPERS)


def _free_names(stmt: ast.stmt) -> set[str]:
    """Names a statement reads and does not bind itself (a function's parameters and locals are its own)."""
    loads = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    if not isinstance(stmt, ast.FunctionDef):
        return loads
    own = {a.arg for a in ast.walk(stmt) if isinstance(a, ast.arg)}
    own |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    return loads - own


def kernel_part(tree: ast.Module) -> tuple[ast.Module, str] | None:
    """The kernels of a file with what they reach (see the module docstring), and the first kernel's name."""
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    seeds = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)
             and any(_wraps_kernel(d) and "pytest" not in ast.unparse(d) for d in n.decorator_list)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _wraps_kernel(node.func):
            seeds += [a.id for a in node.args
                      if isinstance(a, ast.Name) and isinstance(defs.get(a.id), ast.FunctionDef)]
    if not seeds:
        return None
    assigned: dict[str, list[ast.stmt]] = {}
    imported: dict[str, ast.stmt] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        assigned.setdefault(n.id, []).append(stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for a in stmt.names:
                imported[(a.asname or a.name).split(".")[0]] = stmt
    keep: set[int] = set()
    names: set[str] = set()
    todo = list(dict.fromkeys(seeds))
    while todo:
        name = todo.pop()
        if name in names:
            continue
        names.add(name)
        if name in defs:
            stmts = [defs[name]]
        else:
            stmts = assigned.get(name, []) + ([imported[name]] if name in imported else [])
        for stmt in stmts:
            keep.add(id(stmt))
            todo += sorted(_free_names(stmt))
    body: list[ast.stmt] = []
    for stmt in tree.body:
        if id(stmt) not in keep:
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):  # only the names the kernels use
            used = [a for a in stmt.names if (a.asname or a.name).split(".")[0] in names]
            stmt = type(stmt)(**{**{f: getattr(stmt, f) for f in stmt._fields}, "names": used})
            ast.copy_location(stmt, stmt)
        body.append(stmt)
    return ast.Module(body=body, type_ignores=[]), seeds[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--kernels", action="store_true", help="gate only the kernels and what they reach")
    parser.add_argument("--all", action="store_true", help="also gate .py files that import no NKI namespace")
    parser.add_argument("--allow", action="append", default=[], help="an extra allowed import (repeatable)")
    args = parser.parse_args(argv)
    passed = refused = skipped = 0
    for root in args.dirs:
        if not root.exists():
            print(f"{root}: no such file or directory", file=sys.stderr)
            return 2
        for path in sorted([root] if root.is_file() else root.rglob("*.py")):
            try:
                source = path.read_text()
                tree = ast.parse(source)
            except (UnicodeDecodeError, SyntaxError) as e:
                print(f"SKIP {path}: {type(e).__name__}")
                skipped += 1
                continue
            if not args.all and not nki_file(tree):
                continue
            entry = entry_point(tree)
            if args.kernels:
                part = kernel_part(tree)
                if part is None:
                    continue
                source, entry = ast.unparse(part[0]), part[1]
            result = check_source(source, entry, allowed_imports=tuple(args.allow))
            if result.ok:
                passed += 1
                continue
            refused += 1
            print(f"REFUSED {path}")
            for v in ([result.syntax_error] if result.syntax_error else result.violations):
                print(f"    {path.name}:{v.line}: {v.message}")
    print(f"{passed} passed, {refused} refused, {skipped} unreadable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
