"""Legacy-dialect index expressions: ``nl.arange``, ``nl.mgrid``, ``nl.ds``, masks.

An index expression is affine: ``const + sum(coeff_a * iota_a)`` where each
``iota_a`` counts along one axis of the index grid. Keeping the affine form lets
the simulator turn most arange indexing into strided numpy views (fast) and
gives the cost model exact access patterns. ``//`` and ``%`` make an expression
non-affine; it then falls back to explicit index arrays.
"""

from __future__ import annotations

import dis
import sys

import numpy as np

from autocomp.nki.errors import raise_error, warn

_AND_OR_OPS = {dis.opmap[name] for name in ("JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP") if name in dis.opmap}
_COPY = dis.opmap.get("COPY")


def _joined_by_and_or(depth: int = 3) -> bool:
    """Whether the truth value asked for (``depth`` frames up) is Python's ``and``/``or`` between operands."""
    frame = sys._getframe(depth)
    code = frame.f_code.co_code
    op = code[frame.f_lasti] if frame.f_lasti < len(code) else None
    prev = code[frame.f_lasti - 2] if frame.f_lasti >= 2 else None
    return op in _AND_OR_OPS or (_COPY is not None and prev == _COPY)


def _truth_error(what: str) -> None:
    """``and``/``or`` between masks vs ``if`` on an arange give different compiler errors."""
    if _joined_by_and_or():
        raise_error(
            "err_unsupported_expression_in_mask",
            f"`and`/`or`/`not` cannot combine {what}s; join mask conditions with `&` (and `|`), "
            "e.g. mask=(i_p < 64) & (i_f < 100)",
        )
    raise_error(
        "err_control_flow_condition_depending_on_arange",
        f"Python control flow (`if`, `while`, `bool()`) cannot depend on a {what}, whose value is only "
        "known per element on the device; use mask= or nl.where/affine_select instead",
    )


def _index_assignment_error(what: str) -> None:
    raise_error("err_cannot_assign_to_index",
                f"{what} built from nl.arange / nl.mgrid does not support item assignment; turn it into a tile "
                "with nisa.iota(expr, dtype=...) first and assign into that")


class IndexExpr:
    """An affine index over a grid of ``ndim`` axes (``terms``: axis -> coeff)."""

    __slots__ = ("ndim", "const", "terms", "sizes", "_values", "affine", "grid")

    def __init__(self, ndim: int, const: int, terms: dict[int, int], sizes: dict[int, int],
                 values: np.ndarray | None = None, affine: bool = True, grid: tuple[int, ...] | None = None):
        self.ndim = ndim
        self.const = const
        self.terms = terms
        self.sizes = sizes
        self._values = values
        self.affine = affine
        # The whole nl.mgrid it comes from: mgrid components are dense (NumPy's mgrid), so nisa.iota of one
        # fills the grid's shape. Values stay broadcastable; only iota reads this.
        self.grid = grid

    @property
    def values(self) -> np.ndarray:
        """Index values as an int64 array broadcastable over the grid (size 1 off its axes)."""
        if self._values is None:
            shape = [1] * self.ndim
            for axis, n in self.sizes.items():
                shape[axis] = n
            v = np.full(shape, self.const, dtype=np.int64)
            for axis, c in self.terms.items():
                ax_shape = [1] * self.ndim
                ax_shape[axis] = self.sizes[axis]
                v = v + c * np.arange(self.sizes[axis], dtype=np.int64).reshape(ax_shape)
            self._values = v
        return self._values

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)

    # Arithmetic keeps the affine form when it can.
    def _combine(self, other, sign: int) -> IndexExpr:
        if isinstance(other, IndexExpr):
            if other.ndim != self.ndim:
                raise_error("err_invalid_argument",
                            f"index expressions of {self.ndim} and {other.ndim} dimensions cannot be combined")
            if self.affine and other.affine:
                terms = dict(self.terms)
                for axis, c in other.terms.items():
                    terms[axis] = terms.get(axis, 0) + sign * c
                sizes = {**self.sizes, **other.sizes}
                terms = {a: c for a, c in terms.items() if c != 0}
                return IndexExpr(self.ndim, self.const + sign * other.const, terms, sizes,
                                 grid=self.grid or other.grid)
            return _opaque(self.values + sign * other.values, self.ndim, grid=self.grid or other.grid)
        other = _as_int(other)
        if self.affine:
            return IndexExpr(self.ndim, self.const + sign * other, self.terms, self.sizes, grid=self.grid)
        return _opaque(self.values + sign * other, self.ndim, grid=self.grid)

    def __add__(self, other):
        return self._combine(other, 1)

    __radd__ = __add__

    def __sub__(self, other):
        return self._combine(other, -1)

    def __rsub__(self, other):
        return (-self)._combine(other, 1)

    def __neg__(self):
        return self * -1

    def __mul__(self, other):
        if isinstance(other, IndexExpr):
            return _opaque(self.values * other.values, self.ndim)
        other = _as_int(other)
        if self.affine:
            terms = {a: c * other for a, c in self.terms.items() if c * other != 0}
            return IndexExpr(self.ndim, self.const * other, terms, self.sizes, grid=self.grid)
        return _opaque(self.values * other, self.ndim, grid=self.grid)

    __rmul__ = __mul__

    def __floordiv__(self, other):
        o = other.values if isinstance(other, IndexExpr) else _as_int(other)
        return _opaque(self.values // o, self.ndim)

    def __mod__(self, other):
        o = other.values if isinstance(other, IndexExpr) else _as_int(other)
        return _opaque(self.values % o, self.ndim, uses_mod=True)

    def _compare(self, other, op) -> Mask:
        o = other.values if isinstance(other, IndexExpr) else other
        non_affine = not self.affine or (isinstance(other, IndexExpr) and not other.affine)
        uses_mod = getattr(self, "uses_mod", False) or getattr(other, "uses_mod", False)
        return Mask(op(self.values, o), non_affine=non_affine, uses_mod=uses_mod)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other):  # type: ignore[override]
        return self._compare(other, np.not_equal)

    __hash__ = object.__hash__

    def __bool__(self):
        _truth_error("arange expression")

    def __getitem__(self, key):
        raise_error("err_invalid_argument",
                    "index expressions built from aranges cannot be indexed again; build the expression "
                    "from nl.arange(n)[:, None] / [None, :] directly")

    def __setitem__(self, key, value):
        _index_assignment_error("an index expression")

    def __repr__(self) -> str:
        if not self.affine:
            return f"IndexExpr(non-affine, shape={self.shape})"
        parts = [f"{c}*iota{a}[{self.sizes[a]}]" for a, c in self.terms.items()]
        return f"IndexExpr({self.const} + {' + '.join(parts) or '0'}, ndim={self.ndim})"


