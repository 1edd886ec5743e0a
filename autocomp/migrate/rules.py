"""The rule-based rewrite of a legacy (``neuronxcc.nki``, v1) kernel file into the current dialect (``nki``, v2).

Each rule is mechanical and local (docs/nki-semantics.md#migrating-a-legacy-kernel lists them):

- ``imports``: ``neuronxcc.nki[.x]`` becomes ``nki[.x]``;
- ``jit-arguments``: ``@nki.jit(mode=...)`` loses the arguments v2 refuses;
- ``loops``: ``nl.affine_range`` / ``sequential_range`` / ``static_range`` become ``range``;
- ``isa-dst``: a v1 ISA call that returns a fresh tile becomes an allocation plus the v2 call with ``dst=``
  first (assigned into a tile: that tile is the ``dst``; nested in an expression: hoisted before the statement);
- ``matmul-accumulate``: ``acc += nisa.nc_matmul(a, b)`` becomes ``nisa.nc_matmul(dst=acc, ...)``, and the
  ``nl.zeros`` PSUM tile it accumulates into becomes ``nl.ndarray`` (a v2 matmul overwrites on its first write
  and accumulating onto a memset is undefined on hardware);
- ``block-dimension``: a tensor declared ``(B, nl.par_dim(P), F)`` becomes ``(P, B, F)`` and every index of it
  moves the partition index first.

Everything else that has no v2 form (masks, ``nl.arange`` / ``nl.mgrid`` indices, calls or keywords the
current dialect lacks) is left as it was and reported as a ``Finding``. The API tables are taken from the
simulator's own frontends, so the rules check what the v2 simulator accepts.
"""

from __future__ import annotations

import ast
import inspect
from functools import cache

from autocomp.migrate.astutil import bound_names
from autocomp.migrate.edits import SourceEdits
from autocomp.migrate.findings import Applied, Finding, Migration
from autocomp.migrate.indices import IndexRules, _Index
from autocomp.migrate.isa_results import DROPPED_WITH_DST, DST_CALLS, RESULTS
from autocomp.pyparse import parse_python

LEGACY = "neuronxcc.nki"
CURRENT = "nki"
LOOPS = ("affine_range", "sequential_range", "static_range")
JIT_ARGS_REFUSED = ("mode", "platform_target")
ENTRY_POINTS_AS_JIT = ("baremetal", "trace")
_V2_API_HINT = "rewrite it with the v2 API (docs/nki-semantics.md#the-two-dialects)"


class MigrationError(ValueError):
    """The file cannot be migrated at all (not Python, no such function, not a legacy kernel)."""


@cache
def _api():
    """(v1 isa, v2 isa, v1 language, v2 language) modules of the simulator's frontends."""
    import autocomp.nki.v1.isa as v1_isa
    import autocomp.nki.v1.language as v1_lang
    import autocomp.nki.v2.isa as v2_isa
    import autocomp.nki.v2.language as v2_lang

    return v1_isa, v2_isa, v1_lang, v2_lang


