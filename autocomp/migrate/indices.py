"""The rules for v1 index expressions: ``nl.arange`` / ``nl.mgrid`` indices become slices (``index-slices``) or
an ``affine_select`` pattern (``affine-select``), and their definitions go once nothing else uses them.

An index name is ``i = nl.arange(N)[:, None]`` (axis 0 of a 2-D index), ``nl.arange(N)[None, :]`` (axis 1),
or one of ``a, b, c = nl.mgrid[s0:e0, s1:e1, s2:e2]`` (axis k of a k-D index, starting at s_k). A subscript
whose every element is ``offset + c * name`` (one name per element, c a positive integer literal, the names'
axes 0, 1, ... in order) selects a box: ``offset + c * start : ... : c``, which is a slice. Anything else (two
names in one element, transposed axes, a mask) is left as written and reported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from autocomp.migrate.astutil import bound_names, neg

_ARANGE_HINT = "index with slices (t[0:P, a:a + F]) instead of nl.arange / nl.mgrid expressions"


@dataclass
class _Index:
    """An index name: its axis, the number of axes of its index, first value and size, and where it is made."""

    axis: int
    ndim: int
    start: str
    size: str
    stmt: ast.stmt | None  # None for an nl.arange written inline
    consumed: int = 0


class IndexRules:
    """Mixed into the migrator: needs ``edits``, ``legacy_member``, ``note``, ``find``, ``source``."""

    index_names: dict[str, _Index]
    block_orders: dict[int, int]

    # ------------------------------------------------------------------ definitions
    def aranges(self, fn: ast.FunctionDef) -> dict[str, _Index]:
        found: dict[str, _Index] = {}
        counts: dict[str, int] = {}
        for node in ast.walk(fn):
            for name in bound_names(node) if isinstance(node, ast.stmt) else ():
                counts[name] = counts.get(name, 0) + 1
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
                continue
            target = node.targets[0]
            if isinstance(target, ast.Name):
                info = self.inline_index(node.value) or self._shifted_index(node.value)
                if info is not None:
                    info.stmt = node
                    found[target.id] = info
                ranges = self._mgrid(node.value)
                if ranges is not None and len(ranges) == 2:  # i = nl.mgrid[...]; i.p, i.x
                    self.index_defs.add(id(node.value))
                    for k, attr in enumerate(("p", "x")):
                        found[f"{target.id}.{attr}"] = _Index(k, 2, *ranges[k], node)
            elif isinstance(target, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Name) for e in target.elts):
                ranges = self._mgrid(node.value)
                if ranges is not None and len(ranges) == len(target.elts):
                    self.index_defs.add(id(node.value))
                    for k, (e, (start, size)) in enumerate(zip(target.elts, ranges)):
                        found[e.id] = _Index(k, len(ranges), start, size, node)
        return {k: v for k, v in found.items() if counts.get(k.split(".")[0]) == 1}

    def inline_index(self, node: ast.AST) -> _Index | None:
        """``nl.arange(N)[:, None]`` / ``nl.arange(N)[None, :]`` as an index, else None."""
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call) and
                self.legacy_member(node.value.func, "language") == "arange" and len(node.value.args) == 1 and
                not node.value.keywords and isinstance(node.slice, ast.Tuple) and len(node.slice.elts) == 2):
            return None
        a, b = node.slice.elts
        none = [isinstance(e, ast.Constant) and e.value is None for e in (a, b)]
        full = [isinstance(e, ast.Slice) and e.lower is None and e.upper is None and e.step is None for e in (a, b)]
        size = self.edits.render(node.value.args[0])
        if full[0] and none[1]:
            return _Index(0, 2, "0", size, None)
        if none[0] and full[1]:
            return _Index(1, 2, "0", size, None)
        return None

    def _shifted_index(self, node: ast.AST) -> _Index | None:
        """``offset + nl.arange(N)[:, None]``: an index starting at ``offset``."""
        if not isinstance(node, ast.BinOp) or not isinstance(node.op, (ast.Add, ast.Sub)):
            return None
        lin = self._linear(node, [])
        if lin is None or len(lin[1]) != 1:
            return None
        (c, info), = lin[1].values()
        if c != 1 or info.stmt is not None or not lin[0]:
            return None
        start = " + ".join(lin[0]).replace("+ -", "- ")
        return _Index(info.axis, info.ndim, start, info.size, None)

    def _mgrid(self, node: ast.AST) -> list[tuple[str, str]] | None:
        """(start, size) texts of each axis of ``nl.mgrid[s0:e0, ...]`` (unit steps only)."""
        if not (isinstance(node, ast.Subscript) and self.legacy_member(node.value, "language") == "mgrid"):
            return None
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        ranges = []
        for it in items:
            if not isinstance(it, ast.Slice) or it.upper is None or it.step is not None:
                return None
            start = self.edits.render(it.lower) if it.lower is not None else "0"
            stop = self.edits.render(it.upper)
            ranges.append((start, stop if start == "0" else f"{stop} - {start}" if start.isidentifier() or
                           start.isdigit() else f"{stop} - ({start})"))
        return ranges

    # ------------------------------------------------------------------ affine expressions
    def _linear(self, node: ast.AST, used: list) -> tuple[list[str], dict[int, tuple[int, _Index]]] | None:
        """``node`` as (constant terms, {key: (coefficient, index)}): affine in index names with integer
        coefficients, or None. Keys are ids of the index records (one per name or inline arange)."""
        key = _index_key(node)
        if key is not None and key in self.index_names:
            info = self.index_names[key]
            used.append(key)
            return _with_start([], {id(info): (1, info)})
        info = self.inline_index(node)
        if info is not None:
            return _with_start([], {id(info): (1, info)})
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self._linear(node.operand, used)
            return None if inner is None else ([neg(t) for t in inner[0]],
                                               {k: (-c, i) for k, (c, i) in inner[1].items()})
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            a, b = self._linear(node.left, used), self._linear(node.right, used)
            if a is None or b is None:
                return None
            sign = 1 if isinstance(node.op, ast.Add) else -1
            coefs = dict(a[1])
            for k, (c, i) in b[1].items():
                coefs[k] = (coefs.get(k, (0, i))[0] + sign * c, i)
            return a[0] + (b[0] if sign == 1 else [neg(t) for t in b[0]]), coefs
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for lin, k in ((node.left, node.right), (node.right, node.left)):
                if isinstance(k, ast.Constant) and type(k.value) is int:
                    inner = self._linear(lin, used)
                    if inner is not None and inner[1]:
                        return ([f"{k.value} * ({t})" for t in inner[0]],
                                {key: (c * k.value, i) for key, (c, i) in inner[1].items()})
        if self._mentions_index(node):
            return None  # an index under an operation that is not affine with an integer coefficient
        if isinstance(node, ast.Constant) and node.value == 0:
            return [], {}
        return [self.edits.render(node)], {}

    def _mentions_index(self, node: ast.AST) -> bool:
        return any(_index_key(n) in self.index_names for n in ast.walk(node)) or \
            any(self.inline_index(n) is not None for n in ast.walk(node))

    def _consume(self, used: list) -> None:
        for name in used:
            self.index_names[name].consumed += 1

    # ------------------------------------------------------------------ affine_select
    def affine_pattern(self, pred: ast.AST, on_true: str | None) -> dict[str, str] | None:
        """v2 ``affine_select`` arguments for a v1 ``pred=(affine expression <cmp> affine expression)``."""
        ops = {ast.GtE: "nl.greater_equal", ast.Gt: "nl.greater", ast.LtE: "nl.less_equal", ast.Lt: "nl.less",
               ast.Eq: "nl.equal", ast.NotEq: "nl.not_equal"}
        if not (isinstance(pred, ast.Compare) and len(pred.ops) == 1 and type(pred.ops[0]) in ops):
            return None
        used: list = []
        diff = self._linear(ast.BinOp(left=pred.left, op=ast.Sub(), right=pred.comparators[0]), used)
        if diff is None or not diff[1]:
            return None
        terms, coefs = diff
        ndims = {i.ndim for _, i in coefs.values()}
        if len(ndims) != 1 or len({i.axis for _, i in coefs.values()}) != len(coefs):
            return None
        partition = [c for c, i in coefs.values() if i.axis == 0]
        free = sorted(((i.axis, c, i.size) for c, i in coefs.values() if i.axis > 0))
        if not free:
            if on_true is None:
                return None
            free = [(1, 0, f"{on_true}.shape[1]")]
        self._consume(used)
        offset = " + ".join(terms).replace("+ -", "- ") if terms else "0"
        pattern = ", ".join(f"[{c}, {size}]" for _, c, size in free)
        return {"pattern": f"[{pattern}]", "channel_multiplier": str(partition[0] if partition else 0),
                "cmp_op": ops[type(pred.ops[0])], "offset": offset}

    # ------------------------------------------------------------------ subscripts
    def index_slices(self, sub: ast.Subscript) -> None:
        """``t[i_p, j * 512 + i_f]`` -> ``t[0:P, j * 512:j * 512 + F]`` when every index element is one index
        name; a block tensor's index also moves its partition element first (the block-dimension rule)."""
        items = list(sub.slice.elts) if isinstance(sub.slice, ast.Tuple) else [sub.slice]
        block = self.block_orders.get(id(sub))
        if not any(self._mentions_index(it) for it in items):
            if block is not None:
                self._reorder(sub, [self.edits.render(it) for it in items], block)
            return
        used: list = []
        parts = []
        axis = 0
        for it in items:
            if not self._mentions_index(it):  # a block index (basic) beside the advanced ones
                parts.append(self.edits.render(it))
                continue
            lin = self._linear(it, used)
            if lin is None or len(lin[1]) != 1:
                return self._index_finding(sub, "an index element that is not offset + c * one index")
            (c, info), = lin[1].values()
            if c <= 0 or info.axis != axis:
                return self._index_finding(sub, "indices out of axis order, or a negative or zero step")
            axis += 1
            start = " + ".join(lin[0]).replace("+ -", "- ") if lin[0] else "0"
            stop = f"{start} + {info.size}" if start != "0" else info.size
            if c == 1:
                parts.append(f"{start}:{stop}")
            else:
                size = info.size if info.size.isidentifier() or info.size.isdigit() else f"({info.size})"
                end = f"{c} * ({size} - 1) + 1" if start == "0" else f"{start} + {c} * ({size} - 1) + 1"
                parts.append(f"{start}:{end}:{c}")
        if axis != info.ndim:
            return self._index_finding(sub, "an index with fewer elements than its nl.mgrid / nl.arange axes")
        self._consume(used)
        if block is not None:
            self._reorder(sub, parts, block)
        else:
            self.edits.replace(sub.slice, ", ".join(parts))
        self.note("index-slices", sub)

    def _reorder(self, sub: ast.Subscript, parts: list[str], pos: int) -> None:
        """A block tensor's index ``[b0, .., p, f..]`` as ``[p, b0, .., f..]`` (the partition moved first)."""
        blocks, rest = parts[:pos], parts[pos:]
        self.edits.replace(sub.slice, ", ".join([rest[0] if rest else ":", *blocks, *rest[1:]]))

    def _index_finding(self, sub: ast.Subscript, why: str) -> None:
        self.find(sub, "nl.arange / nl.mgrid index", f"{why} has no slice form", _ARANGE_HINT)

    def settle_aranges(self, fn: ast.FunctionDef) -> None:
        """Definitions whose every use became a slice or a pattern are deleted; the others are findings."""
        by_stmt: dict[int, list[tuple[str, _Index]]] = {}
        for name, info in self.index_names.items():
            by_stmt.setdefault(id(info.stmt), []).append((name, info))
        for group in by_stmt.values():
            stmt = group[0][1].stmt
            done = True
            for name, info in group:
                base = name.split(".")[0]
                loads = sum(1 for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == base
                            and isinstance(n.ctx, ast.Load))
                if "." in name:  # i.p and i.x: every use of i must be one of them, and all of them consumed
                    info = _Index(0, 2, "0", "0", stmt, sum(i.consumed for k, i in group))
                    loads = loads if all("." in k for k, _ in group) else -1
                done = done and info.consumed == loads
            if done:
                start = self.edits.offset(stmt.lineno, 0)
                last = stmt.end_lineno
                end = self.edits.offset(last + 1, 0) if last < self.source.count("\n") + 1 else len(self.source)
                self.edits.replace_range(start, end, "")
                self.note("index-slices", stmt)
            else:
                kind = "nl.mgrid" if self._mgrid(stmt.value) is not None else "nl.arange"
                self.find(stmt, kind, f"the current dialect has no {kind}", _ARANGE_HINT)
        self.index_names = {}


def _index_key(node: ast.AST) -> str | None:
    """How an index is named: ``i`` or, for an nl.mgrid object, ``i.p`` / ``i.x``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr in ("p", "x"):
        return f"{node.value.id}.{node.attr}"
    return None


def _with_start(terms: list[str], coefs: dict) -> tuple[list[str], dict]:
    """An index name stands for ``start + i``: its start joins the constant terms."""
    for c, info in coefs.values():
        if info.start != "0":
            terms = [*terms, info.start if c == 1 else f"{c} * ({info.start})"]
    return terms, coefs