class _OpaqueExpr(IndexExpr):
    __slots__ = ("uses_mod",)


def _opaque(values: np.ndarray, ndim: int, uses_mod: bool = False, grid: tuple[int, ...] | None = None) -> IndexExpr:
    e = _OpaqueExpr(ndim, 0, {}, {}, np.asarray(values, dtype=np.int64), affine=False, grid=grid)
    e.uses_mod = uses_mod
    return e


def _as_int(value) -> int:
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise_error("err_invalid_argument",
                f"index expressions combine only with integers and other index expressions, not {value!r}")


class Mask:
    """A predicate over the index grid built from comparisons joined with ``&``/``|``."""

    __slots__ = ("values", "non_affine", "uses_mod")

    def __init__(self, values: np.ndarray, non_affine: bool = False, uses_mod: bool = False):
        self.values = values
        self.non_affine = non_affine
        self.uses_mod = uses_mod

    def __and__(self, other):
        other = _as_mask(other)
        return Mask(np.logical_and(self.values, other.values), self.non_affine or other.non_affine,
                    self.uses_mod or other.uses_mod)

    __rand__ = __and__

    def __or__(self, other):
        other = _as_mask(other)
        return Mask(np.logical_or(self.values, other.values), self.non_affine or other.non_affine,
                    self.uses_mod or other.uses_mod)

    __ror__ = __or__

    def __invert__(self):
        return Mask(np.logical_not(self.values), self.non_affine, self.uses_mod)

    def __setitem__(self, key, value):
        _index_assignment_error("a mask")

    def over(self, shape: tuple[int, ...]) -> np.ndarray:
        """The mask as an operand of ``shape`` sees it: axes the operand broadcasts (size 1) are or-ed away."""
        m = self.values
        if m.ndim == len(shape):
            axes = tuple(a for a, n in enumerate(shape) if n == 1 and m.shape[a] > 1)
            if axes:
                m = m.any(axis=axes, keepdims=True)
        return np.broadcast_to(m, shape)

    def __bool__(self):
        if _joined_by_and_or(2):
            # AWS's published nc_match_replace8 example joins mask conditions with `and`, and AWS's tools run it:
            # Python decides, a mask being truthy, so `a and b` is b and `a or b` is a. Accepted, with a warning.
            warn("`and`/`or` between mask conditions is evaluated by Python: `a and b` keeps only b, `a or b` only "
                 "a; join mask conditions with `&` (and `|`), e.g. mask=(i_p < 64) & (i_f < 100)",
                 "warn_mask_and_or")
            return True
        _truth_error("mask")


