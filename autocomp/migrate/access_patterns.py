"""The ``index-pattern`` rule: a v1 index that is no box (a transpose or pooling pattern such as
``t[i_p, i_f2 * F1 + i_f1]``) becomes a v2 access pattern ``t.ap(pattern=[[stride, count], ...], offset=o)``.

v1 advanced indexing gives a tile whose dimensions are the index's axes in order; element ``(k0, k1, ..)``
reads ``t[e_0(k), e_1(k), ..]`` where each ``e_j`` is affine in the index names. With ``d_j`` the element
stride of dimension ``j`` of ``t`` (the product of the later dimensions), axis ``a`` steps
``sum_j coef_j(a) * d_j`` elements and the start is ``sum_j const_j * d_j``: exactly ``.ap()``'s
``[[stride, count], ...]`` and ``offset`` (docs/nki-semantics.md#current-dialect-views-and-access-patterns).

``.ap()`` addresses the tensor's own storage, so the rule applies only to names that hold a whole tensor
(a kernel parameter, or a name every assignment of which is a fresh tile from an nl / nisa call), and,
for tiles not known to be in HBM, only when the partition dimension is indexed by index axis 0 alone with
step 1 (the first pair of an SBUF pattern steps partitions).
"""

from __future__ import annotations

import ast
import re

from autocomp.migrate.astutil import neg

HBM_BUFFERS = ("shared_hbm", "hbm", "private_hbm")


class AccessPatternRules:
    """Mixed into the migrator: needs the IndexRules helpers, ``edits``, ``legacy_member``, ``note``."""

    whole_tensors: set[str]
    hbm_tensors: set[str]

    def find_whole_tensors(self, fn: ast.FunctionDef) -> set[str]:
        verdict = {a.arg: True for a in (*fn.args.posonlyargs, *fn.args.args)}
        for node in ast.walk(fn):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                fresh = isinstance(node.value, ast.Call) and any(
                    self.legacy_member(node.value.func, m) is not None for m in ("language", "isa"))
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                            verdict[n.id] = verdict.get(n.id, True) and fresh and t is n
            elif isinstance(node, (ast.AugAssign, ast.For, ast.NamedExpr)):
                for n in ast.walk(node.target):
                    if isinstance(n, ast.Name):
                        verdict[n.id] = False
        return {name for name, whole in verdict.items() if whole}

    def find_hbm_tensors(self, fn: ast.FunctionDef) -> set[str]:
        """Of the whole tensors, those surely in HBM: the kernel's parameters and ``nl.ndarray(..., buffer=<an
        HBM buffer>)`` results (an HBM pattern has no partition dimension to respect)."""
        hbm = {a.arg for a in (*fn.args.posonlyargs, *fn.args.args)}
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and isinstance(node.value, ast.Call) and any(
                        k.arg == "buffer" and self.legacy_member(k.value, "language") in HBM_BUFFERS
                        for k in node.value.keywords):
                hbm.add(node.targets[0].id)
        return hbm & self.whole_tensors

    def index_pattern(self, sub: ast.Subscript) -> bool:
        """Rewrite ``sub`` as an access pattern; False (nothing recorded) when the rule does not apply."""
        if not (isinstance(sub.value, ast.Name) and sub.value.id in self.whole_tensors) or \
                id(sub) in self.block_orders:
            return False
        name = sub.value.id
        items = list(sub.slice.elts) if isinstance(sub.slice, ast.Tuple) else [sub.slice]
        used: list = []
        elements = []
        for it in items:
            terms = self._pattern_terms(it, used)
            if terms is None:
                return False
            elements.append(terms)
        infos = {}
        for _consts, coefs in elements:
            for key, (_, info) in coefs.items():
                if key in infos:
                    return False  # an index name in two elements: a diagonal, not a pattern
                infos[key] = info
        axes = sorted(i.axis for i in infos.values())
        if not infos or axes != list(range(len(axes))) or len({i.ndim for i in infos.values()}) != 1 or \
                axes[-1] + 1 != next(iter(infos.values())).ndim:
            return False
        first = elements[0][1]
        if name not in self.hbm_tensors and (len(first) != 1 or next(iter(first.values()))[0] != "1"
                                             or next(iter(first.values()))[1].axis != 0):
            return False  # on chip, the partition dimension must be index axis 0 alone, step 1
        ndim = len(items)

        def stride(j: int) -> str:
            return " * ".join(f"{name}.shape[{k}]" for k in range(j + 1, ndim)) or "1"

        pairs: dict[int, tuple[str, str]] = {}
        offset = []
        for j, (consts, coefs) in enumerate(elements):
            d = stride(j)
            for c in consts:
                offset.append(_times(c, d))
            for coef, info in coefs.values():
                pairs[info.axis] = (_times(coef, d), info.size)
        pattern = ", ".join(f"[{s}, {n}]" for s, n in (pairs[a] for a in sorted(pairs)))
        off = " + ".join(offset).replace("+ -", "- ") if offset else "0"
        text = f"{name}.ap(pattern=[{pattern}], offset={off})"
        self.edits.replace(sub, text + ("[...]" if isinstance(sub.ctx, ast.Store) else ""))
        self._consume(used)
        self.note("index-pattern", sub)
        return True

    def _pattern_terms(self, node: ast.AST, used: list) -> tuple[list[str], dict] | None:
        """``node`` as (constant terms, {index key: (coefficient text, index)}), each index at most once, the
        coefficients any index-free expressions; None when it is not of that form."""
        from autocomp.migrate.indices import _index_key, _with_start

        key = _index_key(node)
        if key is not None and key in self.index_names:
            info = self.index_names[key]
            used.append(key)
            consts, _ = _with_start([], {id(info): (1, info)})
            return consts, {key: ("1", info)}
        if not self._mentions_index(node):
            return ([] if isinstance(node, ast.Constant) and node.value == 0 else [self.edits.render(node)]), {}
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self._pattern_terms(node.operand, used)
            return None if inner is None else ([neg(t) for t in inner[0]],
                                               {k: (neg(c), i) for k, (c, i) in inner[1].items()})
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            a, b = self._pattern_terms(node.left, used), self._pattern_terms(node.right, used)
            if a is None or b is None or set(a[1]) & set(b[1]):
                return None
            if isinstance(node.op, ast.Sub):
                b = [neg(t) for t in b[0]], {k: (neg(c), i) for k, (c, i) in b[1].items()}
            return a[0] + b[0], {**a[1], **b[1]}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for inner_node, k in ((node.left, node.right), (node.right, node.left)):
                if not self._mentions_index(k):
                    inner = self._pattern_terms(inner_node, used)
                    if inner is None:
                        return None
                    factor = self.edits.render(k)
                    return ([_times(t, factor) for t in inner[0]],
                            {key: (_times(c, factor), i) for key, (c, i) in inner[1].items()})
        return None


def _times(a: str, b: str) -> str:
    """``a * b`` as text, dropping factors of 1 and parenthesising compound factors."""
    if a == "1":
        return b
    if b == "1":
        return a

    def wrap(t: str) -> str:
        return t if re.fullmatch(r"[\w.\[\]]+", t) or re.fullmatch(r"[\w.\[\]]+( \* [\w.\[\]]+)+", t) \
            else f"({t})"
    return f"{wrap(a)} * {wrap(b)}"
