"""Tensor storage with lazy values, so large kernels simulate at numpy speed.

An ``Allocation`` holds one tensor's values in one of these states:

- concrete: a numpy array it owns;
- unfilled / zeros: not materialised yet (sentinel-filled or zeroed on first use);
- lazy: a read-only numpy view of another allocation's values (a DMA load that
  copied nothing yet). Before the source is written, its lazy readers copy;
- pending: a PSUM accumulation group whose matmuls are not computed yet. They
  run as one large BLAS call when the values are first read, which is how a
  K-loop of 128-row matmuls costs about one numpy matmul.

Numerics are unchanged by laziness: every state materialises to exactly the
values an eager simulation would hold (up to fp32 summation order in PSUM,
which hardware does not fix either).
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.trace import PSUM, SBUF, TensorInfo

ON_CHIP = (SBUF, PSUM)
_UNFILLED = "unfilled"
_ZEROS = "zeros"


_GEOMETRY: dict = {}


def _geometry(shape: tuple[int, ...], par_axis: int, buffer: str, dtype: np.dtype) -> tuple:
    """(element strides per dim within a partition (on-chip) or the flat tensor (HBM), elements per
    partition, partitions, block copies, bytes per partition, dtype name, dtype); cached because kernels
    allocate the same shapes often. The cache is keyed by ``id(dtype)``; holding the dtype keeps that id valid."""
    strides = [0] * len(shape)
    acc = 1
    for d in range(len(shape) - 1, -1, -1):
        if d == par_axis:
            continue
        strides[d] = acc
        acc *= shape[d]
    partitions = shape[par_axis] if par_axis >= 0 else (shape[0] if shape else 1)
    blocks = max(math.prod(shape[:par_axis]), 1) if par_axis > 0 else 1
    item = dtype.itemsize
    bpp = (acc // blocks) * item if buffer in ON_CHIP else acc * item
    return tuple(strides), acc, partitions, blocks, bpp, dt.dtype_name(dtype), dtype


def sentinel_fill(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Fresh memory holds NaN (floats) or 4 (ints) so reads of unwritten data show up."""
    if dt.is_float(dtype):
        try:
            return np.full(shape, np.nan, dtype=dtype)
        except (ValueError, TypeError):
            return np.zeros(shape, dtype=dtype)
    return np.full(shape, 4, dtype=dtype) if dtype != dt.bool_ else np.zeros(shape, dtype=dtype)


