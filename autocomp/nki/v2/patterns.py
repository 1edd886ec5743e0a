"""Access-pattern arithmetic behind NkiTensor views, independent of the tensor class.

A pattern is ``(offset, [(stride, count), ...])`` over an allocation's flat
storage. These helpers turn index keys into per-dimension picks, recognise
patterns that are plain slices of the allocation (so the core's fast basic-index
path applies), and reshape patterns without copying (numpy's rule).
"""

from __future__ import annotations

import numpy as np

from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Arange, IndexExpr
from autocomp.nki.tile import Tile

FULL = "full"


def prod(xs) -> int:
    n = 1
    for x in xs:
        n *= int(x)
    return n


def cstrides(shape) -> list[int]:
    out, acc = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        out[d] = acc
        acc *= shape[d]
    return out


def scalar_value(x, what: str = "index") -> int:
    """An int from an int, a VirtualRegister or a one-element tensor (read at run time)."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    value = getattr(x, "register_value", None)
    if value is not None:
        return int(value())
    if isinstance(x, Tile):
        if x.alloc.data is None:
            return 0  # shape-only tracing: dynamic offsets resolve to 0
        v = np.asarray(x.read()).reshape(-1)
        if v.size != 1:
            raise_error("err_invalid_argument", f"a dynamic {what} must be a one-element tensor, got {list(x.shape)}")
        return int(v[0])
    raise_error("err_invalid_argument", f"{what} must be an int, a VirtualRegister or a 1x1 tensor, got {x!r}")


def as_spec(alloc, offset: int, pattern):
    """Express the pattern as per-dimension ints / (start, step, count) of the allocation, if it is one."""
    shape = alloc.shape
    nd = len(shape)
    c = cstrides(shape)
    if not 0 <= offset < max(prod(shape), 1):
        return None
    start, rem = [], offset
    for d in range(nd):
        q, rem = divmod(rem, c[d])
        start.append(q)
    spec: list = list(start)
    last = -1
    for s, n in pattern:
        pick = None
        if n > 1:
            if s <= 0:
                return None
            for e in range(last + 1, nd):
                if c[e] <= s and s % c[e] == 0 and start[e] + (s // c[e]) * (n - 1) < shape[e]:
                    pick = e
                    spec[e] = (start[e], s // c[e], n)
                    break
        else:
            for e in range(last + 1, nd):
                if c[e] == s:
                    pick = e
                    break
            if pick is None and last + 1 < nd:
                pick = last + 1
            if pick is not None:
                spec[pick] = (start[pick], 1, n)
        if pick is None:
            return None
        last = pick
    off2, pat2 = 0, []
    for d, s in enumerate(spec):
        if isinstance(s, int):
            off2 += s * c[d]
        else:
            off2 += s[0] * c[d]
            pat2.append((s[1] * c[d], s[2]))
    if off2 != offset or len(pat2) != len(pattern):
        return None
    for (s1, n1), (s2, n2) in zip(pattern, pat2, strict=True):
        if n1 != n2 or (n1 > 1 and s1 != s2):
            return None
    if alloc.on_chip and not isinstance(spec[alloc.par_axis if alloc.par_axis >= 0 else 0], tuple):
        return None
    if all(isinstance(s, tuple) and s == (0, 1, shape[d]) for d, s in enumerate(spec)):
        return FULL
    return spec


def reshape_pattern(pat, shape):
    """numpy's no-copy reshape: new strides when each merged group of old dims is contiguous, else None."""
    old = [(s, n) for s, n in pat if n != 1]
    nz = [i for i, n in enumerate(shape) if n != 1]
    strides = [0] * len(shape)
    oi = ni = 0
    while ni < len(nz) and oi < len(old):
        want, have = shape[nz[ni]], old[oi][1]
        nj, oj = ni + 1, oi + 1
        while want != have:
            if want < have:
                if nj >= len(nz):
                    return None
                want *= shape[nz[nj]]
                nj += 1
            else:
                if oj >= len(old):
                    return None
                have *= old[oj][1]
                oj += 1
        for k in range(oi, oj - 1):
            if old[k][0] != old[k + 1][0] * old[k + 1][1]:
                return None
        stride = old[oj - 1][0]
        for k in range(nj - 1, ni - 1, -1):
            strides[nz[k]] = stride
            stride *= shape[nz[k]]
        ni, oi = nj, oj
    if ni != len(nz) or oi != len(old):
        return None
    return list(zip(strides, shape, strict=True))


# ---------------------------------------------------------------------------- keys


def shape_arg(args) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def dim_index(d, nd: int) -> int:
    d = int(d)
    if d < 0:
        d += nd
    if not 0 <= d < nd:
        raise_error("err_invalid_argument", f"dimension {d} is out of range for a {nd}-D tensor")
    return d


def index_items(key, shape, name: str) -> list:
    """Per dimension: an int, or (start, step, count) for a slice."""
    if not isinstance(key, tuple):
        key = (key,)
    nd = len(shape)
    if sum(k is Ellipsis for k in key) > 1:
        raise_error("err_invalid_argument", "an index can contain only one ellipsis (...)")
    if any(k is Ellipsis for k in key):
        pos = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:pos] + (slice(None),) * max(nd - (len(key) - 1), 0) + key[pos + 1:]
    if len(key) > nd:
        raise_error("err_tensor_access_out_of_bound",
                    f"{len(key)} indices given for tensor {name} view of shape {list(shape)} ({nd} dimensions)")
    key = key + (slice(None),) * (nd - len(key))
    items = []
    for d, (k, n) in enumerate(zip(key, shape, strict=True)):
        if isinstance(k, slice):
            step = 1 if k.step is None else scalar_value(k.step)
            if step <= 0:
                raise_error("err_invalid_argument", f"slice step must be positive, got {step}")
            start = 0 if k.start is None else scalar_value(k.start)
            stop = n if k.stop is None else scalar_value(k.stop)
            start += n if start < 0 else 0
            stop += n if stop < 0 else 0
            if start < 0 or stop > n or start > n:
                raise_error("err_tensor_access_out_of_bound",
                            f"index range [{start}, {stop}) is out of bounds for dimension {d} of size {n} of tensor "
                            f"{name} view {list(shape)}; clamp the tile with min(), e.g. "
                            "size = min(128, n - i * 128)")
            items.append((start, step, max(0, (stop - start + step - 1) // step)))
        elif isinstance(k, (IndexExpr, Arange)):
            raise_error("err_invalid_argument",
                        "nl.arange / nl.mgrid indices belong to the legacy dialect; index current-dialect tensors "
                        "with ints and slices, or use .ap() for other access patterns")
        else:
            i = scalar_value(k)
            i += n if i < 0 else 0
            if not 0 <= i < n:
                raise_error("err_tensor_access_out_of_bound",
                            f"index {i} is out of bounds for dimension {d} of size {n} of tensor {name} view "
                            f"{list(shape)}")
            items.append(i)
    return items
