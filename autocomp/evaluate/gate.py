"""The static gate: accept a candidate only when it is written in the Python subset NKI kernels are.

Defence in depth (the sandbox is the real wall). The gate is an allow-list (the tables are in
gate_subset.py, the module-level rules in gate_module.py): a construct, builtin, import or module
attribute not listed there is refused.

- Module level: imports of NKI modules, numpy, math, ml_dtypes (functools.reduce/partial, itertools'
  iterators, operator's arithmetic, typing's type names, dataclasses' dataclass/field), constants
  (literals, tuples, arithmetic, NKI/numpy/math values and calls), function definitions with NKI
  decorators, helper classes and dataclasses (gate_classes.py), docstrings, and
  ``if __name__ == "__main__":`` (never run by the evaluator; it is checked like the rest of the file).
- Functions: assignments, loops, if, assert, raise, return, nested functions, lambdas, comprehensions,
  ``with`` of NKI context managers. No try, global/nonlocal, generators or coroutines.
- Names: what the file binds plus a short list of builtins; no dunder names at all. Attributes: no
  dunder, private, frame/generator/traceback/code or simulator-internal attribute; getattr/hasattr only
  with a literal name, except getattr(<NKI module>, name) whose result is only an NKI call's dtype=.
  Annotations must be types, never strings (typing would evaluate them); typing names stand only there.
- State: module-level values are immutable, nothing is assigned to attributes (but a method's to its
  own instance's) or to module-level containers, no mutable defaults, instances are made only inside
  functions, so no call can leave data for the next one.
- Host compute: inside a kernel function numpy only names constants and dtypes, is passed to NKI ops,
  or is called on constants; results come from NKI instructions.
Every violation is reported with its line, the construct and what to do instead.
"""

from __future__ import annotations

import ast
import string
import types
from dataclasses import dataclass, field

from autocomp.evaluate import gate_subset as sub
from autocomp.evaluate.gate_classes import ClassRules
from autocomp.evaluate.gate_module import ModuleLevelRules, bound_names, clip, dunder, last_name
from autocomp.pyparse import parse_python

REASON_LIMIT = 8  # violations spelled out in reason(); the rest are counted
IMPORT_HINT = "numpy, math, ml_dtypes, typing (for annotations) and dataclasses"


@dataclass
class Violation:
    line: int
    message: str
    rank: int = 1  # on one line, rank 0 (imports, banned builtins) is reported first


@dataclass
class GateResult:
    violations: list[Violation] = field(default_factory=list)
    syntax_error: Violation | None = None

    @property
    def ok(self) -> bool:
        return not self.violations and self.syntax_error is None

    def lines(self, filename: str = "kernel.py") -> list[str]:
        """Every violation as ``file:line: message``, in line order."""
        items = [self.syntax_error] if self.syntax_error else self.violations
        return [f"{filename}:{v.line}: {v.message}" for v in items]

    def reason(self, filename: str = "kernel.py") -> str:
        """One line naming every violation (the first REASON_LIMIT spelled out), the first one first."""
        items = self.lines(filename)
        text = "; ".join(items[:REASON_LIMIT])
        return text + (f" (and {len(items) - REASON_LIMIT} more)" if len(items) > REASON_LIMIT else "")


