"""The static gate: refuse a candidate from its AST, with the reason, before it runs.

Defence in depth (the sandbox is the real wall): a kernel may import only NKI
modules, numpy, math and typing (plus what the problem allows); it may not reach
the file system, processes, the network or interpreter internals; it may not
keep state across calls, patch numpy or the simulator, compute its result with
numpy on the host, touch the simulator's internal state, or change the entry
point's name or signature.
"""

from __future__ import annotations

import ast
import functools
import importlib
import string
import types
from dataclasses import dataclass, field

ALLOWED_IMPORT_ROOTS = ("neuronxcc.nki", "nki", "numpy", "math", "typing", "ml_dtypes", "__future__")
SAFE_NUMPY_SUBMODULES = frozenset({"numpy.random", "numpy.linalg", "numpy.fft", "numpy.polynomial", "numpy.ma",
                                   "numpy.dtypes", "numpy.exceptions", "numpy.typing"})
BANNED_BUILTINS = frozenset({
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr", "delattr",
    "breakpoint", "input", "exit", "quit", "help", "memoryview", "SystemExit", "KeyboardInterrupt",
    "GeneratorExit", "__builtins__", "__loader__", "__spec__", "__file__", "__build_class__", "type"})
# Frame and code objects lead back to every module; the simulator's own state is not the kernel's to touch.
INTROSPECTION = frozenset({"gi_frame", "gi_code", "f_globals", "f_locals", "f_back", "f_builtins", "f_code",
                           "tb_frame", "tb_next", "cr_frame", "cr_code", "ag_frame", "ag_code", "co_code",
                           "func_globals", "func_code", "mro"})
SIM_INTERNALS = frozenset({"alloc", "owner_view", "writable", "set_values", "read", "write", "data",
                           "written", "dirty", "returned", "addresses", "has_values", "last_result", "ctx",
                           "benchmark_result", "tofile", "dump", "dumps"})
NUMPY_DENIED = frozenset({"ctypeslib", "lib", "testing", "f2py", "distutils", "core", "load", "save", "savez",
                          "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile", "memmap", "DataSource",
                          "fromregex", "show_config", "show_runtime", "info", "source"})
NUMPY_CONSTANTS = frozenset({"pi", "e", "inf", "nan", "newaxis", "euler_gamma", "float32", "float16", "float64",
                             "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool_",
                             "dtype", "finfo", "iinfo", "float8_e4m3", "bfloat16", "ndarray", "integer", "floating",
                             "number", "generic"})
MUTATING_METHODS = frozenset({"append", "extend", "insert", "pop", "popitem", "remove", "clear", "update",
                              "setdefault", "add", "discard", "sort", "reverse", "__setitem__"})


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

    def reason(self, filename: str = "kernel.py") -> str:
        v = self.syntax_error or self.violations[0]
        more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
        return f"{filename}:{v.line}: {v.message}{more}"


# --------------------------------------------------------------------------- module resolution
@functools.lru_cache(maxsize=1)
def _sim_tables() -> dict[str, str]:
    """Real NKI module names -> the simulator modules that implement them."""
    install = importlib.import_module("autocomp.nki.install")
    return install.module_table()


def _safe_module(name: str) -> bool:
    if name in ("numpy", "math", "typing", "ml_dtypes") or name in SAFE_NUMPY_SUBMODULES:
        return True
    return name in _sim_tables() or name in _sim_tables().values()


def _module_object(dotted: str) -> types.ModuleType | None:
    """The module a kernel would get for ``dotted``: the simulator's implementation for NKI names."""
    impl = _sim_tables().get(dotted, dotted)
    if not _safe_module(impl) and not _safe_module(dotted):
        return None
    try:
        return importlib.import_module(impl)
    except Exception:
        return None


def import_allowed(module: str, extra: tuple[str, ...]) -> bool:
    roots = ALLOWED_IMPORT_ROOTS + tuple(extra)
    if module.startswith("numpy."):
        return module in SAFE_NUMPY_SUBMODULES or module in extra
    return any(module == r or module.startswith(r + ".") for r in roots)