def _as_mask(value) -> Mask:
    if isinstance(value, Mask):
        return value
    if isinstance(value, (bool, np.bool_)):
        return Mask(np.asarray(bool(value)))
    raise_error("err_unsupported_expression_in_mask",
                f"masks combine comparisons of index expressions with `&`; got {value!r}")


def check_mask(mask) -> Mask | None:
    """Validate a ``mask=`` argument: affine comparisons only, no ``%``."""
    if mask is None:
        return None
    if isinstance(mask, (bool, np.bool_)):
        return Mask(np.asarray(bool(mask)))
    if not isinstance(mask, Mask):
        raise_error("err_unsupported_expression_in_mask",
                    f"mask= takes comparisons of index expressions joined with `&`, got {type(mask).__name__}")
    if mask.uses_mod:
        raise_error("err_unsupported_expression_in_mask",
                    "`%` is not allowed inside a mask; rewrite the condition as affine comparisons")
    if mask.non_affine:
        raise_error("err_unsupported_expression_in_mask",
                    "mask expressions must be affine (constant + sum of coefficient * index); products of "
                    "aranges and `//` are not, so express the region as comparisons of affine terms")
    return mask


class Arange:
    """``nl.arange(n)``: one-dimensional until placed on a grid axis with None."""

    __slots__ = ("start", "stop")

    def __init__(self, start: int, stop: int):
        self.start, self.stop = start, stop

    def __getitem__(self, key) -> IndexExpr:
        if not isinstance(key, tuple):
            key = (key,)
        ndim = len(key)
        axes = [i for i, k in enumerate(key) if k is not None]
        if len(axes) != 1 or not isinstance(key[axes[0]], slice) or key[axes[0]] != slice(None):
            raise_error("err_invalid_argument",
                        "place an arange on one grid axis with None elsewhere, e.g. nl.arange(128)[:, None]")
        axis = axes[0]
        n = self.stop - self.start
        return IndexExpr(ndim, self.start, {axis: 1}, {axis: n})

    def _unplaced(self, *_):
        raise_error("err_1d_arange_not_supported",
                    "a 1-D nl.arange cannot be used directly; make it 2-D with nl.arange(n)[:, None] for the "
                    "partition dimension or nl.arange(n)[None, :] for the free dimension")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __lt__ = __gt__ = __le__ = __ge__ = _unplaced
    __bool__ = _unplaced

    def __len__(self) -> int:
        return self.stop - self.start

    def __repr__(self) -> str:
        return f"arange({self.start}, {self.stop})"


def arange(*args) -> Arange:
    if len(args) == 1:
        start, stop = 0, args[0]
    elif len(args) == 2:
        start, stop = args
    else:
        raise_error("err_invalid_argument", "nl.arange takes (stop) or (start, stop)")
    return Arange(int(start), int(stop))


class MGrid(tuple):
    """Result of ``nl.mgrid[...]``: unpacks like a tuple, and has ``.p`` / ``.x``."""

    @property
    def p(self) -> IndexExpr:
        return self[0]

    @property
    def x(self) -> IndexExpr:
        return self[1]

    @property
    def y(self) -> IndexExpr:
        return self[2]

    @property
    def z(self) -> IndexExpr:
        return self[3]


class _MGridFactory:
    def __getitem__(self, key) -> MGrid:
        if not isinstance(key, tuple):
            key = (key,)
        ndim = len(key)
        for s in key:
            if not isinstance(s, slice) or s.stop is None or (s.step not in (None, 1)):
                raise_error("err_invalid_argument",
                            "nl.mgrid takes unit-step slices with a stop, e.g. mgrid[0:128, 0:512]")
        grid = tuple(s.stop - (s.start or 0) for s in key)
        return MGrid([IndexExpr(ndim, s.start or 0, {axis: 1}, {axis: n}, grid=grid)
                      for axis, (s, n) in enumerate(zip(key, grid))])


mgrid = _MGridFactory()


def ds(start, size) -> slice:
    """``nl.ds(start, size)``: a dynamic slice of ``size`` elements from ``start``."""
    if isinstance(start, IndexExpr) or isinstance(size, IndexExpr):
        raise_error("err_unsupported_mixing_basic_advanced_tensor_indexing",
                    "nl.ds takes integers (loop variables), not arange expressions")
    return slice(int(start), int(start) + int(size))
