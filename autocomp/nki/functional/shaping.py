"""Broadcasting and new axes: ``nl.broadcast_to`` (a copy into a new SBUF tile) and ``nl.expand_dims`` (a view)."""

from __future__ import annotations

from autocomp.nki.errors import raise_error
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import movement as _move
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, DVE, PSUM, SBUF


def _sbuf(shape, dtype) -> Tile:
    return _new_tile(tuple(int(s) for s in shape), dtype, SBUF)


def broadcast_to(x, shape, dtype=None, **kwargs) -> Tile:
    """A new SBUF tile of ``shape`` repeating ``x`` along its size-1 dimensions (of ``dtype``, default x's).

    Free dimensions broadcast in a Vector copy; a one-partition ``x`` broadcasts along
    partitions through a ones-matmul on the Tensor engine.
    """
    api = "nl.broadcast_to"
    x = _operand(x, api, "x")
    shape = tuple(int(s) for s in shape)
    if len(shape) != len(x.shape) or any(s != d and d != 1 for s, d in zip(shape, x.shape, strict=True)):
        raise_error("err_invalid_argument",
                    f"{api}: cannot broadcast {list(x.shape)} to {list(shape)}; the shapes need the same rank and "
                    "x may differ only in dimensions of size 1 (reshape or index x first)")
    if shape[0] > 128:
        raise_error("err_num_partition_exceed_arch_limit",
                    f"{api}: {shape[0]} partitions exceed the architecture limit of 128")
    out = _sbuf(shape, dtype or x.dtype)
    if x.shape[0] == shape[0]:
        _move.broadcast_copy(out, x, api, engine=ACT if x.buffer == PSUM else DVE)
        return out
    if x.buffer != SBUF:
        staged = _sbuf(x.shape, x.dtype)
        _data.tensor_copy(staged, x, api, engine=ACT)
        x = staged
    _move.partition_broadcast(out, x, api)
    return out


def expand_dims(data, axis) -> Tile:
    """A view of ``data`` with new size-1 dimensions after its last one (no instruction)."""
    api = "nl.expand_dims"
    t = _operand(data, api, "data")
    axes = axis if isinstance(axis, (list, tuple)) else (axis,)
    ndim = len(t.shape) + len(axes)
    positions = sorted(int(a) + ndim if int(a) < 0 else int(a) for a in axes)
    if positions != list(range(len(t.shape), ndim)):
        raise_error("err_invalid_argument",
                    f"{api}: axis {list(axes)} is not supported; new axes can only follow the last dimension of the "
                    f"{len(t.shape)}-D tile (axis={len(t.shape)}, ...)")
    shape = tuple(t.shape) + (1,) * len(axes)
    if t.arrays is not None:
        view = Tile(t.alloc, None, arrays=tuple(a.reshape(a.shape + (1,) * len(axes)) for a in t.arrays),
                    shape=shape)
        view.oob = t.oob
        return view
    spec = list(t.spec) if t.spec is not None else [(0, 1, n) for n in t.alloc.shape]
    return Tile(t.alloc, spec, perm=t.perm, shape=shape)
