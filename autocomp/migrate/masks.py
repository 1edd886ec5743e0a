"""The ``mask-bounds`` rule: a v1 partition mask ``mask=(start + i_p < bound)`` becomes slices clamped with
``min()``, the current dialect's form for ragged edge tiles.

v1 masks the rows of a tile past ``bound``: a masked load leaves them unwritten, a masked store does not write
them, a masked computation into ``t[...]`` leaves them as they were. With ``n = min(P, bound - start)``:

- ``t = nl.load(a[start + i_p, i_f], mask=m)`` -> ``t = nl.ndarray((P, F), dtype=a.dtype, buffer=nl.sbuf)``
  then ``t[0:n] = nl.load(a[start:start + n, 0:F])`` (the tile keeps its P rows, as in v1);
- ``nl.store(a[start + i_p, i_f], value=t, mask=m)`` -> ``nl.store(a[start:start + n, 0:F], value=t[0:n])``;
- ``t[...] = nl.op(x, y, mask=m)`` -> ``t[0:n] = nl.op(x[0:n], y[0:n])`` (tile operands named, others kept);
- a free-axis mask on the operand of a reducing ISA call (``bn_stats``, ``tensor_reduce``), with ``n`` the
  mask's bound: the operand's slice on that axis stops at ``n`` (the instruction reads only those elements).

Only a mask that compares one index (step 1) plus a constant with ``<`` or ``<=`` is handled, on the forms
above; any other mask stays a finding.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# ISA calls whose result does not take the shape of a masked operand's free axes (they reduce over them), so
# reading fewer elements leaves the result's shape as v1 made it.
REDUCING = frozenset({"bn_stats", "tensor_reduce"})


@dataclass
class _MaskPlan:
    rows: str  # n: how many leading partitions the mask keeps
    kind: str  # "load", "store" or "compute"
    stmt: ast.stmt
    shape: list[str] | None = None  # a masked load's full tile shape


class MaskRules:
    """Mixed into the migrator: needs the IndexRules helpers, ``edits``, ``legacy_member``, ``note``."""

    masked: dict[int, _MaskPlan]
    clamps: dict[int, tuple[int, str]]

    def plan_masks(self, stmt: ast.stmt) -> None:
        """Before the statement's indices become slices: which masked calls the rule rewrites, and the
        subscripts whose partition slice stops at ``n``."""
        if not isinstance(stmt, (ast.Assign, ast.Expr)):
            return
        call = stmt.value
        if not isinstance(call, ast.Call):
            return
        name = self.legacy_member(call.func, "language")
        isa = self.legacy_member(call.func, "isa")
        mask = next((k.value for k in call.keywords if k.arg == "mask"), None)
        if (name is None and isa is None) or mask is None:
            return
        bound = self._mask_rows(mask)
        if bound is None:
            return
        rows, key, used, axis = bound
        if axis != 0 or isa is not None:
            if isa in REDUCING and self._clamp_operands(stmt, call, key, axis, rows):
                self.masked[id(call)] = _MaskPlan(rows, "operands", stmt)
                self._consume(used)
            return
        if name == "load":
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
            src = call.args[0] if call.args else None
            sizes = self._box_sizes(src, key) if isinstance(target, ast.Name) and len(call.args) == 1 else None
            if sizes is None:
                return
            self.clamps[id(src)] = (0, rows)
            self.masked[id(call)] = _MaskPlan(rows, "load", stmt, sizes)
        elif name == "store":
            dst = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "dst"), None)
            value = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords
                                                                   if k.arg == "value"), None)
            if self._box_sizes(dst, key) is None or not isinstance(value, ast.Name):
                return
            self.clamps[id(dst)] = (0, rows)
            self.masked[id(call)] = _MaskPlan(rows, "store", stmt)
        else:
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
            if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                    and isinstance(target.slice, ast.Constant) and target.slice.value is Ellipsis):
                return
            if any(self._mentions_index(a) for a in [*call.args, *(k.value for k in call.keywords
                                                                  if k.arg != "mask")]):
                return
            self.masked[id(call)] = _MaskPlan(rows, "compute", stmt)
        self._consume(used)

    def _mask_rows(self, mask: ast.AST) -> tuple[str, str, list, int] | None:
        """``n`` for ``start + i_p < bound`` (or ``<=``): the index key, and the index uses it consumed."""
        if not (isinstance(mask, ast.Compare) and len(mask.ops) == 1 and isinstance(mask.ops[0], (ast.Lt, ast.LtE))):
            return None
        if self._mentions_index(mask.comparators[0]):
            return None
        used: list = []
        lin = self._linear(mask.left, used)
        if lin is None or len(lin[1]) != 1 or len(used) != 1:
            return None
        (c, info), = lin[1].values()
        if c != 1:
            return None
        start = " + ".join(lin[0]).replace("+ -", "- ") if lin[0] else "0"
        bound = self.edits.render(mask.comparators[0])
        if isinstance(mask.ops[0], ast.LtE):
            bound = f"{bound} + 1"
        size = info.size if info.size.isidentifier() or info.size.isdigit() else f"({info.size})"
        rows = f"min({size}, {bound} - ({start}))" if start != "0" else f"min({size}, {bound})"
        return rows, used[0], used, info.axis

    def _clamp_operands(self, stmt: ast.stmt, call: ast.Call, key: str, axis: int, rows: str) -> bool:
        """A mask on an index only the call's operands use (``bn_stats(x[i_p, j * W + i_f], mask=(j * W + i_f
        < n))``): the instruction reads just the masked elements, so those operand subscripts stop at ``rows``.
        Not when the result is indexed by it too (then the result's shape would change)."""
        targets = stmt.targets if isinstance(stmt, ast.Assign) else []
        if any(_index_key_of(n) == key for t in targets for n in ast.walk(t)):
            return False
        operands = [a for a in call.args] + [k.value for k in call.keywords if k.arg != "mask"]
        subs = [n for a in operands for n in ast.walk(a) if isinstance(n, ast.Subscript)
                and any(_index_key_of(m) == key for m in ast.walk(n.slice))]
        if not subs or any(self._box_sizes(sub, key, axis) is None for sub in subs):
            return False
        for sub in subs:
            self.clamps[id(sub)] = (axis, rows)
        return True

    def _box_sizes(self, sub: ast.AST, key: str, axis: int = 0) -> list[str] | None:
        """The sizes of ``sub``'s elements when each is ``offset + one index`` in axis order, the one at ``axis``
        being the mask's index ``key``; else None."""
        if not isinstance(sub, ast.Subscript):
            return None
        items = list(sub.slice.elts) if isinstance(sub.slice, ast.Tuple) else [sub.slice]
        sizes = []
        for position, it in enumerate(items):
            used: list = []
            lin = self._linear(it, used)
            if lin is None or len(lin[1]) != 1:
                return None
            (c, info), = lin[1].values()
            if c != 1 or info.axis != position or (position == axis and used != [key]):
                return None
            sizes.append(info.size)
        return sizes

    def apply_masks(self, stmt: ast.stmt) -> None:
        """After the statement's other rules: rewrite the masked call planned for it."""
        call = getattr(stmt, "value", None)
        plan = self.masked.pop(id(call), None) if isinstance(call, ast.Call) else None
        if plan is None:
            return
        func = self.edits.render(call.func)
        args = [self.edits.render(a) for a in call.args]
        kwargs = {k.arg: self.edits.render(k.value) for k in call.keywords if k.arg != "mask"}
        rows = plan.rows
        if plan.kind == "operands":
            if self.legacy_member(call.func, "language") is not None:  # the ISA rule already dropped the mask
                self.edits.replace(call, _call(func, args, kwargs))
        elif plan.kind == "load":
            name = stmt.targets[0].id
            src = call.args[0].value
            dims = ", ".join(plan.shape) + ("," if len(plan.shape) == 1 else "")
            nl = self._language()
            self.edits.insert_before(stmt, [f"{name} = {nl}.ndarray(({dims}), dtype={self.edits.render(src)}.dtype, "
                                            f"buffer={nl}.sbuf)"])
            self.edits.replace(stmt, f"{name}[0:{rows}] = {_call(func, args, kwargs)}")
        elif plan.kind == "store":
            if len(args) > 1:
                args[1] = f"{args[1]}[0:{rows}]"
            else:
                kwargs["value"] = f"{kwargs['value']}[0:{rows}]"
            self.edits.replace(stmt, _call(func, args, kwargs))
        else:
            def rows_of(node: ast.AST, text: str) -> str:
                return f"{text}[0:{rows}]" if isinstance(node, ast.Name) else text
            args = [rows_of(a, t) for a, t in zip(call.args, args)]
            kwargs = {k.arg: rows_of(k.value, kwargs[k.arg]) for k in call.keywords if k.arg != "mask"}
            target = stmt.targets[0].value.id
            self.edits.replace(stmt, f"{target}[0:{rows}] = {_call(func, args, kwargs)}")
        self.note("mask-bounds", stmt)

    def _language(self) -> str:
        return next((local for local, path in self.modules.items() if path == "neuronxcc.nki.language"), "nl")


def _index_key_of(node: ast.AST) -> str | None:
    from autocomp.migrate.indices import _index_key

    return _index_key(node)


def _call(func: str, args: list[str], kwargs: dict[str, str]) -> str:
    return f"{func}({', '.join([*args, *(f'{k}={v}' for k, v in kwargs.items())])})"