class Allocation:
    """One tensor. ``par_axis`` is the partition dimension (on-chip), -1 for HBM."""

    __slots__ = ("id", "name", "buffer", "shape", "dtype", "dtname", "_data", "par_axis", "kind", "mutable",
                 "written", "producer", "pending_mask", "loop_id", "strides", "numel_pp", "address", "_lazy",
                 "_lazy_src", "_pending", "_readers", "_f32", "returned", "dirty", "scope", "base", "unset",
                 "__weakref__")

    def __init__(self, ctx, name: str | None, buffer: str, shape: tuple[int, ...], dtype: np.dtype, par_axis: int,
                 kind: str = "internal", fill: str | float | None = "sentinel", address=None, data=None):
        geo = _GEOMETRY.get((shape, par_axis, buffer, id(dtype)))
        if geo is None:
            geo = _GEOMETRY[(shape, par_axis, buffer, id(dtype))] = _geometry(shape, par_axis, buffer, dtype)
        self.strides, self.numel_pp, partitions, blocks, bpp, self.dtname, _ = geo
        self.id = tid = ctx.next_tensor_id
        ctx.next_tensor_id = tid + 1
        self.name = name = name or f"t{tid}"  # unnamed tensors are t<id>
        self.buffer = buffer
        self.shape = shape
        self.dtype = dtype
        self.par_axis = par_axis
        self.kind = kind
        self.mutable = kind != "input"
        self.written = False
        self.producer = None  # instruction whose result this temporary holds (for assignment retargeting)
        self.pending_mask = None
        self.loop_id = ctx.loop
        # The innermost loop construct it was created in: v1 kernels may not use it after that loop.
        self.scope = ctx.loop_stack[-1] if ctx.loop_stack else 0
        self.address = address
        self.returned = False
        self.dirty = False  # written by the kernel (inputs start written but not dirty)
        self.base = None  # the tensor this one reshapes (an alias of the same HBM memory)
        self._lazy = None
        self._lazy_src = None
        self._pending = None
        self._readers = None
        self._f32 = None
        # PSUM only: which elements no write has reached since allocation, once some have been written (while
        # nothing is, the unfilled state says so for all). None: every element was written.
        self.unset = None
        if data is not None:
            self._data = data
        elif not ctx.numerics:
            self._data = None
        elif fill == "sentinel":
            self._data = _UNFILLED
        elif fill == 0:
            self._data = _ZEROS
        else:
            self._data = np.full(shape, fill, dtype=dtype)
        trace = ctx.trace
        trace.tensors[tid] = TensorInfo(tid, name, buffer, shape, self.dtname, dtype.itemsize, partitions, bpp,
                                        blocks, address, kind, len(trace.instructions), ctx.loop)

    # ------------------------------------------------------------------ values
    @property
    def data(self) -> np.ndarray | None:
        """The values for reading (possibly a read-only view). None when tracing shapes only."""
        d = self._data
        if self._pending is None and self._lazy is None and d.__class__ is np.ndarray:
            return d
        return self._materialize(for_write=False)

    @data.setter
    def data(self, value: np.ndarray | None) -> None:
        self._notify_readers()
        self._drop_lazy()
        self._pending = None
        self._data = value
        self._f32 = None
        self.unset = None

    @property
    def has_values(self) -> bool:
        return self._data is not None or self._lazy is not None

    def writable(self) -> np.ndarray:
        """The owned, writable values array; call before every in-place write."""
        if self.base is not None:
            self.base.mark_written()
            if self.base._readers:
                self.base._notify_readers()
        if self._readers:
            self._notify_readers()
        d = self._data
        if self._pending is None and self._lazy is None and d.__class__ is np.ndarray:
            self._f32 = None
            return d
        return self._materialize(for_write=True)

    def _materialize(self, for_write: bool):
        if self._pending is not None:
            self._flush_pending()
        if self._lazy is not None:
            if not for_write:
                return self._lazy
            self._data = np.array(self._lazy, copy=True)
            self._drop_lazy()
        d = self._data
        if isinstance(d, str):
            if d == _UNFILLED:
                self._data = d = sentinel_fill(self.shape, self.dtype)
                if self.buffer == PSUM:
                    self.unset = np.ones(self.shape, dtype=bool)  # Tile.write clears what it writes
            else:
                self._data = d = np.zeros(self.shape, dtype=self.dtype)
        if for_write:
            self._f32 = None
        return d

    def set_values(self, values: np.ndarray) -> None:
        """Replace all values with an array this allocation may own (no copy)."""
        if self._readers:
            self._notify_readers()
        self._drop_lazy()
        self._pending = None
        self._f32 = None
        self._data = values
        self.unset = None

    # ------------------------------------------------------------------ lazy views
    def set_lazy(self, view: np.ndarray, source: Allocation, private: bool = False) -> None:
        """Hold ``view`` (of ``source``'s values) instead of a copy, until someone writes either.
        ``private``: the view is already a read-only view nobody else writes through (a dying temporary's)."""
        if self._readers:
            self._notify_readers()
        self._drop_lazy()
        self._pending = None
        self._f32 = None
        self.unset = None
        if source._lazy is not None:  # point at the memory's real owner
            source = source._lazy_src
        if not private:
            view = view.view()
            view.flags.writeable = False
        self._lazy = view
        self._lazy_src = source
        source.add_reader(self)
        self._data = _UNFILLED

    def add_reader(self, reader: Allocation) -> None:
        if self._readers is None:
            self._readers = []
        self._readers.append(weakref.ref(reader))

    def _drop_lazy(self) -> None:
        self._lazy = None
        self._lazy_src = None

    def _notify_readers(self) -> None:
        """Our values are about to change: lazy readers copy, pending groups compute now."""
        readers, self._readers = self._readers, None
        for ref in readers or ():
            r = ref()
            if r is None:
                continue
            if r._pending is not None:
                r._flush_pending()
            if r._lazy is not None and r._lazy_src is self:
                r._data = np.array(r._lazy, copy=True)
                r._drop_lazy()

    def f32_values(self) -> np.ndarray:
        """The values as float32, cached until the next write (for matmul operands)."""
        if self._f32 is None:
            v = self.data
            self._f32 = v if v.dtype == np.float32 else v.astype(np.float32)
        return self._f32

    # ------------------------------------------------------------------ deferred matmul accumulation
    def defer_matmul(self, a: tuple, b: tuple, accumulate: bool) -> None:
        """Record ``values (+)= A.T @ B`` where a/b are (array, owner) operand views; computed on read."""
        if not accumulate:
            if self._readers:
                self._notify_readers()
            self._drop_lazy()
            self._pending = None
            self._data = _ZEROS
            self.unset = None
        elif self._lazy is not None:
            self._materialize(for_write=True)
        for _, owner in (a, b):
            owner.add_reader(self)
        if self._pending is None:
            self._pending = []
        self._pending.append((a, b))
        self._f32 = None

    def zero_unwritten(self) -> None:
        """Make the PSUM elements no write has reached since allocation 0, so that a matmul accumulated onto them
        next overwrites them: the first matmul write of an accumulation group does on hardware. Only elements
        that also still hold the NaN sentinel count: a write that bypassed the tracking shows in the values."""
        d = self._data
        if self._lazy is None and self._pending is None and isinstance(d, str) and d == _UNFILLED:
            self._data = _ZEROS
            return
        if self.unset is None:
            return
        unset, self.unset = self.unset, None
        values = self.writable()
        fresh = unset & np.isnan(values) if dt.is_float(self.dtype) else unset
        if fresh.any():
            values[fresh] = 0

    def take_pending(self, other: Allocation) -> None:
        """Accumulate another allocation's deferred matmuls into ours (``psum += nc_matmul(...)``)."""
        if other._pending is None:
            self.writable()[...] += other.data.reshape(self.shape)
            return
        if self._lazy is not None:
            self._materialize(for_write=True)
        if self._readers:
            self._notify_readers()
        for a, b in other._pending:
            for _, owner in (a, b):
                owner.add_reader(self)
        if self._pending is None:
            self._pending = []
        self._pending.extend(other._pending)
        other._pending = None
        self._f32 = None

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending, None
        # Strided operand views go to BLAS as they are: its packing reads them faster than a copy would.
        product = _stack_operands([p[0] for p in pending]).T @ _stack_operands([p[1] for p in pending])
        base = self._data
        if isinstance(base, str):
            if base == _ZEROS:
                self._data = product.reshape(self.shape).astype(self.dtype, copy=False)
                return
            base = sentinel_fill(self.shape, self.dtype)
        product += base.astype(np.float32, copy=False).reshape(product.shape)
        self._data = product.reshape(self.shape).astype(self.dtype, copy=False)

    # ------------------------------------------------------------------ bookkeeping
    def mark_written(self) -> None:
        self.written = True
        self.dirty = True
        if self.base is not None:
            self.base.mark_written()

    @property
    def on_chip(self) -> bool:
        return self.buffer in ON_CHIP

    def __repr__(self) -> str:
        return f"<{self.buffer} tensor {self.name} {list(self.shape)} {self.dtname}>"