def _params(fn) -> tuple[list[str], bool] | None:
    """(parameter names, takes **kwargs) of a callable, or None when it has no signature."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    names = [p.name for p in sig.parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    return names, any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())


class _Migrator(IndexRules):
    def __init__(self, source: str, function: str, filename: str):
        self.filename = filename
        try:
            self.tree = parse_python(source, filename)
        except SyntaxError as e:
            raise MigrationError(f"{filename}:{e.lineno}: not valid Python ({e.msg}); fix the syntax first") \
                from None
        self.source = source
        self.function = function
        self.edits = SourceEdits(source)
        self.applied: list[Applied] = []
        self.findings: list[Finding] = []
        self.modules: dict[str, str] = {}  # local name -> dotted module or object path it is bound to
        self.used_names = {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)}
        self.zeros_to_ndarray: set[str] = set()
        self.index_names: dict[str, _Index] = {}
        self.loop_vars: set[str] = set()
        self.block_orders: dict[int, int] = {}  # subscripts of block tensors -> the partition's position
        self.index_calls: set[int] = set()  # nl.arange calls / nl.mgrid names the index rules own
        self.index_defs: set[int] = set()  # nl.mgrid[...] subscripts that define index names

    # ------------------------------------------------------------------ helpers
    def note(self, rule: str, node: ast.AST) -> None:
        self.applied.append(Applied(rule, node.lineno))

    def find(self, node: ast.AST, construct: str, why: str, suggestion: str) -> None:
        self.findings.append(Finding(node.lineno, construct, why, suggestion))

    def qualname(self, node: ast.AST) -> str | None:
        """The dotted path a name or attribute chain refers to, resolved through the file's imports."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.modules:
            return None
        return ".".join([self.modules[node.id], *reversed(parts)])

    def legacy_member(self, node: ast.AST, module: str) -> str | None:
        """``op`` when ``node`` names ``neuronxcc.nki.<module>.op``."""
        q = self.qualname(node)
        prefix = f"{LEGACY}.{module}."
        if q and q.startswith(prefix) and "." not in q[len(prefix):]:
            return q[len(prefix):]
        return None

    def fresh(self, base: str) -> str:
        name, i = base, 1
        while name in self.used_names:
            i += 1
            name = f"{base}_{i}"
        self.used_names.add(name)
        return name

    # ------------------------------------------------------------------ the run
    def run(self) -> Migration:
        self.imports()
        kernel = next((n for n in self.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                       and n.name == self.function), None)
        if kernel is None:
            defined = [n.name for n in self.tree.body if isinstance(n, ast.FunctionDef)]
            raise MigrationError(f"{self.filename}: no top-level function {self.function!r} (it defines "
                                 f"{', '.join(defined) or 'no functions'}); pass --function with one of them")
        if not any(v == LEGACY or v.startswith(LEGACY + ".") for v in self.modules.values()):
            raise MigrationError(f"{self.filename}: does not import {LEGACY}, so it is not a legacy-dialect kernel; "
                                 "nothing to migrate")
        for fn in [n for n in self.tree.body if isinstance(n, ast.FunctionDef)]:
            self.decorators(fn)
            self.block_dimensions(fn)
            self.index_names = self.aranges(fn)
            self.loop_vars = {t.id for n in ast.walk(fn) if isinstance(n, ast.For)
                              for t in ast.walk(n.target) if isinstance(t, ast.Name)}
            for node in ast.walk(fn):
                if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    self.statement(node)
            self.psum_zeros(fn)
            self.settle_aranges(fn)
        self.grid_launches()
        migrated = self.edits.apply()
        try:
            parse_python(migrated, self.filename)
        except SyntaxError as e:  # a rule bug, never the user's: say so rather than hand back broken code
            raise MigrationError(f"{self.filename}: the rewrite produced invalid Python at line {e.lineno} "
                                 f"({e.msg}); this is a bug in autocomp migrate") from None
        self.findings = self.reachable_findings(kernel)
        self.findings.sort(key=lambda f: f.line)
        self.applied.sort(key=lambda a: a.line)
        return Migration(self.source, migrated, self.function, self.applied, self.findings)

    # ------------------------------------------------------------------ imports
    def imports(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self.modules[local] = alias.name if alias.asname else alias.name.split(".")[0]
                if any(a.name == LEGACY or a.name.startswith(LEGACY + ".") for a in node.names):
                    parts = []
                    for a in node.names:
                        name = CURRENT + a.name[len(LEGACY):] if a.name.startswith(LEGACY) else a.name
                        asname = None if a.asname == name else a.asname
                        parts.append(name + (f" as {asname}" if asname else ""))
                    self.edits.replace(node, "import " + ", ".join(parts))
                    self.note("imports", node)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
                if node.module == "neuronxcc" and all(a.name == "nki" for a in node.names):
                    alias = node.names[0].asname
                    self.edits.replace(node, "import nki" + (f" as {alias}" if alias and alias != "nki" else ""))
                    self.note("imports", node)
                elif node.module == LEGACY or node.module.startswith(LEGACY + "."):
                    self.edits.replace(node, f"from {CURRENT}{node.module[len(LEGACY):]} import {names}")
                    self.note("imports", node)

    def reachable_findings(self, kernel: ast.FunctionDef) -> list[Finding]:
        """Findings in the kernel, the module's top-level code and the functions the kernel calls (at any
        depth); other functions of the file (tests, launchers, sibling kernels) are rewritten too, but what
        the rules left in them does not stop this kernel."""
        functions = {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}
        reach, todo = {kernel.name}, [kernel]
        while todo:
            for n in ast.walk(todo.pop()):
                if isinstance(n, ast.Name) and n.id in functions and n.id not in reach:
                    reach.add(n.id)
                    todo.append(functions[n.id])
        skipped = [(f.lineno, f.end_lineno) for name, f in functions.items() if name not in reach]
        return [f for f in self.findings if not any(a <= f.line <= b for a, b in skipped)]

    def decorators(self, fn: ast.FunctionDef) -> None:
        for dec in fn.decorator_list:
            entry = self.qualname(dec.func if isinstance(dec, ast.Call) else dec)
            if entry in (f"{LEGACY}.{e}" for e in ENTRY_POINTS_AS_JIT):
                # v1's compile-and-run entry points are a plain @nki.jit in v2 (their options do not exist there)
                self.edits.replace(dec, self.edits.render(dec.func if isinstance(dec, ast.Call) else dec)
                                   .rsplit(".", 1)[0] + ".jit")
                self.note("jit-arguments", dec)
                continue
            if not isinstance(dec, ast.Call) or entry != f"{LEGACY}.jit":
                continue
            refused = [k for k in dec.keywords if k.arg in JIT_ARGS_REFUSED]
            if not refused:
                continue
            kept = [self.edits.render(a) for a in dec.args] + \
                   [f"{k.arg}={self.edits.render(k.value)}" if k.arg else f"**{self.edits.render(k.value)}"
                    for k in dec.keywords if k.arg not in JIT_ARGS_REFUSED]
            self.edits.replace(dec, self.edits.render(dec.func) + (f"({', '.join(kept)})" if kept else ""))
            self.note("jit-arguments", dec)

    def grid_launches(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and \
                    node.value.id == self.function and isinstance(node.ctx, ast.Load):
                self.find(node, f"{self.function}[...] (SPMD grid launch)",
                          "v2 launches only kernel[1] or kernel[2] (logical cores), not a v1 grid",
                          "launch the kernel without a grid and loop over the former grid axes inside it")

    # ------------------------------------------------------------------ block dimensions
    def block_dimensions(self, fn: ast.FunctionDef) -> None:
        """``t = nl.ndarray((B, nl.par_dim(P), F), ...)``: partition first, and every index of ``t`` follows."""
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Call) and node.value.args
                    and isinstance(node.value.args[0], (ast.Tuple, ast.List))):
                continue
            dims = node.value.args[0].elts
            pos = next((i for i, d in enumerate(dims) if isinstance(d, ast.Call)
                        and self.legacy_member(d.func, "language") == "par_dim"), None)
            if pos is None:
                continue
            name = node.targets[0].id
            uses = [n for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == name and n is not node.targets[0]]
            subs = {id(n.value): n for n in ast.walk(fn) if isinstance(n, ast.Subscript)
                    and isinstance(n.value, ast.Name) and n.value.id == name}
            assigned = [n for n in ast.walk(fn) if isinstance(n, (ast.Assign, ast.AugAssign, ast.For, ast.With))
                        and name in bound_names(n)]
            if len(assigned) > 1 or any(id(u) not in subs for u in uses):
                self.find(dims[pos], "nl.par_dim (block dimension)",
                          f"{name} is reassigned or used without an index, so its indices cannot be rewritten",
                          f"declare {name} with the partition dimension first and index its blocks after it")
                continue
            bad = []
            for sub in subs.values():
                items = list(sub.slice.elts) if isinstance(sub.slice, ast.Tuple) else [sub.slice]
                if len(items) < pos or any(isinstance(i, ast.Constant) and i.value is Ellipsis for i in items[:pos]):
                    bad.append(sub)
            if bad:
                self.find(bad[0], "nl.par_dim (block dimension)",
                          f"{name} is indexed without all of its {pos} block indices",
                          f"index {name}'s blocks explicitly: {name}[:, b, ...] after moving the partition first")
                continue
            par = dims[pos].args[0] if dims[pos].args else None
            new_dims = [self.edits.render(par) if par is not None else "128"] + \
                       [self.edits.render(d) for i, d in enumerate(dims) if i != pos]
            self.edits.replace(node.value.args[0], "(" + ", ".join(new_dims) + ")")
            for sub in subs.values():  # rewritten with the statement that holds it (index_slices)
                self.block_orders[id(sub)] = pos
            self.note("block-dimension", node)

    # ------------------------------------------------------------------ statements
    def statement(self, stmt: ast.stmt) -> None:
        # Sub-statements (bodies of for/if/with) are visited on their own; here only this statement's expressions.
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            exprs = [stmt.iter]
        elif isinstance(stmt, (ast.If, ast.While)):
            exprs = [stmt.test]
        elif isinstance(stmt, ast.With):
            exprs = [i.context_expr for i in stmt.items]
        elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return, ast.Assert)):
            exprs = [stmt]
        else:
            return
        nodes = [n for e in exprs for n in ast.walk(e)]
        for node in nodes:  # index expressions first: the calls below render their arguments with them
            if isinstance(node, ast.Subscript):
                if self.inline_index(node) is not None:
                    self.index_calls.add(id(node.value))
                elif self.legacy_member(node.value, "language") == "mgrid" and id(node) in self.index_defs:
                    self.index_calls.add(id(node.value))
                else:
                    self.index_slices(node)
        calls = [n for n in nodes if isinstance(n, ast.Call)]
        # Post-order: inner calls first, so an outer call renders its arguments with the inner ones rewritten.
        calls.sort(key=lambda c: (-self._depth(c, exprs), c.lineno, c.col_offset))
        for call in calls:
            self.call(call, stmt)
        called = {id(c.func) for c in calls} | self.index_calls
        for e in exprs:
            for node in ast.walk(e):
                if isinstance(node, ast.Attribute) and id(node) not in called:
                    self.legacy_name(node)

    def legacy_name(self, node: ast.Attribute) -> None:
        """A legacy name used other than by calling it (``nl.mgrid[...]``, ``nl.spmd_dim``) that v2 lacks."""
        _, v2_isa, _, v2_lang = _api()
        for module, api, prefix in (("language", v2_lang, "nl"), ("isa", v2_isa, "nisa")):
            name = self.legacy_member(node, module)
            if name is not None and name not in api.__all__:
                self.find(node, f"{prefix}.{name}", f"the current dialect has no {prefix}.{name}",
                          _LANGUAGE_HINTS.get(name, _V2_API_HINT))

    @staticmethod
    def _depth(call: ast.Call, roots: list[ast.AST]) -> int:
        depth = {}
        for root in roots:
            stack = [(root, 0)]
            while stack:
                node, d = stack.pop()
                depth[id(node)] = d
                stack.extend((c, d + 1) for c in ast.iter_child_nodes(node))
        return depth.get(id(call), 0)

    def call(self, call: ast.Call, stmt: ast.stmt) -> None:
        lang = self.legacy_member(call.func, "language")
        if lang is not None:
            self.language_call(call, lang)
            return
        op = self.legacy_member(call.func, "isa")
        if op is not None:
            self.isa_call(call, op, stmt)

    def language_call(self, call: ast.Call, name: str) -> None:
        v1_isa, v2_isa, v1_lang, v2_lang = _api()
        if name in LOOPS:
            if call.keywords:
                self.find(call, f"nl.{name}(... keywords)", "range takes no keywords",
                          "pass start, stop and step positionally")
                return
            self.edits.replace(call.func, "range")
            self.note("loops", call)
            return
        if name == "par_dim":
            return  # the block-dimension rule rewrote or reported it
        if name == "arange" and id(call) in self.index_calls:
            return  # an index: made a slice or a pattern, or reported, by the index rules
        if name == "load" and call.args and isinstance(call.args[0], ast.Subscript):
            self.load_unit_dim(call.args[0])
        if name not in v2_lang.__all__:
            self.find(call, f"nl.{name}", "the current dialect has no nl." + name, _LANGUAGE_HINTS.get(
                name, _V2_API_HINT))
            return
        sig = _params(getattr(v2_lang, name))
        for kw in call.keywords:
            if kw.arg == "mask":
                self.find(call, f"nl.{name}(mask=...)", "v2 calls take no masks",
                          "operate on a slice of exactly the masked region, or use min() for ragged edge tiles")
            elif sig is not None and kw.arg is not None and kw.arg not in sig[0] and not sig[1]:
                self.find(call, f"nl.{name}({kw.arg}=...)", f"v2 nl.{name} has no {kw.arg!r} argument",
                          "drop it or use the nisa call with that option")

    def load_unit_dim(self, sub: ast.Subscript) -> None:
        """``nl.load(a[i0:i1, j])``: v1 keeps the integer-indexed dimension when the tile would otherwise be 1-D
        (an [n, 1] tile, docs/nki-semantics.md#legacy-dialect-slices-aranges-and-masks); v2 drops it, so the
        index becomes the unit slice ``j:j + 1``. Assumes the subscript names every dimension."""
        items = list(sub.slice.elts) if isinstance(sub.slice, ast.Tuple) else [sub.slice]
        slices = [it for it in items if isinstance(it, ast.Slice)]
        ints = [it for it in items if self._is_int_index(it)]
        if len(slices) != 1 or not ints or len(slices) + len(ints) != len(items) or \
                any(self._mentions_index(it) for it in items):
            return
        last = ints[-1]
        text = self.edits.render(last)
        bound = text if text.isidentifier() or text.isdigit() else f"({text})"
        self.edits.replace(last, f"{text}:{bound} + 1")
        self.note("unit-dimension", sub)

    def _is_int_index(self, node: ast.AST) -> bool:
        """Surely an integer: a literal, a loop variable, or arithmetic of those (a plain name may hold a slice)."""
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id not in self.loop_vars:
                return False
            if not isinstance(n, (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop,
                                  ast.Load)) or isinstance(n, ast.Constant) and type(n.value) is not int:
                return False
        return True

    def isa_call(self, call: ast.Call, op: str, stmt: ast.stmt) -> None:
        v1_isa, v2_isa, _, _ = _api()
        if op not in v2_isa.__all__ or not hasattr(v1_isa, op):
            self.find(call, f"nisa.{op}", f"the current dialect has no nisa.{op}",
                      "rewrite it with the v2 ISA (docs/nki-semantics.md#the-two-dialects)")
            return
        v1_sig, v2_sig = _params(getattr(v1_isa, op)), _params(getattr(v2_isa, op))
        if v1_sig is None or v2_sig is None:
            return
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            self.find(call, f"nisa.{op}(*args/**kwargs)", "arguments unpacked at run time cannot be mapped",
                      "spell the arguments out")
            return
        v1_names = v1_sig[0]
        if len(call.args) > len(v1_names):
            self.find(call, f"nisa.{op}", "more positional arguments than the v1 call takes", "check the call")
            return
        args = {v1_names[i]: a for i, a in enumerate(call.args)}
        args.update({k.arg: k.value for k in call.keywords})
        if "mask" in args:
            self.find(call, f"nisa.{op}(mask=...)", "v2 ISA calls take no masks",
                      "apply the instruction to the slice the mask selected")
            return
        texts = {k: self.edits.render(v) for k, v in args.items()}
        if op == "affine_select" and "pred" in args:
            texts.pop("pred")
            pattern = self.affine_pattern(args.pop("pred"), texts.get("on_true_tile"))
            if pattern is None:
                self.find(call, "nisa.affine_select(pred=...)",
                          "the predicate is not a comparison of an affine expression of nl.arange indices",
                          "write it as nisa.affine_select(dst, pattern=[[step, count]], channel_multiplier=c, "
                          "on_true_tile=..., on_false_value=..., cmp_op=..., offset=...)")
                return
            texts.update(pattern)
            self.note("affine-select", call)
        spec = RESULTS.get(op)
        dropped = (set(spec.consumed) if spec else set()) | (DROPPED_WITH_DST if op not in DST_CALLS else set())
        unknown = [k for k in texts if k not in v2_sig[0] and k not in dropped]
        if unknown:
            self.find(call, f"nisa.{op}({unknown[0]}=...)", f"v2 nisa.{op} has no {unknown[0]!r} argument",
                      f"see nisa.{op}'s v2 signature: ({', '.join(v2_sig[0])})")
            return
        kwargs = [f"{k}={v}" for k, v in texts.items() if k not in dropped]
        func = self.edits.render(call.func)
        if op in DST_CALLS:
            if call.args:  # v2 names every argument; keep the call otherwise as written
                self.edits.replace(call, f"{func}({', '.join(kwargs)})")
                self.note("isa-keywords", call)
            return
        if spec is None or not spec.shape:
            self.find(call, f"nisa.{op}", "its v2 form cannot be derived mechanically",
                      f"allocate the result and call nisa.{op}(dst=..., ...) with the v2 arguments")
            return
        self.dst_call(call, op, stmt, args, kwargs, func, spec)

    def dst_call(self, call, op, stmt, args, kwargs, func, spec) -> None:
        if isinstance(stmt, ast.AugAssign) and stmt.value is call and op == "nc_matmul" and \
                isinstance(stmt.op, ast.Add):
            target = stmt.target
            self.edits.replace(stmt, f"{func}({', '.join(['dst=' + self.edits.render(target), *kwargs])})")
            if isinstance(target, ast.Subscript):
                target = target.value
            if isinstance(target, ast.Name):
                self.zeros_to_ndarray.add(target.id)
            self.note("matmul-accumulate", stmt)
            return
        if isinstance(stmt, ast.Assign) and stmt.value is call and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Subscript):
            self.edits.replace(stmt, f"{func}({', '.join(['dst=' + self.edits.render(stmt.targets[0]), *kwargs])})")
            self.note("isa-dst", stmt)
            return
        if stmt.col_offset != self.edits.indent_of(stmt).__len__() or \
                any(isinstance(n, (ast.Lambda, ast.comprehension, ast.IfExp, ast.BoolOp)) and
                    any(c is call for c in ast.walk(n)) for n in ast.walk(stmt)):
            self.find(call, f"nisa.{op}", "its result is used where a statement cannot be put before it",
                      f"assign the nisa.{op} result to a name in a statement of its own first")
            return
        # Operands named in the result's shape are evaluated twice: bind impure ones to a name first.
        pre, values = [], {}
        for key, node in args.items():
            text = self.edits.render(node)
            if f"{{{key}}}" in spec.shape + spec.dtype and not isinstance(node, ast.Name):
                # named once: an impure operand must run once, and a view is easier to read by name
                tmp = self.fresh(f"{key}_in")
                pre.append(f"{tmp} = {text}")
                kwargs = [f"{key}={tmp}" if k.startswith(f"{key}=") else k for k in kwargs]
                text = tmp
            values[key] = text
        try:
            shape = spec.shape.format(**values)
            dtype = values["dtype"] if "dtype" in values else spec.dtype.format(**values)
        except KeyError as e:
            self.find(call, f"nisa.{op}", f"its {e.args[0]} argument is missing", "pass it explicitly")
            return
        name = None
        if isinstance(stmt, ast.Assign) and stmt.value is call and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Name) and not any(
                    isinstance(n, ast.Name) and n.id == stmt.targets[0].id for n in ast.walk(call)):
            name = stmt.targets[0].id
            lines = [*pre, f"{name} = nl.ndarray({shape}, dtype={dtype}, buffer={spec.buffer})"]
            self.edits.insert_before(stmt, lines)
            self.edits.replace(stmt, f"{func}({', '.join(['dst=' + name, *kwargs])})")
        else:
            name = self.fresh(f"{op}_res")
            self.edits.insert_before(stmt, [*pre, f"{name} = nl.ndarray({shape}, dtype={dtype}, buffer={spec.buffer})",
                                            f"{func}({', '.join(['dst=' + name, *kwargs])})"])
            self.edits.replace(call, name)
        self.note("isa-dst", call)

    def psum_zeros(self, fn: ast.FunctionDef) -> None:
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id in self.zeros_to_ndarray and isinstance(node.value, ast.Call) \
                    and self.legacy_member(node.value.func, "language") == "zeros" and any(
                        k.arg == "buffer" and self.legacy_member(k.value, "language") == "psum"
                        for k in node.value.keywords):
                func = node.value.func
                self.edits.replace_range(*self.edits.span(func),
                                         self.edits.render(func)[:-len("zeros")] + "ndarray")
                self.note("matmul-accumulate", node)
        self.zeros_to_ndarray.clear()


_LANGUAGE_HINTS = {
    "arange": "index with slices (t[0:P, a:a + F]) instead of nl.arange expressions",
    "mgrid": "index with slices (t[0:P, a:a + F]) instead of nl.mgrid expressions",
    "loop_reduce": "accumulate into a tile with nisa.tensor_tensor inside the loop",
    "all_reduce": "use the v2 collectives",
    "spmd_dim": "launch kernel[1] or kernel[2]",
}


def migrate_source(source: str, function: str, filename: str = "kernel.py") -> Migration:
    """Rewrite a legacy-dialect kernel file into the current dialect as far as the rules reach."""
    return _Migrator(source, function, filename).run()
