"""Reading an Autocomp-style harness: its imports, module-level definitions, kernel and test functions.

Everything is found with ``ast``; the harness is never imported (it may need torch_xla or a device).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from pathlib import Path

from autocomp.pyparse import parse_python

MARKER = "# SUBSTITUTE HERE"
TEST_FUNCTION = "test_nki"
BENCH_FUNCTION = "benchmark_nki"
# Decorators that make a function an NKI kernel (last component of the dotted name).
KERNEL_DECORATORS = {"jit", "baremetal", "benchmark", "profile", "trace", "simulate"}
NON_NKI_MODULES = ("torch", "torch_xla", "jax", "tensorflow")


class HarnessError(Exception):
    """A file that cannot be converted; the message names the file, line and what was expected."""


def dotted(node: ast.AST) -> str:
    """``np.random.rand`` -> "np.random.rand"; "" when the node is not a plain name/attribute chain."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def loaded_names(node: ast.AST) -> set[str]:
    """Names read anywhere inside ``node``."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


@dataclass
class Harness:
    """A parsed harness file."""

    path: Path
    text: str
    tree: ast.Module
    aliases: dict[str, str] = field(default_factory=dict)  # bound name -> dotted module or object
    definitions: dict[str, ast.stmt] = field(default_factory=dict)  # module-level name -> defining statement

    @classmethod
    def read(cls, path: str | Path) -> Harness:
        path = Path(path)
        if not path.is_file():
            raise HarnessError(f"{path}: no such file")
        if path.suffix != ".py":
            raise HarnessError(f"{path}: expected a Python harness (.py)")
        text = path.read_text()
        try:
            tree = parse_python(text, filename=str(path))
        except SyntaxError as e:
            raise HarnessError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
        harness = cls(path, text, tree)
        harness._index()
        if MARKER not in text and not ({TEST_FUNCTION, BENCH_FUNCTION} & set(harness.functions())):
            raise HarnessError(f"{path}: not an Autocomp-style harness: expected a `{MARKER}` marker and "
                               f"{TEST_FUNCTION}(ref_func, test_func) / {BENCH_FUNCTION}(nki_func) functions")
        return harness

    def _index(self) -> None:
        for node in self.tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    bound = a.asname or a.name.split(".")[0]
                    self.aliases[bound] = a.name if a.asname else bound
                    self.definitions[bound] = node
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                    self.definitions[a.asname or a.name] = node
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                self.definitions[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            self.definitions[n.id] = node

    # ------------------------------------------------------------ lookups
    def functions(self) -> dict[str, ast.FunctionDef]:
        return {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}

    def resolve(self, name: str) -> str:
        """Dotted name with the leading import alias expanded (``nl.exp`` -> ``neuronxcc.nki.language.exp``)."""
        head, _, rest = name.partition(".")
        full = self.aliases.get(head, head)
        return f"{full}.{rest}" if rest else full

    @property
    def dialect(self) -> str:
        modules = set(self.aliases.values())
        if any(m == "nki" or m.startswith("nki.") for m in modules):
            return "v2"
        if any(m.startswith("neuronxcc.nki") or m == "neuronxcc" for m in modules):
            return "v1"
        raise HarnessError(f"{self.path}: imports neither neuronxcc.nki (legacy dialect) nor nki (current dialect)")

    def is_kernel(self, fn: ast.FunctionDef) -> bool:
        for dec in fn.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            if dotted(target).split(".")[-1] in KERNEL_DECORATORS:
                return True
        return False

    def main_test_call(self) -> ast.Call | None:
        """``test_nki(REF, solution)`` in the ``if __name__ == "__main__":`` block."""
        for node in self.tree.body:
            if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
                for call in ast.walk(node):
                    if isinstance(call, ast.Call) and dotted(call.func) == TEST_FUNCTION and call.args:
                        return call
        return None

    def kernel_name(self, requested: str | None = None) -> str:
        """The harness's reference kernel: ``--function``, else test_nki's first argument, else the one @nki.jit."""
        funcs = self.functions()
        kernels = sorted(name for name, fn in funcs.items() if self.is_kernel(fn))
        if requested:
            if requested not in funcs:
                raise HarnessError(f"{self.path}: no function {requested!r}; kernels in the file: "
                                   f"{', '.join(kernels) or 'none'}")
            return requested
        call = self.main_test_call()
        if call is not None and isinstance(call.args[0], ast.Name) and call.args[0].id in funcs:
            return call.args[0].id
        if len(kernels) == 1:
            return kernels[0]
        if not kernels:
            raise HarnessError(f"{self.path}: no NKI kernel found: expected a function decorated with @nki.jit "
                               f"passed to {TEST_FUNCTION}(ref, solution) under `if __name__ == \"__main__\"`")
        raise HarnessError(f"{self.path}: several kernels ({', '.join(kernels)}); choose one with --function")

    # ------------------------------------------------------------ source extraction
    def closure(self, roots: list[str], *, skip: set[str] = frozenset()) -> list[ast.stmt]:
        """Module-level statements that ``roots`` need, transitively, in file order (roots included)."""
        needed, todo = set(), list(roots)
        while todo:
            name = todo.pop()
            node = self.definitions.get(name)
            if name in skip or node is None or id(node) in needed:
                continue
            needed.add(id(node))
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                todo.extend(loaded_names(node) - set(dir(builtins)))
        return [n for n in self.tree.body if id(n) in needed]

    def segment(self, node: ast.stmt) -> str:
        """The original source text of a statement, decorators and comments inside it included."""
        start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
        lines = self.text.splitlines()[start - 1:node.end_lineno]
        return "\n".join(lines)

    def uses_non_nki_modules(self, nodes: list[ast.stmt]) -> list[str]:
        """Non-NKI framework modules (torch, jax, ...) that these statements rely on."""
        found = set()
        for node in nodes:
            names = loaded_names(node) | ({a.asname or a.name for a in node.names}
                                          if isinstance(node, (ast.Import, ast.ImportFrom)) else set())
            for name in names:
                module = self.aliases.get(name, "")
                if module.split(".")[0] in NON_NKI_MODULES:
                    found.add(module.split(".")[0])
        return sorted(found)