# --------------------------------------------------------------------------- the checker
class _Gate(ast.NodeVisitor):
    def __init__(self, tree: ast.Module, allowed_imports: tuple[str, ...]):
        self.tree = tree
        self.extra = allowed_imports
        self.violations: list[Violation] = []
        self.aliases: dict[str, str] = {}  # name -> dotted module it is bound to
        self.from_numpy: set[str] = set()  # names imported from numpy
        self.from_nki: set[str] = set()  # names imported from NKI modules (decorators, functions)
        self.module_names: set[str] = set()
        self.scopes: list[set[str]] = []  # local names of the enclosing functions, innermost last
        self.nki_args: set[int] = set()  # ids of nodes passed straight to an NKI call
        self.inner: set[int] = set()  # ids of nodes that are the base of a longer attribute chain
        self.called: set[int] = set()  # ids of nodes that are the function of a call
        self.dtype_views: set[int] = set()  # ids of `.view` attributes called with an argument (t.view(dtype))

    def fail(self, node: ast.AST, message: str, rank: int = 1) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), message, rank))

    # ---------------------------------------------------------------- scopes
    def run(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._bind_import(node)
        self.module_names = _bound_names(self.tree.body) | set(self.aliases)
        self.visit(self.tree)

    def _local(self, name: str) -> bool:
        return any(name in s for s in self.scopes)

    def _builtin(self, name: str) -> bool:
        return not self._local(name) and name not in self.module_names

    def _module_alias(self, name: str) -> str | None:
        return None if self._local(name) else self.aliases.get(name)

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
        mod = self.aliases.get(root.id, "")
        return mod.startswith(("neuronxcc", "nki")) or root.id in self.from_nki

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
            if mod.startswith("numpy") or mod == "numpy":
                self.from_numpy.add(name)
            if mod.startswith(("neuronxcc", "nki")):
                self.from_nki.add(name)
                if full in _sim_tables() or mod == "neuronxcc":
                    self.aliases[name] = full

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if not import_allowed(a.name, self.extra):
                self.fail(node, f"import of {a.name!r} is not allowed; kernels may import only NKI modules "
                                "(neuronxcc.nki..., nki...), numpy, math and typing")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        if node.level:
            self.fail(node, "relative imports are not allowed; import NKI modules, numpy, math or typing")
            return
        if mod == "neuronxcc" and all(a.name == "nki" for a in node.names):
            return
        if not import_allowed(mod, self.extra):
            self.fail(node, f"import from {mod!r} is not allowed; kernels may import only NKI modules, numpy, "
                            "math and typing")
            return
        for a in node.names:
            if a.name == "*" and not mod.startswith(("neuronxcc", "nki")):
                self.fail(node, f"`from {mod} import *` is not allowed; import the names you use")
            elif a.name != "*":
                self._check_attr_name(node, a.name, base_module=mod)

    # ---------------------------------------------------------------- functions
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            for d in node.decorator_list:
                self._check_decorator(d)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            if isinstance(default, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp, ast.Call)):
                self.fail(default, "a mutable default argument keeps state across calls; use None or a tuple")
            self.visit(default)
        if not isinstance(node, ast.Lambda):
            for d in node.decorator_list:
                self.visit(d)
        args = node.args
        params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        body = node.body if isinstance(node.body, list) else [node.body]
        self.scopes.append(params | _bound_names(body))
        for stmt in body:
            self.visit(stmt)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for d in node.decorator_list:
            self._check_decorator(d)
        self.generic_visit(node)

    def _check_decorator(self, d: ast.AST) -> None:
        if not self._is_nki(d):
            self.fail(d, f"decorator {ast.unparse(d)!r} is not allowed; kernels may use only NKI decorators "
                         "(nki.jit, ...); a caching decorator would keep results across calls")

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
        if root is None:
            return
        if self._module_alias(root.id) is not None:
            self.fail(target, f"assigning to {ast.unparse(target)!r} patches module {self.aliases[root.id]!r}; "
                              "kernels must not modify numpy, the NKI modules or the simulator")
        elif self.scopes and not self._local(root.id) and root.id in self.module_names:
            self.fail(target, f"assigning to {ast.unparse(target)!r} writes module-level state from inside a function "
                              "(a cache across calls); keep all state local to the kernel call")

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._check_target(t)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign | ast.AnnAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    visit_AnnAssign = visit_AugAssign

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            self._check_target(t)
        self.generic_visit(node)

    # ---------------------------------------------------------------- names and attributes
    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("__") and name.endswith("__") and name != "__name__":
            self.fail(node, f"{name} is interpreter internals; kernels may not use dunder names")
        elif name in BANNED_BUILTINS and self._builtin(name):
            self.fail(node, f"{name}() is not allowed in a kernel (no file, process, interpreter or exit access)",
                      rank=0)

    def _check_attr_name(self, node: ast.AST, attr: str, base_module: str | None = None) -> None:
        if attr.startswith("__") and attr.endswith("__"):
            self.fail(node, f"dunder attribute .{attr} is not allowed (interpreter internals)")
        elif attr.startswith("_"):
            self.fail(node, f"private attribute .{attr} is not allowed; use the public NKI API")
        elif attr in INTROSPECTION:
            self.fail(node, f".{attr} is interpreter introspection; kernels may not use it")
        elif attr in SIM_INTERNALS:
            self.fail(node, f".{attr} reaches the simulator's internal state or files; kernels must produce results "
                            "with NKI instructions (nl.load/nl.store, nisa.*)")
        elif base_module is not None:
            self._check_module_attr(node, base_module, attr)

    def _check_module_attr(self, node: ast.AST, module: str, attr: str) -> str | None:
        """Check ``module.attr``; returns the dotted module name when it is itself a module."""
        if module == "numpy" or module.startswith("numpy."):
            if attr in NUMPY_DENIED:
                self.fail(node, f"numpy.{attr} gives file or interpreter access; it is not allowed in a kernel")
                return None
        if f"{module}.{attr}" in _sim_tables():
            return f"{module}.{attr}"
        mod = _module_object(module)
        if module in _sim_tables() and attr not in getattr(mod, "__all__", ()):  # the facade exposes only __all__
            self.fail(node, f"{module}.{attr} is not part of the {module} API the simulator provides")
            return None
        value = getattr(mod, attr, None) if mod is not None else None
        if isinstance(value, types.ModuleType):
            nki_base = module.startswith(("neuronxcc", "nki", "autocomp.nki"))
            if nki_base and value.__name__ not in _sim_tables().values():
                self.fail(node, f"{module}.{attr} is the module {value.__name__!r}; import it directly if it is "
                                "allowed (numpy, math)")
                return None
            if not _safe_module(value.__name__):
                self.fail(node, f"{module}.{attr} is the module {value.__name__!r}, which kernels may not use")
                return None
            return value.__name__
        return None

    def _resolve(self, node: ast.AST) -> str | None:
        """The dotted module an expression denotes, when it denotes one statically."""
        if isinstance(node, ast.Name):
            return self._module_alias(node.id)
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value)
            if base is not None and not node.attr.startswith("_"):
                return self._check_module_attr(node, base, node.attr)
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        base = self._resolve(node.value)
        self._check_attr_name(node, node.attr, base_module=base)
        if node.attr == "view" and id(node) not in self.dtype_views:
            self.fail(node, ".view without a dtype argument reads a tile's values on the host; compute with NKI "
                            "instructions (reinterpret with t.view(dtype))")
        outermost = id(node) not in self.inner and id(node) not in self.called
        if self.scopes and outermost and id(node) not in self.nki_args and node.attr not in NUMPY_CONSTANTS \
                and self._is_numpy(node):
            self.fail(node, f"{ast.unparse(node)} inside a kernel function: compute with NKI instructions, not "
                            "numpy on the host (numpy functions may only be passed as an NKI op argument)")
        self.inner.add(id(node.value))
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if self._is_nki(func):
            for a in list(node.args) + [k.value for k in node.keywords]:
                self.nki_args.add(id(a))
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and self._builtin(func.id):
            self._check_getattr(node)
        if isinstance(func, ast.Attribute):
            if func.attr in ("format", "format_map"):
                self._check_format(node, func)
            if func.attr == "view" and node.args:
                self.dtype_views.add(id(func))
            if func.attr in MUTATING_METHODS and self.scopes:
                root = self._root(func.value)
                if root is not None and not self._local(root.id) and root.id in self.module_names \
                        and root.id not in self.aliases:
                    self.fail(node, f"{ast.unparse(func)}(...) mutates module-level state from inside a function "
                                    "(a cache across calls); keep all state local to the kernel call")
        if self.scopes and self._is_numpy(func):
            last = func.attr if isinstance(func, ast.Attribute) else func.id
            if last not in NUMPY_CONSTANTS or (last not in ("dtype", "finfo", "iinfo") and not _constant_args(node)):
                self.fail(node, f"{ast.unparse(func)}(...) computes on the host with numpy inside a kernel function; "
                                "produce results with NKI instructions (use math/Python ints for shape arithmetic)")
        self.called.add(id(func))
        self.generic_visit(node)

    def _check_getattr(self, node: ast.Call) -> None:
        if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant) or not isinstance(node.args[1].value, str):
            self.fail(node, "getattr()/hasattr() with a computed attribute name is not allowed; use the attribute "
                            "directly")
            return
        attr = node.args[1].value
        if attr == "view":
            self.fail(node, "getattr(x, 'view') is not allowed; call t.view(dtype) directly")
        self._check_attr_name(node, attr, base_module=self._resolve(node.args[0]))

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


def _constant_args(node: ast.Call) -> bool:
    values = list(node.args) + [k.value for k in node.keywords]
    return all(isinstance(v, ast.Constant) or (isinstance(v, ast.UnaryOp) and isinstance(v.operand, ast.Constant))
               for v in values)


def _bound_names(body: list[ast.stmt]) -> set[str]:
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
        tree = ast.parse(source)
    except SyntaxError as e:
        result.syntax_error = Violation(e.lineno or 0, f"syntax error: {e.msg}")
        return result
    gate = _Gate(tree, tuple(allowed_imports))
    gate.run()
    result.violations = gate.violations
    entry = _top_function(tree, function)
    if entry is None:
        result.violations.append(Violation(1, f"no top-level function {function!r}: keep the baseline's entry point "
                                               "name"))
    elif baseline_source is not None:
        base = _top_function(ast.parse(baseline_source), function)
        if base is not None and _signature(base) != _signature(entry):
            result.violations.append(Violation(entry.lineno, f"entry point {_signature(entry)} differs from the "
                                                             f"baseline's {_signature(base)}; keep the signature"))
    result.violations.sort(key=lambda v: (v.line, v.rank))
    return result
