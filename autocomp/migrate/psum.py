"""The ``psum-operand`` rule: a matmul operand that lives in PSUM gets an explicit copy to SBUF.

v1's ``nl.matmul`` / ``nisa.nc_matmul`` accept a PSUM operand (a transpose or matmul result) and the legacy
compiler copies it to SBUF first, a Scalar-engine copy; v2 refuses it (``err_unsupported_memory``). The rule
writes that copy: ``nl.matmul(a, t)`` with ``t = nl.transpose(x)`` becomes ``nl.matmul(a, nl.copy(t))``
(``nl.copy`` of a PSUM tile is the same Scalar-engine copy). Only names the function binds, every time, to
a PSUM result are known to be in PSUM; a copy of an operand that is already in SBUF would cost an
instruction but not change a bit, so the rule errs on the side of not copying.
"""

from __future__ import annotations

import ast

# v1 calls whose result is a new PSUM tile
PSUM_RESULTS = {("language", "matmul"), ("language", "transpose"), ("isa", "nc_matmul"), ("isa", "nc_transpose")}
ALLOCATIONS = ("ndarray", "zeros", "full", "empty_like", "zeros_like")
MATMUL_OPERANDS = {("language", "matmul"): ("x", "y"), ("isa", "nc_matmul"): ("stationary", "moving")}


class PsumRules:
    """Mixed into the migrator: needs ``edits``, ``legacy_member``, ``modules``, ``note``."""

    psum_names: set[str]

    def find_psum_names(self, fn: ast.FunctionDef) -> set[str]:
        """Names every assignment of which in ``fn`` is a PSUM result or a PSUM allocation."""
        verdict: dict[str, bool] = {}
        for node in ast.walk(fn):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        verdict[t.id] = verdict.get(t.id, True) and node.value is not None and \
                            self._is_psum_value(node.value)
                    else:
                        for n in ast.walk(t):
                            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                                verdict[n.id] = False
            elif isinstance(node, (ast.AugAssign, ast.For, ast.With, ast.NamedExpr)):
                for n in ast.walk(node.target if isinstance(node, (ast.AugAssign, ast.For, ast.NamedExpr))
                                  else node):
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                        verdict[n.id] = False
        return {name for name, psum in verdict.items() if psum}

    def _is_psum_value(self, value: ast.AST) -> bool:
        if not isinstance(value, ast.Call):
            return False
        for module in ("language", "isa"):
            op = self.legacy_member(value.func, module)
            if op is None:
                continue
            if (module, op) in PSUM_RESULTS:
                return True
            if module == "language" and op in ALLOCATIONS:
                return any(k.arg == "buffer" and self.legacy_member(k.value, "language") == "psum"
                           for k in value.keywords)
        return False

    def stage_psum_operands(self, call: ast.Call, module: str, op: str, params: list[str]) -> None:
        """Wrap the call's PSUM operands (a known-PSUM name, or an index of one) in ``nl.copy``."""
        names = MATMUL_OPERANDS.get((module, op))
        if not names or not self.psum_names:
            return
        operands = {params[i]: a for i, a in enumerate(call.args) if i < len(params)}
        operands.update({k.arg: k.value for k in call.keywords if k.arg})
        copy = self._language_prefix()
        for name in names:
            node = operands.get(name)
            base = node.value if isinstance(node, ast.Subscript) else node
            if isinstance(base, ast.Name) and base.id in self.psum_names and copy is not None:
                self.edits.replace(node, f"{copy}.copy({self.edits.render(node)})")
                self.note("psum-operand", call)

    def _language_prefix(self) -> str | None:
        """The local name the file gives the language module (``nl``), or None when it has none."""
        return next((local for local, path in self.modules.items() if path == "neuronxcc.nki.language"), None)