# --------------------------------------------------------------------------- the checker
class _Gate(ModuleLevelRules, ClassRules, ast.NodeVisitor):
    def __init__(self, tree: ast.Module, allowed_imports: tuple[str, ...]):
        self.tree = tree
        self.extra = allowed_imports
        self.violations: list[Violation] = []
        self.aliases: dict[str, str] = {}  # name -> dotted module it is bound to
        self.from_numpy: set[str] = set()  # names imported from numpy
        self.from_nki: set[str] = set()  # names bound to NKI objects (imported or `jit = nki.jit`)
        self.imported: dict[str, str] = {}  # name -> module it was imported from (`from math import ceil`)
        self.origins: dict[str, str] = {}  # name -> what `from M import x` bound to it ("dataclasses.field")
        self.module_names: set[str] = set()
        self.constants: set[str] = set()  # names bound by module-level assignments
        self.objects: set[str] = set()  # module-level functions and wrappers (`k = nki.jit(f)`): call, don't inspect
        self.main_guards: set[int] = set()
        self.scopes: list[set[str]] = []  # local names of the enclosing functions, innermost last
        self.nki_args: set[int] = set()  # ids of nodes passed straight to an NKI call
        self.inner: set[int] = set()  # ids of nodes that are the base of a longer attribute chain
        self.called: set[int] = set()  # ids of nodes that are the function of a call
        self.dtype_views: set[int] = set()  # ids of `.view` attributes called with an argument (t.view(dtype))
        self.classes: set[str] = set()  # module-level classes (gate_classes.py)
        self.top_classes: set[int] = set()
        self.receivers: list[str | None] = []  # per enclosing function: a method's receiver (`self`), else None
        self.functions: list[ast.FunctionDef | ast.Lambda] = []  # the enclosing functions, innermost last
        self.annotation_ids: set[int] = set()  # ids of nodes inside annotations
        self.sanctioned: set[int] = set()  # ids of names in the one place they may stand (@dataclass, isinstance)
        self.dtype_args: set[int] = set()  # ids of `dtype=` values of NKI language/isa calls
        self.dtype_lookups: set[int] = set()  # ids of getattr(nl, name) calls whose result is only used as dtype=

    def fail(self, node: ast.AST, message: str, rank: int = 1) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), message, rank))

    def run(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._bind_import(node)
        self.module_names = bound_names(self.tree.body) | set(self.aliases)
        self.objects = {n.name for n in self.tree.body if isinstance(n, ast.FunctionDef)}
        self.classes = {n.name for n in self.tree.body if isinstance(n, ast.ClassDef)}
        self.top_classes = {id(n) for n in self.tree.body if isinstance(n, ast.ClassDef)}
        for stmt in self.tree.body:
            self._module_statement(stmt)
        self._check_rebinding()
        self.visit(self.tree)

    # ---------------------------------------------------------------- name resolution
    def _local(self, name: str) -> bool:
        return any(name in s for s in self.scopes)

    def _builtin(self, name: str) -> bool:
        return not self._local(name) and name not in self.module_names

    def _module_alias(self, name: str) -> str | None:
        return None if self._local(name) else self.aliases.get(name)

    def _module_level(self, name: str) -> bool:
        return not self._local(name) and name in self.module_names

    def _root(self, node: ast.AST) -> ast.Name | None:
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.func if isinstance(node, ast.Call) else node.value
        return node if isinstance(node, ast.Name) else None

    def _is_numpy(self, node: ast.AST) -> bool:
        """``node`` is an attribute chain on numpy, or a name imported from numpy."""
        root = self._root(node)
        if root is None or self._local(root.id):
            return False
        mod = self.aliases.get(root.id)
        return (mod is not None and (mod == "numpy" or mod.startswith("numpy."))) or root.id in self.from_numpy

    def _is_nki(self, node: ast.AST) -> bool:
        root = self._root(node)
        if root is None or self._local(root.id):
            return False
        return sub.is_nki_module(self.aliases.get(root.id, "")) or self.aliases.get(root.id) == "neuronxcc" \
            or root.id in self.from_nki

    def _nki_path(self, node: ast.AST) -> bool:
        """A plain attribute path from an NKI module or an NKI name (no call or index on the way: not a tile)."""
        while isinstance(node, ast.Attribute):
            node = node.value
        return isinstance(node, ast.Name) and self._is_nki(node)

    def _resolve(self, node: ast.AST) -> str | None:
        """The dotted module an expression denotes, when it denotes one statically."""
        if isinstance(node, ast.Name):
            return self._module_alias(node.id)
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value)
            if base is not None and not node.attr.startswith("_"):
                return self._module_attr(node, base, node.attr, report=False)
        return None

    # ---------------------------------------------------------------- imports
    def _bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    self.aliases[a.name.split(".")[0]] = a.name.split(".")[0]
            return
        mod = node.module or ""
        for a in node.names:
            name = a.asname or a.name
            full = f"{mod}.{a.name}"
            self.imported[name] = mod
            self.origins[name] = full
            if mod == "numpy" or mod.startswith("numpy."):
                self.from_numpy.add(name)
            if sub.is_nki_module(mod) or mod == "neuronxcc":
                self.from_nki.add(name)
                if full in sub.sim_tables() or mod == "neuronxcc":
                    self.aliases[name] = full
            elif full in sub.PERMITTED_MODULES or full in sub.SAFE_NUMPY_SUBMODULES:
                self.aliases[name] = full

    def _check_alias_names(self, node: ast.Import | ast.ImportFrom) -> None:
        for a in node.names:
            bound = a.asname or a.name.split(".")[0]
            if dunder(bound):
                self.fail(node, f"importing as {bound} rebinds interpreter internals; pick an ordinary name")

    def visit_Import(self, node: ast.Import) -> None:
        self._check_alias_names(node)
        for a in node.names:
            why = sub.import_refusal(a.name, self.extra)
            if why is not None:
                self.fail(node, f"import of {a.name!r} is not allowed: {why}; kernels may import only NKI modules "
                                f"(neuronxcc.nki..., nki...), {IMPORT_HINT}", rank=0)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._check_alias_names(node)
        mod = node.module or ""
        if node.level:
            self.fail(node, "relative imports are not allowed: a candidate is a single file, so the modules next to "
                            "it are not there; copy what the kernel uses from them into the file", rank=0)
            return
        if mod == "__future__":
            self.fail(node, "`from __future__ import ...` is not allowed: kernels need no __future__ imports and "
                            "annotations must stay types, never strings; remove it", rank=0)
            return
        why = sub.import_refusal(mod, self.extra)
        if why is not None:
            self.fail(node, f"import from {mod!r} is not allowed: {why}; kernels may import only NKI modules, "
                            f"{IMPORT_HINT}", rank=0)
            return
        for a in node.names:
            if a.name == "*":
                self.fail(node, f"`from {mod} import *` is not allowed; import the names you use")
                continue
            refusal = sub.name_refusal(mod, a.name, self.extra)
            if refusal is not None:
                self.fail(node, refusal, rank=0)
            else:
                self._check_attr_name(node, a.name, base_module=mod)

    # ---------------------------------------------------------------- constructs
    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, sub.ALLOWED_NODES):
            if not isinstance(node, ast.ExceptHandler):  # its try statement is refused already
                self.fail(node, sub.CONSTRUCT_ADVICE.get(type(node),
                                                     f"{type(node).__name__} is not part of the NKI kernel subset"))
        super().generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        if id(node) in self.main_guards:
            for stmt in node.body:  # never run by the evaluator, still held to the same rules
                self.visit(stmt)
            return
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            ctx = item.context_expr
            if not (isinstance(ctx, ast.Call) and self._is_nki(ctx.func)):
                self.fail(node, f"`with {clip(ctx, 40)}` is not allowed; kernels may use only NKI context managers")
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            self.fail(node.target, "async comprehensions are not part of the NKI kernel subset")
        self.generic_visit(node)

    # ---------------------------------------------------------------- functions
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            if dunder(node.name):
                self.fail(node, f"def {node.name} defines an interpreter hook (dunder name); give the function an "
                                "ordinary name")
            for d in node.decorator_list:
                self._check_decorator(d)
                self.visit(d)
        self._function_body(node, None)

    visit_Lambda = visit_FunctionDef

    def _function_body(self, node: ast.FunctionDef | ast.Lambda, receiver: str | None) -> None:
        """Parameters, annotations, defaults and body; ``receiver``: a method's first parameter (gate_classes.py)."""
        lam = isinstance(node, ast.Lambda)
        args = node.args
        params = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
        for a in params:
            if dunder(a.arg):
                self.fail(a, f"parameter {a.arg} is a dunder name; use an ordinary name")
            if a.annotation is not None:
                self._check_annotation(a.annotation, f"{a.arg}: ")
                self.visit(a.annotation)
        if not lam and node.returns is not None:
            self._check_annotation(node.returns, "-> ")
            self.visit(node.returns)
        positional = args.posonlyargs + args.args
        named = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        named += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        for a, default in named:
            self._check_default(a.arg, default)
            self.visit(default)
        body = node.body if isinstance(node.body, list) else [node.body]
        self.scopes.append({a.arg for a in params} | bound_names(body))
        self.receivers.append(receiver)
        self.functions.append(node)
        for stmt in body:
            self.visit(stmt)
        self.functions.pop()
        self.receivers.pop()
        self.scopes.pop()

    def _check_decorator(self, d: ast.AST) -> None:
        if not self._is_nki(d):
            self.fail(d, f"decorator {clip(d)!r} is not allowed; kernels may use only NKI decorators "
                         "(nki.jit, nki.baremetal, ...); a caching decorator would keep results across calls")
        for n in ast.walk(d):  # decorator arguments are evaluated once, at import: no instance may be made there
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in self.classes \
                    and self._module_level(n.func.id):
                self.fail(n, f"{clip(n, 30)} in a decorator makes an instance of class {n.func.id} at import, which "
                             "outlives the kernel call; create instances inside the kernel")

    def _check_default(self, param: str, default: ast.expr) -> None:
        bad = _non_static(default)
        if bad is None:
            return
        if isinstance(bad, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
            self.fail(default, f"a mutable default argument ({param}={clip(default, 30)}) keeps state across calls; "
                               "use None or a tuple")
        else:
            self.fail(default, f"default argument {param}={clip(default, 30)} is computed; defaults may only be "
                               "constants (numbers, strings, None, tuples, NKI/numpy names)")

    def _check_annotation(self, node: ast.expr, prefix: str) -> None:
        """Annotations are evaluated (and typing evaluates strings): only plain type expressions."""
        text = clip(node, 40)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = '"' + (node.value if len(node.value) <= 38 else node.value[:35] + "...") + '"'
        shown = prefix + text
        self.annotation_ids.update(id(n) for n in ast.walk(node))  # typing and class names may stand here
        for n in ast.walk(node):
            if isinstance(n, ast.Constant) and isinstance(n.value, (str, bytes)):
                self.fail(n, f"string annotation '{shown}' is not allowed (typing tools evaluate it as code); "
                             "annotate with NKI types (nt.tensor[...]) or not at all")
                return
            if not isinstance(n, (ast.Name, ast.Attribute, ast.Subscript, ast.Tuple, ast.List, ast.Constant,
                                  ast.BinOp, ast.BitOr, ast.Slice, ast.UnaryOp, ast.USub, ast.expr_context)) \
                    or (isinstance(n, ast.BinOp) and not isinstance(n.op, ast.BitOr)):
                self.fail(n, f"annotation '{shown}' must name a type (e.g. nt.tensor[...]), not compute a value; "
                             "annotate with NKI types or not at all")
                return

    def visit_Global(self, node: ast.Global | ast.Nonlocal) -> None:
        kind = "global" if isinstance(node, ast.Global) else "nonlocal"
        self.fail(node, f"`{kind} {', '.join(node.names)}` writes state outside the kernel call; keep all state local")

    visit_Nonlocal = visit_Global

    # ---------------------------------------------------------------- writes
    def _check_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._check_target(t)
            return
        if isinstance(target, ast.Starred):
            self._check_target(target.value)
            return
        if not isinstance(target, (ast.Attribute, ast.Subscript)):
            return
        root = self._root(target)
        if root is not None and self._module_alias(root.id) is not None:
            self.fail(target, f"assigning to {clip(target)!r} patches module {self.aliases[root.id]!r}; "
                              "kernels must not modify numpy, the NKI modules or the simulator")
        elif isinstance(target, ast.Attribute) and self._on_receiver(target):
            return  # self.x = ... in a method: the instance lives inside one kernel call (gate_classes.py)
        elif isinstance(target, ast.Attribute):
            where = ("; a method may assign only to its own instance (self.x = ...)" if any(self.receivers)
                     else "; keep values in local variables")
            self.fail(target, f"assigning to attribute {clip(target)!r} is not part of the kernel subset (it keeps "
                              f"state on objects across calls){where}")
        elif root is not None and self.scopes and self._module_level(root.id):
            self.fail(target, f"assigning to {clip(target)!r} writes module-level state from inside a function "
                              "(a cache across calls); keep all state local to the kernel call")

    def _on_receiver(self, node: ast.Attribute) -> bool:
        """``node`` is ``self.<attr>`` directly in a method whose receiver is ``self`` (not in a nested function)."""
        return bool(self.receivers) and self.receivers[-1] is not None and isinstance(node.value, ast.Name) \
            and node.value.id == self.receivers[-1]

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._check_target(t)
        target = node.targets[0]
        if len(node.targets) == 1 and isinstance(target, ast.Name) and self._dtype_only(target.id, node.value):
            self.dtype_lookups.add(id(node.value))
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target)
        self._check_annotation(node.annotation, f"{clip(node.target, 20)}: ")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            self._check_target(t)
        self.generic_visit(node)

    # ---------------------------------------------------------------- names and attributes
    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if dunder(name):
            self.fail(node, f"{name} is interpreter internals; kernels may not use dunder names", rank=0)
        elif isinstance(node.ctx, ast.Load) and self._module_alias(name) is not None:
            self._check_module_value(node)
        elif isinstance(node.ctx, ast.Load) and name in self.classes and self._module_level(name):
            self._class_name_use(node)
        elif isinstance(node.ctx, ast.Load) and self._module_level(name) and self.origins.get(name, "").startswith(
                ("typing.", "dataclasses.")):
            self._restricted_use(node, self.origins[name])
        elif not isinstance(node.ctx, ast.Load) or not self._builtin(name):
            return
        elif name in sub.BANNED_BUILTINS:
            self.fail(node, f"{name}() is not allowed in a kernel (no file, process, interpreter, class or exit "
                            "access)", rank=0)
        elif name not in sub.KERNEL_BUILTINS:
            self.fail(node, f"name {name!r} is neither defined in the file nor a builtin kernels may use "
                            f"({sub.BUILTINS_HINT})", rank=0)
        elif name in ("getattr", "hasattr") and id(node) not in self.called:
            self.fail(node, f"{name} may only be called directly, with a literal attribute name; use the attribute")

    def _restricted_use(self, node: ast.Name | ast.Attribute, what: str) -> None:
        """typing names stand only in annotations; dataclass/field only where gate_classes.py placed them."""
        if what.split(".")[0] in sub.ANNOTATION_MODULES:
            if id(node) not in self.annotation_ids:
                self.fail(node, f"{what} may be used only in annotations (x: Optional[int] = None); typing names are "
                                "types, not values")
        elif id(node) not in self.sanctioned:
            self.fail(node, f"{what} may only decorate a module-level class (@dataclass) or give a dataclass field "
                            "its default (x: int = field(default=0))")

    def _check_module_value(self, node: ast.Name | ast.Attribute) -> None:
        """A module may only be the base of an attribute (np.float32): bound to another name or passed
        around, the gate could no longer see which of its attributes are used."""
        if id(node) not in self.inner and (module := self._resolve(node)) is not None:
            self.fail(node, f"the module {module!r} may only be used as {clip(node)}.<name>; binding it to a name "
                            "or passing it around hides what is used from it")

    def _check_attr_name(self, node: ast.AST, attr: str, base_module: str | None = None,
                         nki_path: bool = False) -> None:
        """``nki_path``: the attribute is taken from an NKI module object (``ncc.sbuf.alloc``), not from a tile."""
        if dunder(attr):
            self.fail(node, f"dunder attribute .{attr} is not allowed (interpreter internals)")
        elif attr.startswith("_"):
            self.fail(node, f"private attribute .{attr} is not allowed; use the public NKI API")
        elif attr in sub.INTROSPECTION or attr.startswith(sub.INTROSPECTION_PREFIXES):
            self.fail(node, f".{attr} is interpreter introspection (frames, code, generators, tracebacks); kernels "
                            "may not use it")
        elif attr in sub.SIM_INTERNALS and not nki_path:
            self.fail(node, f".{attr} reaches the simulator's internal state or files; kernels must produce results "
                            "with NKI instructions (nl.load/nl.store, nisa.*)")
        elif base_module is not None:
            self._module_attr(node, base_module, attr, report=True)

    def _module_attr(self, node: ast.AST, module: str, attr: str, report: bool) -> str | None:
        """Check ``module.attr``; returns the dotted module name when it is itself a module."""
        def refuse(message: str) -> None:
            if report:
                self.fail(node, message)

        if module.startswith("numpy") and attr in sub.NUMPY_DENIED:
            refuse(f"numpy.{attr} gives file or interpreter access; it is not allowed in a kernel")
            return None
        why = sub.name_refusal(module, attr, self.extra)
        if why is not None:
            refuse(why)
            return None
        if f"{module}.{attr}" in sub.sim_tables():
            return f"{module}.{attr}"
        if module == "neuronxcc":  # the compiler package: only its nki namespace is the kernel's
            refuse(f"neuronxcc.{attr} is the Neuron compiler's internals, not NKI; use neuronxcc.nki")
            return None
        if sub.is_nki_module(module) and attr in sub.FACADE_INTERNALS:
            refuse(f"{module}.{attr} is the simulator's internals, not NKI API; kernels may use only the NKI API")
            return None
        mod = sub.module_object(module)
        if mod is not None and module in sub.sim_tables() and not hasattr(mod, attr):
            # the installed NKI facades expose exactly their dialect's API (its __all__)
            refuse(f"{module}.{attr} is not part of the {module} API the simulator provides")
            return None
        value = getattr(mod, attr, None) if mod is not None else None
        if isinstance(value, types.ModuleType):
            if sub.is_nki_module(module) and value.__name__ not in sub.sim_tables().values():
                refuse(f"{module}.{attr} is the module {value.__name__!r}; import it directly if it is allowed "
                       "(numpy, math)")
                return None
            if not sub.safe_module(value.__name__):
                refuse(f"{module}.{attr} is the module {value.__name__!r}, which kernels may not use")
                return None
            return value.__name__
        if value is not None and sub.mutable_value(value) and module not in self.extra:
            refuse(f"{module}.{attr} is a mutable {type(value).__name__} (module state a kernel could change or keep "
                   "data in); use the NKI API instead")
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        base = self._resolve(node.value)
        # an attribute of a method's own instance is the kernel's own value, not a tile's simulator state
        self._check_attr_name(node, node.attr, base_module=base,
                              nki_path=self._nki_path(node.value) or self._on_receiver(node))
        if base is not None:
            self._check_module_value(node)
        if base in sub.ANNOTATION_MODULES or base == "dataclasses":
            self._restricted_use(node, f"{base}.{node.attr}")
        if node.attr == "view" and id(node) not in self.dtype_views:
            self.fail(node, ".view without a dtype argument reads a tile's values on the host; compute with NKI "
                            "instructions (reinterpret with t.view(dtype))")
        if node.attr in ("format", "format_map") and id(node) not in self.called:
            self.fail(node, f".{node.attr} may only be called directly on a literal template; use an f-string")
        outermost = id(node) not in self.inner and id(node) not in self.called
        if self.scopes and isinstance(node.value, ast.Name) and node.value.id in self.objects \
                and self._module_level(node.value.id) and node.value.id not in self.from_nki:
            self.fail(node, f"reading {clip(node)} inspects the module-level function object "
                            f"{node.value.id!r} (its attributes can carry state across calls); call it instead")
        numpy_query = isinstance(node.value, ast.Call) and self._numpy_call_allowed(node.value, node.value.func)
        if self.scopes and outermost and id(node) not in self.nki_args and node.attr not in sub.NUMPY_CONSTANTS \
                and self._is_numpy(node) and not numpy_query:
            self.fail(node, f"{clip(node)} inside a kernel function: compute with NKI instructions, not "
                            "numpy on the host (numpy functions may only be passed as an NKI op argument)")
        self.inner.add(id(node.value))
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if self._is_nki(func):
            for a in list(node.args) + [k.value for k in node.keywords]:
                self.nki_args.add(id(a))
        if self._dtype_call(node):
            self.dtype_args.update(id(k.value) for k in node.keywords if k.arg == "dtype")
        if isinstance(func, ast.Name) and func.id == "isinstance" and self._builtin(func.id):
            self._sanction_isinstance(node)
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and self._builtin(func.id):
            self._check_getattr(node)
            if node.args:
                self.inner.add(id(node.args[0]))  # getattr(nl, "float32") is nl.float32, checked as such
        if isinstance(func, ast.Attribute):
            if func.attr in ("format", "format_map"):
                self._check_format(node, func)
            if func.attr == "view" and node.args:
                self.dtype_views.add(id(func))
            if func.attr in sub.MUTATING_METHODS and self.scopes:
                root = self._root(func.value)
                if root is not None and self._module_level(root.id) and self._resolve(func.value) is None:
                    self.fail(node, f"{clip(func)}(...) mutates module-level state from inside a function "
                                    "(a cache across calls); keep all state local to the kernel call")
        if self.scopes and self._is_numpy(func) and not self._numpy_call_allowed(node, func):
            self.fail(node, f"{clip(func)}(...) computes on the host with numpy inside a kernel function; "
                            "produce results with NKI instructions (use math/Python ints for shape arithmetic)")
        self.called.add(id(func))
        self.generic_visit(node)

    def _numpy_call_allowed(self, node: ast.Call, func: ast.expr) -> bool:
        """numpy in a kernel function: dtype queries, or a call on constants only (it cannot read the inputs)."""
        if not isinstance(func, (ast.Attribute, ast.Name)):
            return False
        home = self._resolve(func.value) if isinstance(func, ast.Attribute) else self.imported.get(func.id)
        if home is None or home.startswith("numpy.random"):
            return False  # numpy.random keeps global state; a method of a numpy object is host compute
        if last_name(func) in ("dtype", "finfo", "iinfo"):
            return True
        values = list(node.args) + [k.value for k in node.keywords]
        return last_name(func) != "ndarray" and all(self._static(v) for v in values)

    def _static(self, node: ast.expr) -> bool:
        """An expression that cannot depend on a kernel's inputs: literals, module constants, module attributes."""
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Name):
            return not self._local(node.id) and (node.id in self.constants or node.id in self.aliases
                                                 or node.id in self.from_numpy or node.id in self.from_nki)
        if isinstance(node, ast.Attribute):
            root = self._root(node)
            return root is not None and self._module_alias(root.id) is not None and not isinstance(node.value,
                                                                                                     ast.Call)
        if isinstance(node, (ast.Tuple, ast.List)):
            return all(self._static(e) for e in node.elts)
        if isinstance(node, ast.UnaryOp):
            return self._static(node.operand)
        if isinstance(node, ast.BinOp):
            return self._static(node.left) and self._static(node.right)
        return False

    def _check_getattr(self, node: ast.Call) -> None:
        if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant) or not isinstance(node.args[1].value, str):
            if id(node) in self.dtype_args or id(node) in self.dtype_lookups:
                if self._nki_lookup(node):
                    return
            self.fail(node, "getattr()/hasattr() with a computed attribute name is not allowed; use the attribute "
                            "directly (getattr(nl, name) only as the dtype= of NKI calls, e.g. "
                            "nl.ndarray(..., dtype=getattr(nl, name)))")
            return
        attr = node.args[1].value
        if attr == "view":
            self.fail(node, "getattr(x, 'view') is not allowed; call t.view(dtype) directly")
        self._check_attr_name(node, attr, base_module=self._resolve(node.args[0]))

    # ------------------------------------------------------------ getattr(nl, name) as a dtype
    # A computed attribute name can reach anything in a module (__builtins__, private helpers, the simulator's
    # internals), and no rule on the file's string constants keeps it out: chr(95) or str(nl.affine_range)[i]
    # make any name from identifier-only constants. So the name stays free but the result is confined: a
    # getattr(<NKI module>, name) is accepted only where its result is used as the dtype= of NKI language/isa
    # calls and nowhere else, and there the simulator only turns it into a numpy dtype (or refuses it). That is
    # the public kernels' use (lse_dtype = getattr(nl, config.lse_dtype); nl.ndarray(..., dtype=lse_dtype)).
    def _nki_lookup(self, node: ast.Call) -> bool:
        """``getattr(<NKI module>, name)``: two arguments, the first an NKI module."""
        if not (isinstance(node.func, ast.Name) and node.func.id == "getattr" and self._builtin("getattr")):
            return False
        module = self._resolve(node.args[0]) if len(node.args) == 2 and not node.keywords else None
        return module is not None and sub.is_nki_module(module)

    def _dtype_call(self, call: ast.Call) -> bool:
        """A call of an NKI language or isa API (their dtype= is normalised by the simulator's as_dtype)."""
        f = call.func
        if isinstance(f, ast.Attribute):
            home = self._resolve(f.value)
        elif isinstance(f, ast.Name) and not self._local(f.id):
            home = self.imported.get(f.id)
        else:
            return False
        return home is not None and sub.is_nki_module(home) and home.rsplit(".", 1)[-1] in ("language", "isa")

    def _dtype_only(self, name: str, value: ast.expr) -> bool:
        """``name = getattr(nl, x)`` where every read of ``name`` in this function is a dtype= of an NKI call
        (a read in a nested function or lambda, or ``name += ...``, counts as another use)."""
        if not (isinstance(value, ast.Call) and self._nki_lookup(value)) or not self.functions \
                or isinstance(self.functions[-1], ast.Lambda):
            return False
        allowed: set[int] = set()
        loads: list[ast.Name] = []
        todo: list[ast.AST] = list(self.functions[-1].body)
        while todo:
            n = todo.pop()
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                if any(isinstance(m, ast.Name) and m.id == name for m in ast.walk(n)):
                    return False
                continue
            if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and n.target.id == name:
                return False
            if isinstance(n, ast.Call) and self._dtype_call(n):
                allowed.update(id(k.value) for k in n.keywords if k.arg == "dtype")
            if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load):
                loads.append(n)
            todo.extend(ast.iter_child_nodes(n))
        return all(id(n) in allowed for n in loads)

    def _check_format(self, node: ast.Call, func: ast.Attribute) -> None:
        template = func.value
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            return self.fail(node, "str.format on a computed template is not allowed; use an f-string")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(template.value) if f]
        except ValueError:
            return None
        if any("." in f or "[" in f for f in fields):
            self.fail(node, "format fields with attribute or index access are not allowed; use an f-string")
        return None