def _f32_view(arr: np.ndarray, owner: Allocation) -> np.ndarray:
    """The float32 version of ``arr``, a view into its owner's cached fp32 values when possible."""
    if arr.dtype == np.float32:
        return arr
    base = owner._lazy if owner._lazy is not None else owner._data
    if isinstance(base, np.ndarray) and base.dtype == arr.dtype and base.size >= 4 * arr.size \
            and base.flags.c_contiguous:
        item = arr.dtype.itemsize
        off = arr.ctypes.data - base.ctypes.data
        if 0 <= off < base.nbytes and off % item == 0 and 4 % item == 0 and all(s % item == 0 for s in arr.strides):
            # The same elements of the fp32 copy, which has the same C layout scaled to 4-byte items.
            scale = 4 // item
            view = np.ndarray(arr.shape, np.float32, owner.f32_values(), off * scale,
                              tuple(s * scale for s in arr.strides))
            view.flags.writeable = False
            return view
    return arr.astype(np.float32)


def _merge_adjacent(arrays: list[np.ndarray]) -> np.ndarray | None:
    """One strided view covering operands that sit back to back along rows of the same memory."""
    first = arrays[0]
    shape, strides = first.shape, first.strides
    if len(shape) != 2:
        return None
    address, step = first.ctypes.data, shape[0] * strides[0]
    for a in arrays:
        if a.shape != shape or a.strides != strides or a.ctypes.data != address:
            return None
        address += step
    return np.lib.stride_tricks.as_strided(first, (shape[0] * len(arrays), shape[1]), strides, writeable=False)


def _stack_operands(items: list[tuple[np.ndarray, Allocation]]) -> np.ndarray:
    """Concatenate [K_i, X] operands along K; a single strided view when they are adjacent rows."""
    owner = items[0][1]
    if len(items) > 1 and all(o is owner for _, o in items):
        merged = _merge_adjacent([a for a, _ in items])
        if merged is not None:
            return _f32_view(merged, owner)
    arrays = [_f32_view(a, o) for a, o in items]
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=0)
