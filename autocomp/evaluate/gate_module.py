"""The static gate's module-level rules: what may stand at the top of a kernel file.

Module level may import, bind names to immutable constants, define functions and classes (checked by
gate_classes.py) and hold docstrings and an ``if __name__ == "__main__":`` guard; nothing there may run
code on import or leave mutable state a kernel call could use to carry data to the next call. An
imported name is never bound again, so the gate always knows what it denotes. Used as a mixin of the
gate's checker (gate.py), whose name resolution (_is_nki, _is_numpy, _root, ...) and fail() it relies on.
"""

from __future__ import annotations

import ast

from autocomp.evaluate import gate_subset as sub


def is_main_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` with no else branch."""
    if not isinstance(node, ast.If) or node.orelse:
        return False
    t = node.test
    return (isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq)
            and isinstance(t.left, ast.Name) and t.left.id == "__name__"
            and isinstance(t.comparators[0], ast.Constant) and t.comparators[0].value == "__main__")


def clip(node: ast.AST, width: int = 60) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= width else text[:width - 3] + "..."


def last_name(func: ast.Attribute | ast.Name) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id


def plain_names(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(plain_names(e) for e in target.elts)
    return isinstance(target, ast.Starred) and plain_names(target.value)


def names_in(target: ast.expr) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def bound_names(body: list[ast.AST]) -> set[str]:
    """Names a block binds (assignments, defs, imports, loop targets), not looking into nested functions."""
    names: set[str] = set()
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        todo.extend(ast.iter_child_nodes(node))
    return names


class ModuleLevelRules:
    """Module-level checks of the gate's checker (see the module docstring)."""

    def _module_statement(self, stmt: ast.stmt) -> None:
        """What may stand at module level: imports, constants, defs, docstrings and the __main__ guard."""
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Pass)) \
                or type(stmt) in sub.CONSTRUCT_ADVICE or isinstance(stmt, (ast.Global, ast.Nonlocal)):
            return  # checked by the visitor
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            return  # a docstring
        if is_main_guard(stmt):
            self.main_guards.add(id(stmt))
            return
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            odd = [t for t in targets if not plain_names(t) and not isinstance(t, ast.Attribute)
                   and not (isinstance(t, ast.Subscript) and self._root(t) is not None
                            and self._root(t).id in self.aliases)]
            if odd:  # attribute targets and module patches: the visitor names them
                self.fail(stmt, f"module-level assignment to {clip(odd[0])} is not allowed; module level may "
                                "only bind names to constants")
            if stmt.value is not None:
                self._check_constant(stmt.value, clip(targets[0], 30))
                self._bind_nki_alias(targets, stmt.value)
            self.constants.update(n for t in targets for n in names_in(t))
            if isinstance(stmt.value, (ast.Call, ast.Lambda)):
                self.objects.update(n for t in targets for n in names_in(t))
            return
        if isinstance(stmt, ast.Assert):
            self._check_constant(stmt.test, "assert")
            return
        kind = {ast.Expr: "expression statement", ast.If: "`if`", ast.For: "`for` loop", ast.While: "`while` loop",
                ast.With: "`with` block", ast.Delete: "`del`", ast.Raise: "`raise`"}.get(type(stmt), "statement")
        advice = (" (only `if __name__ == \"__main__\":` is allowed there)" if isinstance(stmt, ast.If) else "")
        self.fail(stmt, f"module-level {kind} `{clip(stmt)}` runs code when the file is imported{advice}; module "
                        "level may only import, define constants and functions; move it into a function or drop it")

    def _bind_nki_alias(self, targets: list[ast.expr], value: ast.expr) -> None:
        """``jit = nki.jit`` or ``sb_mod = nki.compiler.sbuf.mod_alloc``: the name denotes an NKI object."""
        if len(targets) == 1 and isinstance(targets[0], ast.Name) and isinstance(value, (ast.Name, ast.Attribute)) \
                and self._is_nki(value):
            self.from_nki.add(targets[0].id)

    def _check_constant(self, node: ast.expr, what: str) -> None:
        bad = self._non_constant(node, in_call=False)
        if bad is None:
            return
        if isinstance(bad, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            kind = {ast.List: "list", ast.Dict: "dict", ast.Set: "set", ast.ListComp: "list", ast.DictComp: "dict",
                    ast.SetComp: "set", ast.GeneratorExp: "generator"}[type(bad)]
            self.fail(bad, f"module-level {what} = {clip(bad, 40)} is a mutable {kind} a kernel could keep state in "
                           "across calls; use a tuple (or build it inside the kernel)")
        elif isinstance(bad, ast.Call) and self._is_numpy(bad.func) and self._constant_callable(bad.func):
            self.fail(bad, f"module-level {what} = {clip(bad, 40)} builds a numpy array (state a kernel could change "
                           "across calls); numpy calls at module level may only make scalars and dtypes")
        elif isinstance(bad, ast.Call) and isinstance(bad.func, ast.Name) and bad.func.id in self.classes \
                and not self._local(bad.func.id):
            self.fail(bad, f"module-level {what} = {clip(bad, 40)} creates an instance of class {bad.func.id} when "
                           "the file is imported: its attributes would keep state across kernel calls; create it "
                           "inside the kernel")
        elif isinstance(bad, ast.Call):
            self.fail(bad, f"module-level {what} = {clip(bad, 40)} calls {clip(bad.func, 30)} when the file is "
                           "imported; module-level values may only use constants, NKI, math and numpy dtype calls: "
                           "compute it inside the kernel")
        else:
            self.fail(bad, f"module-level {what} = {clip(bad, 40)} is not a constant expression; module level may "
                           "only bind names to constants")

    def _non_constant(self, node: ast.AST, in_call: bool) -> ast.AST | None:
        """The first part of a module-level value that is not an immutable constant, or None."""
        if isinstance(node, (ast.Constant, ast.Name, ast.Lambda)):
            return None
        if isinstance(node, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp,
                             ast.GeneratorExp)) and not in_call:
            return node
        if isinstance(node, ast.Call):
            if not self._constant_callable(node.func):
                return node
            # NKI calls and partial may take lists (they do not hand them back); a builtin like max([], default=[])
            # or np.float32([1]) would return a mutable object, so their arguments must be constants themselves.
            loose = self._is_nki(node.func) or self._is_partial(node.func)
            args = [*node.args, *(k.value for k in node.keywords)]
            if self._is_numpy(node.func):  # np.float32((1, 2)) is an array: numpy values take scalars only
                return node if any(isinstance(a, (ast.Tuple, ast.Starred)) for a in args) else next(
                    (b for a in args if (b := self._non_constant(a, in_call=False)) is not None), None)
            for c in [node.func, *args]:
                if isinstance(c, ast.GeneratorExp) and not loose:  # tuple(i * 2 for i in range(4))
                    bad = next((b for g in [c.elt, *c.generators] if (b := self._non_constant(g, False)) is not None),
                               None)
                else:
                    bad = self._non_constant(c, in_call=loose)
                if bad is not None:
                    return bad
            return None
        if isinstance(node, (ast.comprehension, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp,
                             ast.List, ast.Dict, ast.Set, ast.Tuple, ast.Attribute, ast.BinOp, ast.UnaryOp,
                             ast.BoolOp, ast.Compare, ast.IfExp, ast.Subscript, ast.Slice, ast.JoinedStr,
                             ast.FormattedValue, ast.Starred)) or isinstance(node, (ast.expr_context, ast.operator,
                                                                                    ast.boolop, ast.unaryop,
                                                                                    ast.cmpop)):
            return next((b for c in ast.iter_child_nodes(node) if (b := self._non_constant(c, in_call)) is not None),
                        None)
        return node

    def _is_partial(self, func: ast.expr) -> bool:
        root = self._root(func)
        if root is None or self._local(root.id) or not isinstance(func, (ast.Name, ast.Attribute)):
            return False
        return (self.aliases.get(root.id) or self.imported.get(root.id)) == "functools" \
            and last_name(func) == "partial"

    def _constant_callable(self, func: ast.expr) -> bool:
        """Callables whose result at import time is an immutable value (or an NKI object)."""
        if isinstance(func, ast.Name) and self._builtin(func.id):
            return func.id in sub.CONSTANT_BUILTINS
        if self._is_nki(func):
            return True
        root = self._root(func)
        if root is None or self._local(root.id):
            return False
        mod = self.aliases.get(root.id) or self.imported.get(root.id, "")
        if mod in ("math", "ml_dtypes") or self._is_partial(func):
            return True
        if self._is_numpy(func):
            return isinstance(func, (ast.Attribute, ast.Name)) and last_name(func) in sub.NUMPY_VALUE_CALLS
        return False


    def _check_rebinding(self) -> None:
        """An imported (or NKI-aliased) name bound again at module level: the gate would check it as what the
        import made it while it runs as something else (``jit = my_decorator`` after ``from nki import jit``)."""
        meanings: dict[str, dict[object, ast.AST]] = {}
        for stmt in self.tree.body:
            nodes = ast.walk(stmt) if id(stmt) in self.main_guards else [stmt, *(
                stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)])]
            for node in nodes:
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    for a in node.names:
                        bound = a.asname or a.name.split(".")[0]
                        target = f"{node.module}.{a.name}" if isinstance(node, ast.ImportFrom) else \
                            a.name if a.asname else bound  # `from neuronxcc import nki` = `import neuronxcc.nki as nki`
                        meanings.setdefault(bound, {}).setdefault(("import", target), node)
                elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    meanings.setdefault(node.name, {})[id(node)] = node
                elif node is not None and isinstance(node, ast.expr):
                    for n in ast.walk(node):
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                            meanings.setdefault(n.id, {})[id(n)] = n
        watched = set(self.aliases) | set(self.imported) | self.from_nki | self.classes
        for name, bound in meanings.items():
            if name in watched and len(bound) > 1:
                self.fail(list(bound.values())[-1], f"{name} is bound more than once at module level (by an import "
                                                    "and again); use a different name for the second one")