def _non_static(node: ast.expr) -> ast.AST | None:
    """The first part of a default argument that is not a constant, or None."""
    if isinstance(node, (ast.Constant, ast.Name)):
        return None
    if isinstance(node, ast.Attribute):
        return _non_static(node.value)
    if isinstance(node, ast.Tuple):
        return next((b for e in node.elts if (b := _non_static(e)) is not None), None)
    if isinstance(node, ast.UnaryOp):
        return _non_static(node.operand)
    if isinstance(node, ast.BinOp):
        return _non_static(node.left) or _non_static(node.right)
    return node


# --------------------------------------------------------------------------- signature
def _signature(fn: ast.FunctionDef) -> str:
    a = fn.args
    parts = [p.arg for p in a.posonlyargs + a.args]
    n_def = len(a.defaults)
    if n_def:
        parts = parts[:-n_def] + [f"{p}=..." for p in parts[-n_def:]]
    if a.vararg:
        parts.append(f"*{a.vararg.arg}")
    elif a.kwonlyargs:
        parts.append("*")
    parts += [p.arg for p in a.kwonlyargs]
    if a.kwarg:
        parts.append(f"**{a.kwarg.arg}")
    return f"{fn.name}({', '.join(parts)})"


def _top_function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def check_source(source: str, function: str, baseline_source: str | None = None,
                 allowed_imports: tuple[str, ...] | list[str] = ()) -> GateResult:
    """Run every static check on ``source``; the entry point must match the baseline's signature."""
    result = GateResult()
    try:
        tree = parse_python(source)
    except SyntaxError as e:
        result.syntax_error = Violation(e.lineno or 0, f"syntax error: {e.msg}")
        return result
    except (RecursionError, MemoryError, ValueError) as e:
        result.syntax_error = Violation(1, f"the file cannot be parsed ({type(e).__name__}: nested too deeply or too "
                                           "large); simplify it")
        return result
    gate = _Gate(tree, tuple(allowed_imports))
    try:
        gate.run()
    except RecursionError:
        gate.violations.append(Violation(0, "the file nests expressions too deeply to be checked; simplify it"))
    result.violations = list({(v.line, v.message): v for v in gate.violations}.values())
    entry = _top_function(tree, function)
    if entry is None:
        result.violations.append(Violation(1, f"no top-level function {function!r}: keep the baseline's entry point "
                                               "name"))
    elif baseline_source is not None:
        base = _top_function(parse_python(baseline_source), function)
        if base is not None and _signature(base) != _signature(entry):
            result.violations.append(Violation(entry.lineno, f"entry point {_signature(entry)} differs from the "
                                                             f"baseline's {_signature(base)}; keep the signature"))
    result.violations.sort(key=lambda v: (v.line, v.rank))
    return result
