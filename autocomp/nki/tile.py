"""Tensors (allocations) and tiles (indexed regions of them).

An ``Allocation`` is one tensor in HBM, SBUF or PSUM: logical shape, dtype,
partition axis and (when computing values) a numpy array. A ``Tile`` is what
kernel code holds: an allocation plus an index. Tiles know how to read and
write their values and how to describe their region for the trace.

Basic indices (ints, slices, ``nl.ds``) and affine arange indices that map one
grid axis to one tensor dimension become strided numpy views; other arange
indices become explicit index arrays.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.indexing import Arange, IndexExpr, Mask
from autocomp.nki.storage import ON_CHIP, Allocation, sentinel_fill  # noqa: F401 - re-exported
from autocomp.nki.trace import HBM, Access


class Tile:
    """A region of an allocation. ``spec`` is per-dim int | (start, step, count) for basic
    indices; ``arrays`` is per-dim index arrays for general arange indices."""

    __slots__ = ("alloc", "spec", "arrays", "perm", "shape", "_access", "oob", "index_access")

    def __init__(self, alloc: Allocation, spec, arrays=None, perm=None, shape=None):
        self.alloc = alloc
        self.spec = spec
        self.arrays = arrays
        self.perm = perm
        if shape is None:
            shape = alloc.shape if spec is None else tuple(s[2] for s in spec if not isinstance(s, int))
        self.shape = shape
        self._access = None
        self.oob = False  # some arange indices fall outside the tensor: only valid under a mask excluding them
        self.index_access = None  # Access of the SBUF index tile for a gather/scatter DMA (indirect indexing)

    # Basic facts -------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return self.alloc.dtype

    @property
    def buffer(self) -> str:
        return self.alloc.buffer

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def is_full(self) -> bool:
        return self.spec is None and self.arrays is None

    @property
    def partition_first(self) -> bool:
        """True when result axis 0 is the allocation's partition dimension."""
        a = self.alloc
        if a.par_axis < 0:
            return True
        if self.spec is None and self.arrays is None:
            return a.par_axis == 0
        if self.arrays is not None:
            return True
        if self.spec[a.par_axis].__class__ is int and self.shape[0] == 1:
            return True  # one partition picked by an integer, kept as a unit partition dimension
        kept = [d for d, s in enumerate(self.spec) if not isinstance(s, int)]
        if self.perm is not None:
            kept = [kept[i] for i in self.perm]
        return bool(kept) and kept[0] == a.par_axis

    # Values ------------------------------------------------------------
    def _np_index(self):
        if (not self.shape or self.shape == (1, 1)) and all(s.__class__ is int for s in self.spec):
            return tuple([slice(s, s + 1) for s in self.spec])  # one element: numpy would give a scalar copy
        return tuple([s if isinstance(s, int) else slice(s[0], s[0] + s[1] * (s[2] - 1) + 1, s[1])
                      for s in self.spec])

    def view(self, dtype) -> Tile:
        """``t.view(dtype)``, the legacy tensor API's reinterpretation of the same bytes as another dtype."""
        return self._reinterpret(dtype)

    def host_values(self, data: np.ndarray | None = None) -> np.ndarray:
        """The tile's values as a numpy array (a view when the index is basic), of ``data`` when given (an array
        shaped like the allocation: its storage, or a per-element flag array). Simulator-internal: the static
        gate refuses it in kernels."""
        if data is None:
            data = self.alloc.data
            if data is None:
                raise_error("err_invalid_argument", "values are not available when tracing shapes only")
        if self.spec is None and self.arrays is None:
            return data
        if self.arrays is not None:
            return data[self.arrays]
        v = data[self._np_index()]
        if self.perm is not None:
            v = v.transpose(self.perm)
        if v.shape != self.shape:
            v = v.reshape(self.shape)
        return v

    def in_bounds(self) -> np.ndarray:
        """Which elements of an arange- or tile-indexed region fall inside the tensor (broadcastable to shape)."""
        valid = np.ones((1,) * len(self.shape), dtype=bool)
        for d, arr in enumerate(self.arrays):
            valid = valid & (arr >= 0) & (arr < self.alloc.shape[d])
        return valid

    def _check_oob(self, mask: Mask | None) -> None:
        valid = self.in_bounds()
        bad = ~valid if mask is None else (mask.over(self.shape) & ~valid)
        if bad.any():
            where = tuple(int(i[0]) for i in np.nonzero(np.broadcast_to(bad, self.shape)))
            idx = tuple(int(np.broadcast_to(a, self.shape)[where]) for a in self.arrays)
            if self.index_access is not None:  # a value of the index tile: known only when the DMA runs
                d = next(d for d, i in enumerate(idx) if not 0 <= i < self.alloc.shape[d])
                raise_error("err_runtime_out_of_bounds",
                            f"indirect index value {idx[d]} is out of bounds for dimension {d} of size "
                            f"{self.alloc.shape[d]} of tensor {self.alloc.name}")
            raise_error("err_tensor_access_out_of_bound",
                        f"index {list(idx)} (at tile position {list(where)}) is out of bounds for tensor "
                        f"{self.alloc.name} {list(self.alloc.shape)}; add a mask= that excludes it, e.g. "
                        "mask=(i_p + k * 128 < n)")

    def read(self, mask: Mask | None = None) -> np.ndarray:
        if self.arrays is not None and (mask is not None or self.oob):
            if self.oob:
                self._check_oob(mask)
            m = mask.over(self.shape) if mask is not None else True
            safe = tuple(np.where(m, a, 0) for a in (np.broadcast_to(a, self.shape) for a in self.arrays))
            return self.alloc.data[safe]
        return self.host_values(None)

    def owner_view(self) -> tuple[np.ndarray, Allocation]:
        """(values view, allocation that owns the memory it points into), for deferred readers."""
        a = self.alloc
        data = a.data
        owner = a._lazy_src if a._lazy is not None else a
        return self.host_values(data), owner

    def write(self, values, mask: Mask | None = None) -> None:
        """Store values (cast to the tile's dtype), only where ``mask`` holds."""
        a = self.alloc
        a.written = a.dirty = True
        if not a.has_values:
            return
        values = np.asarray(values)
        if values.dtype != a.dtype or (a.dtype.metadata and a.dtype.metadata.get("nki") == "tfloat32"):
            values = dt.cast_to(values, a.dtype)
        if mask is None:
            if self.oob:
                self._check_oob(None)
            if self.spec is None and self.arrays is None:
                # A whole-tensor write replaces the storage instead of filling it first.
                full = values if values.shape == a.shape else np.broadcast_to(values, a.shape)
                a.set_values(np.array(full, dtype=a.dtype, copy=True))
            elif self.arrays is not None:
                a.writable()[self.arrays] = values
                if a.unset is not None:
                    a.unset[self.arrays] = False
            else:
                self.host_values(a.writable())[...] = values
                if a.unset is not None:
                    self.host_values(a.unset)[...] = False
            return
        if self.oob:
            self._check_oob(mask)
        m = mask.over(self.shape)
        vals = np.broadcast_to(values, self.shape)
        if self.arrays is not None:
            idx = tuple(np.broadcast_to(arr, self.shape)[m] for arr in self.arrays)
            a.writable()[idx] = vals[m]
            if a.unset is not None:
                a.unset[idx] = False
        else:
            target = self.host_values(a.writable())
            target[m] = vals[m]
            if a.unset is not None:
                self.host_values(a.unset)[m] = False

    # Trace description -------------------------------------------------
    def access(self, mask: Mask | None = None) -> Access:
        if mask is None:
            acc = self._access
            if acc is not None:
                return acc
            if self.arrays is None and self.perm is None and not self.oob:  # the hot path, without _describe
                acc = self._access = _describe_basic(self)
                return acc
        if self.oob:
            self._check_oob(mask)
        acc = _describe(self, mask)
        if mask is None:
            self._access = acc
        return acc

    # Indexing ----------------------------------------------------------
    def __getitem__(self, key) -> Tile:
        a = self.alloc
        a.producer = None
        if self.spec is None and self.arrays is None:
            if key.__class__ is tuple:
                tile = _plain_slices(a, key)
                if tile is None:
                    tile = _block_index(a, key)
                if tile is not None:
                    return tile
            elif key is Ellipsis:  # t[...]: the whole tensor, as index_allocation gives it
                return Tile(a, _full_spec(a.shape), shape=a.shape)
            return index_allocation(a, key)
        if self.arrays is not None:
            if key is Ellipsis or key == slice(None) or (isinstance(key, tuple) and all(
                    k is Ellipsis or k == slice(None) for k in key)):
                return self
            raise_error("err_unsupported_operation",
                        "a tile taken with arange indices cannot be indexed again; index the tensor once")
        return _compose(self, key)

    def __len__(self) -> int:
        return self.shape[0]

    def __bool__(self):
        if self.alloc.buffer == HBM:
            # An HBM tensor is a handle: `x = nl.load(t) if t else None` asks whether an optional tensor was
            # passed (AWS's example tests do it), never about device values. True, as for any Python object.
            return True
        if all(n == 1 for n in self.shape):
            raise_error("err_dynamic_control_flow_not_supported",
                        "control flow cannot depend on a tile's value, which is only known on the device; "
                        "compute both branches and select with nl.where, or use a mask")
        raise_error("err_ambiguous_tensor_truth_value",
                    "the truth value of a tile is ambiguous: tile values live on the device; "
                    "use nl.where / masks, or compare with nl.equal and select")

    def __iter__(self):
        raise_error("err_unsupported_operation", "tiles cannot be iterated in Python; index them with nl.arange")

    def __repr__(self) -> str:
        return f"<tile of {self.alloc.name} {list(self.shape)} {dt.dtype_name(self.dtype)} in {self.buffer}>"

    def reshape(self, shape) -> Tile:
        """A whole HBM tensor seen with another shape (same row-major memory), e.g. ``gamma.reshape((1, D))``."""
        from autocomp.nki.runtime import current
        from autocomp.nki.storage import Allocation as _Alloc

        shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
        a = self.alloc
        n = 1
        for s in a.shape:
            n *= s
        if -1 in shape:
            known = 1
            for s in shape:
                known *= s if s != -1 else 1
            shape = tuple(n // known if s == -1 else s for s in shape)
        m = 1
        for s in shape:
            m *= s
        if m != n:
            raise_error("err_reshape_element_count",
                        f"cannot reshape {a.name} of shape {list(a.shape)} ({n} elements) to {list(shape)} ({m})")
        if a.on_chip or not self.is_full:
            raise_error("err_unsupported_operation",
                        "reshape applies to whole HBM tensors in the legacy dialect; reshape on-chip data by "
                        "indexing it (or with access patterns in the current dialect)")
        ctx = current()
        data = a.writable().reshape(shape) if a.has_values else None
        alias = _Alloc(ctx, a.name, a.buffer, shape, a.dtype, -1, kind=a.kind, data=data)
        alias.mutable, alias.written, alias.base = a.mutable, a.written, a
        if data is None:
            alias.data = None
        return Tile(alias, None)

    def broadcast_to(self, shape):
        return _BINDINGS["broadcast_to"](self, shape)

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    def assert_shape(self, shape) -> Tile:
        """This tile, after checking it has ``shape``."""
        want = tuple(int(s) for s in shape)
        if tuple(self.shape) != want:
            raise_error("err_annotation_shape_mismatch", f"tensor {self.alloc.name} has shape {list(self.shape)}, "
                                                         f"not the asserted {list(want)}")
        return self

    def astype(self, dtype) -> Tile:
        """A copy cast to ``dtype`` (an on-chip copy instruction, as nl.copy(t, dtype=dtype))."""
        return _BINDINGS["astype"](self, dtype)

    def expand_dims(self, axis) -> Tile:
        """A view with a new size-1 dimension (nl.expand_dims)."""
        return _BINDINGS["expand_dims"](self, axis)

    def _reinterpret(self, dtype) -> Tile:
        """``t.view(dtype)``: the same bytes seen as another dtype, the last dimension scaled by the size ratio.
        Whole HBM tensors (kernel arguments, nl.shared_hbm tensors), like ``reshape``."""
        from autocomp.nki.runtime import current
        from autocomp.nki.storage import Allocation as _Alloc

        new = dt.as_dtype(dtype)
        a = self.alloc
        name = dt.dtype_name(new)
        if new == a.dtype and name == a.dtname:
            return self
        if a.on_chip or not self.is_full:
            raise_error("err_unsupported_operation",
                        f"view({name}) of {a.name}: the simulator reinterprets whole HBM tensors only; view the "
                        "HBM tensor before indexing or loading it")
        last = a.shape[-1] if a.shape else 1
        nbytes = last * a.dtype.itemsize
        if nbytes % new.itemsize:
            raise_error("err_invalid_argument",
                        f"view({name}) of {a.name} {list(a.shape)} {a.dtname}: its last dimension holds {nbytes} "
                        f"bytes, not a multiple of {name}'s {new.itemsize}")
        shape = tuple(a.shape[:-1]) + (nbytes // new.itemsize,)
        ctx = current()
        data = a.writable().view(new).reshape(shape) if a.has_values else None
        alias = _Alloc(ctx, a.name, a.buffer, shape, new, -1, kind=a.kind, data=data)
        alias.mutable, alias.written, alias.base = a.mutable, a.written, a
        if data is None:
            alias.data = None
        return Tile(alias, None)

    # numpy interop for harness code (outside kernels tiles are never exposed).
    def __array__(self, dtype=None, copy=None):
        v = self.host_values(None)
        return v.astype(dtype) if dtype is not None else v


# ---------------------------------------------------------------------------
# Index resolution


def _check_bound(alloc: Allocation, dim: int, lo: int, hi: int) -> None:
    n = alloc.shape[dim]
    if lo < 0 or hi > n:
        raise_error("err_tensor_access_out_of_bound",
                    f"index range [{lo}, {hi}) is out of bounds for dimension {dim} of size {n} of tensor "
                    f"{alloc.name} {list(alloc.shape)}; clamp the tile with a mask or a smaller slice")


def _plain_slices(alloc: Allocation, key: tuple) -> Tile | None:
    """``t[a:b, c:d]`` on a 2-D tensor: in-bounds unit-step slices, the index of nearly every load and store.
    None for anything else, which takes the general path (and its error messages)."""
    shape = alloc.shape
    if len(key) != 2 or len(shape) != 2:
        return None
    k0, k1 = key
    if k0.__class__ is not slice or k1.__class__ is not slice or k0.step is not None or k1.step is not None:
        return None
    s0, e0, s1, e1 = k0.start, k0.stop, k1.start, k1.stop
    if s0 is None:
        s0 = 0
    if s1 is None:
        s1 = 0
    if e0 is None:
        e0 = shape[0]
    if e1 is None:
        e1 = shape[1]
    if (s0.__class__ is not int or e0.__class__ is not int or s1.__class__ is not int or e1.__class__ is not int
            or not 0 <= s0 <= e0 <= shape[0] or not 0 <= s1 <= e1 <= shape[1]):
        return None
    tile = Tile(alloc, ((s0, 1, e0 - s0), (s1, 1, e1 - s1)), shape=(e0 - s0, e1 - s1))
    if alloc.par_axis < 0:
        # HBM: rows of the flat tensor. What _basic_geometry gives for this spec, without its cache key.
        row, col = alloc.strides
        tile._access = Access(alloc.id, alloc.buffer, alloc.dtname, alloc.dtype.itemsize, 0, e0 - s0,
                              s0 * row + s1 * col, ((col, e1 - s1),), row)
    return tile


_FULL_TAILS: dict = {}  # (shape, leading ints) -> the specs of the dimensions after them


def _block_index(alloc: Allocation, key: tuple) -> Tile | None:
    """``t[i, j]``: in-bounds non-negative ints on leading dimensions that leave at least two whole ones, the
    index of a block of a block tensor ``(n, m, par_dim(p), f)``. What _basic_tile(_basic_spec(...)) gives;
    None for anything else (the general path)."""
    shape = alloc.shape
    n = len(key)
    if len(shape) - n < 2:
        return None
    for d in range(n):
        i = key[d]
        if i.__class__ is not int or not 0 <= i < shape[d]:
            return None
    tail = _FULL_TAILS.get((shape, n))
    if tail is None:
        tail = _FULL_TAILS[(shape, n)] = tuple((0, 1, s) for s in shape[n:])
    return Tile(alloc, key + tail, shape=shape[n:])


def _basic_spec(alloc: Allocation, key: tuple) -> list:
    """Normalize ints / slices / Ellipsis into per-dim int | (start, step, count)."""
    shape = alloc.shape
    if len(key) == 1 and key[0] is Ellipsis:  # t[...], the most common index of on-chip tiles
        return _full_spec(shape)
    nd = len(shape)
    for pos, k in enumerate(key):
        if k is Ellipsis:
            key = key[:pos] + (slice(None),) * max(nd - (len(key) - 1), 0) + key[pos + 1:]
            break
    if len(key) > nd:
        raise_error("err_tensor_access_out_of_bound",
                    f"{len(key)} indices given for tensor {alloc.name} with {nd} dimensions")
    spec = []
    for d in range(nd):
        n = shape[d]
        k = key[d] if d < len(key) else _FULL
        if k.__class__ is slice:
            start, stop, step = k.start, k.stop, k.step
            start = 0 if start is None else int(start)
            stop = n if stop is None else int(stop)
            step = 1 if step is None else int(step)
            if step <= 0:
                raise_error("err_invalid_argument", f"slice step must be positive, got {step}")
            if start < 0:
                start += n
            if stop < 0:
                stop += n
            if start < 0 or stop > n:
                _check_bound(alloc, d, start, stop)
            spec.append((start, step, max(0, (stop - start + step - 1) // step)))
        elif isinstance(k, (int, np.integer)):
            i = int(k)
            if i < 0:
                i += n
            if i < 0 or i >= n:
                _check_bound(alloc, d, i, i + 1)
            spec.append(i)
        elif isinstance(k, Arange):
            k._unplaced()
        else:
            raise_error("err_invalid_argument",
                        f"unsupported index {k!r} for tensor {alloc.name}; use ints, slices, nl.ds or nl.arange")
    return spec


_FULL = slice(None)
_FULL_SPECS: dict = {}  # shape -> the spec of ``[...]``


def _full_spec(shape: tuple[int, ...]) -> tuple:
    full = _FULL_SPECS.get(shape)
    if full is None:
        full = _FULL_SPECS[shape] = tuple((0, 1, n) for n in shape)
    return full


def index_allocation(alloc: Allocation, key) -> Tile:
    if key.__class__ is not tuple:
        # nl.mgrid[...] is a tuple of expressions: ``t[nl.mgrid[0:128, 0:512]]`` indexes every dimension
        key = tuple(key) if isinstance(key, tuple) else (key,)
    for k in key:
        if isinstance(k, (IndexExpr, Arange)):
            break
        if isinstance(k, Tile):
            return _indirect(alloc, key)
    else:
        return _basic_tile(alloc, _basic_spec(alloc, key))
    if any(isinstance(k, Tile) for k in key):
        return _indirect(alloc, key)
    if any(isinstance(k, slice) or k is Ellipsis for k in key):
        raise_error("err_unsupported_mixing_basic_advanced_tensor_indexing",
                    "basic indexing (slices, nl.ds, ...) and advanced indexing (nl.arange, nl.mgrid) cannot be "
                    "mixed in one index; use aranges for every dimension, or slices for every dimension")
    for k in key:
        if isinstance(k, Arange):
            k._unplaced()
    if len(key) != len(alloc.shape):
        raise_error("err_tensor_access_out_of_bound",
                    f"arange indexing needs one index per dimension: tensor {alloc.name} has "
                    f"{len(alloc.shape)} dimensions, got {len(key)}")
    return _advanced(alloc, key)


def _basic_tile(alloc: Allocation, spec: list) -> Tile:
    """A basic-index tile. A result reduced to one dimension stays 2-D, as the v1 dialect treats it:
    ``t[0:n, j]`` is an [n, 1] tile and ``t[i, 0:m]`` a [1, m] tile (the integer keeps a unit dimension)."""
    return Tile(alloc, spec, shape=_kept_shape(alloc, spec))


def _kept_shape(alloc: Allocation, spec) -> tuple[int, ...]:
    """The shape of a basic index, at least 2-D when the tensor is: ``t[0:n, j]`` is [n, 1], ``t[i, 0:m]`` is
    [1, m] (an integer on the partition dimension keeps it as a unit dimension) and ``t[i, j]`` is [1, 1]."""
    shape = tuple([s_[2] for s_ in spec if s_.__class__ is not int])
    if len(spec) < 2 or len(shape) > 1:
        return shape
    if not shape:  # one element (``t[1, 2] = 7`` stores it)
        return (1, 1)
    par = alloc.par_axis if alloc.par_axis >= 0 else 0
    return (1, shape[0]) if spec[par].__class__ is int else (shape[0], 1)


def _indirect(alloc: Allocation, key: tuple) -> Tile:
    """``hbm[idx_tile[i_p, 0], i_f]``: rows chosen by values held in an SBUF tile (a gather/scatter DMA)."""
    from autocomp.nki import dtypes as dt
    from autocomp.nki.runtime import current

    if alloc.on_chip:
        raise_error("err_unsupported_memory",
                    f"indirect indexing with a tile of values works on HBM tensors in nl.load / nl.store; tensor "
                    f"{alloc.name} is in {alloc.buffer.upper()} (gather on chip with nisa.local_gather or "
                    "nisa.tensor_copy_dynamic_src)")
    if len(key) != len(alloc.shape):
        raise_error("err_tensor_access_out_of_bound",
                    f"indirect indexing needs one index per dimension: tensor {alloc.name} has {len(alloc.shape)} "
                    f"dimensions, got {len(key)}")
    if any(isinstance(k, slice) or k is Ellipsis for k in key):
        raise_error("err_unsupported_mixing_basic_advanced_tensor_indexing",
                    "indirect indexing combines an index tile with nl.arange expressions, not slices; write the "
                    "other dimensions as nl.arange(n)[None, :]")
    exprs = [k for k in key if isinstance(k, IndexExpr)]
    grid = exprs[0].ndim if exprs else 2
    numerics = current().numerics
    arrays, index_tile, oob = [], None, False
    for d, k in enumerate(key):
        if isinstance(k, Tile):
            if d == len(key) - 1:
                raise_error("err_indirect_indices_free_dim",
                            f"an index tile can select rows (the partition or block dimensions) of {alloc.name}, not "
                            "its last (free) dimension; gather along the free dimension on chip with "
                            "nisa.nc_n_gather / nisa.local_gather")
            if index_tile is not None:
                raise_error("err_invalid_argument", "only one dimension may be indexed by a tile of values")
            if k.alloc.buffer != "sbuf":
                raise_error("err_unsupported_memory",
                            f"index values must be in SBUF (load them with nl.load first); {k.alloc.name} is in "
                            f"{k.alloc.buffer.upper()}")
            if not dt.is_int(k.dtype):
                raise_error("err_unsupported_dtype",
                            f"index tile {k.alloc.name} holds {dt.dtype_name(k.dtype)}; indices must be an integer "
                            "type "
                            "(e.g. nl.int32 / nl.uint32)")
            n = 1
            for s_ in k.shape[1:]:
                n *= s_
            if n != 1:
                raise_error("err_invalid_argument",
                            f"an index tile must hold one index per partition ([P, 1]); got {list(k.shape)}")
            k.alloc.producer = None
            index_tile = k
            p = k.shape[0]
            if numerics:
                vals = np.asarray(k.read()).astype(np.int64).reshape((p,) + (1,) * (grid - 1))
                # Out-of-bounds values are an error when the DMA runs (Tile._check_oob), unless it skips them
                # (nisa.dma_copy(..., oob_mode=nisa.oob_mode.skip)) by masking them out.
                oob = oob or bool(vals.min() < 0 or vals.max() >= alloc.shape[d])
            else:
                vals = np.zeros((p,) + (1,) * (grid - 1), dtype=np.int64)
            arrays.append(vals)
        elif isinstance(k, IndexExpr):
            v = k.values
            if v.min() < 0 or v.max() >= alloc.shape[d]:
                _check_bound(alloc, d, int(v.min()), int(v.max()) + 1)
            arrays.append(v)
        elif isinstance(k, Arange):
            k._unplaced()
        else:
            i = int(k)
            _check_bound(alloc, d, i, i + 1)
            arrays.append(np.asarray(i))
    shape = np.broadcast_shapes(*[a.shape for a in arrays])
    t = Tile(alloc, None, arrays=tuple(arrays), shape=tuple(shape))
    t.index_access = index_tile.access()
    t.oob = oob
    return t


def _advanced(alloc: Allocation, key: tuple) -> Tile:
    exprs = [k for k in key if isinstance(k, IndexExpr)]
    grid = exprs[0].ndim
    if any(e.ndim != grid for e in exprs):
        raise_error("err_invalid_argument", "all arange index expressions of one index must have the same rank")
    shape = np.broadcast_shapes(*[e.shape for e in exprs])
    # Fast path: each dim uses at most one grid axis with a positive step, each axis at most once.
    used = {}
    simple = True
    for d, k in enumerate(key):
        if isinstance(k, IndexExpr):
            if not k.affine or len(k.terms) > 1:
                simple = False
                break
            for axis, c in k.terms.items():
                if c <= 0 or axis in used:
                    simple = False
                used[axis] = d
    if simple:
        for d, k in enumerate(key):
            if isinstance(k, IndexExpr):
                (axis, c), = k.terms.items() if k.terms else ((None, 0),)
                hi = k.const + (c * (k.sizes[axis] - 1) if axis is not None else 0)
                if k.const < 0 or hi >= alloc.shape[d]:
                    simple = False  # out of bounds somewhere: needs a mask, so use explicit index arrays
    if simple:
        spec = []
        for d, k in enumerate(key):
            if isinstance(k, IndexExpr):
                if k.terms:
                    (axis, c), = k.terms.items()
                    n = k.sizes[axis]
                    _check_bound(alloc, d, k.const, k.const + c * (n - 1) + 1)
                    spec.append((k.const, c, n))
                else:
                    _check_bound(alloc, d, k.const, k.const + 1)
                    spec.append(k.const)
            else:
                i = int(k)
                _check_bound(alloc, d, i, i + 1)
                spec.append(i)
        kept_dims = [d for d, s in enumerate(spec) if not isinstance(s, int)]
        order = sorted(used, key=lambda ax: ax)  # grid axes in result order
        dim_order = [used[ax] for ax in order]
        perm = tuple(kept_dims.index(d) for d in dim_order)
        if perm == tuple(range(len(perm))):
            perm = None
        return Tile(alloc, spec, perm=perm, shape=tuple(shape))
    arrays = []
    oob = False
    for d, k in enumerate(key):
        v = k.values if isinstance(k, IndexExpr) else np.asarray(int(k))
        if int(v.min()) < 0 or int(v.max()) >= alloc.shape[d]:
            oob = True
        arrays.append(v)
    t = Tile(alloc, None, arrays=tuple(arrays), shape=tuple(shape))
    t.oob = oob
    return t


def _compose(tile: Tile, key) -> Tile:
    """Index a basic tile again: map the new index onto the allocation's dims."""
    if tile.perm is not None:
        raise_error("err_unsupported_operation",
                    "a transposed arange view cannot be indexed again; index the tensor once")
    if not isinstance(key, tuple):
        key = (key,)
    if any(isinstance(k, (IndexExpr, Arange)) for k in key):
        if len(tile.shape) != len(key):
            raise_error("err_invalid_argument", "arange indexing of a tile needs one index per dimension")
        # Shift each expression by the tile's start and scale by its step, per kept dim.
        full_key = [s if isinstance(s, int) else None for s in tile.spec]
        for i, d in enumerate(_tile_dims(tile)):
            k = key[i]
            if d is None:  # a unit dimension holding an integer index: only position 0 exists
                if (k.values if isinstance(k, IndexExpr) else np.asarray(int(k))).any():
                    raise_error("err_tensor_access_out_of_bound",
                                "index out of bounds for a tile dimension of size 1")
                continue
            start, step, count = tile.spec[d]
            if isinstance(k, IndexExpr):
                if k.affine:
                    hi = k.const + sum(max(c, 0) * (k.sizes[a] - 1) for a, c in k.terms.items())
                    lo = k.const + sum(min(c, 0) * (k.sizes[a] - 1) for a, c in k.terms.items())
                    if lo < 0 or hi >= count:
                        raise_error("err_tensor_access_out_of_bound",
                                    f"index range [{lo}, {hi + 1}) is out of bounds for a tile dimension of "
                                    f"size {count}")
                full_key[d] = k * step + start
            else:
                full_key[d] = start + int(k) * step
        return index_allocation(tile.alloc, tuple(full_key))
    dims = _tile_dims(tile)
    proxy_shape = tuple(tile.spec[d][2] if d is not None else 1 for d in dims)
    inner = _basic_spec(_ShapeOnly(proxy_shape, tile.alloc.name), key)
    spec = list(tile.spec)
    for i, d in enumerate(dims):
        if d is None:
            continue  # a unit dimension (bounds checked above): its integer index stays
        start, step, _ = tile.spec[d]
        s = inner[i]
        if isinstance(s, int):
            spec[d] = start + s * step
        else:
            spec[d] = (start + s[0] * step, step * s[1], s[2])
    return Tile(tile.alloc, spec, shape=_kept_shape(tile.alloc, spec))


def _tile_dims(tile: Tile) -> list:
    """Per dimension of a basic tile, the allocation dimension it indexes, or None for a unit dimension that
    ``_kept_shape`` added for an integer index (``t[0:n, j]`` is [n, 1])."""
    kept = [d for d, s in enumerate(tile.spec) if s.__class__ is not int]
    extra = len(tile.shape) - len(kept)
    if extra <= 0:
        return kept
    if not kept:
        return [None] * extra
    par = tile.alloc.par_axis if tile.alloc.par_axis >= 0 else 0
    return [None] + kept if tile.spec[par].__class__ is int else kept + [None]


class _ShapeOnly:
    """Enough of an Allocation for bounds checks when composing indices."""

    __slots__ = ("shape", "name")

    def __init__(self, shape, name):
        self.shape = shape
        self.name = name


# ---------------------------------------------------------------------------
# Access patterns for the trace


def _mask_counts(mask: Mask, shape: tuple[int, ...]) -> list[int]:
    m = mask.over(shape)
    counts = []
    for axis in range(len(shape)):
        other = tuple(a for a in range(len(shape)) if a != axis)
        counts.append(int(np.count_nonzero(m.any(axis=other)) if other else np.count_nonzero(m)))
    return counts


def _describe(tile: Tile, mask: Mask | None) -> Access:
    a = tile.alloc
    name = a.dtname
    if tile.arrays is not None:
        return _describe_arrays(tile, mask, name)
    if mask is None and tile.perm is None:
        return _describe_basic(tile)
    spec = tile.spec if tile.spec is not None else [(0, 1, n) for n in a.shape]
    kept = [d for d, s in enumerate(spec) if not isinstance(s, int)]
    if tile.perm is not None:
        kept = [kept[i] for i in tile.perm]
    counts = [spec[d][2] for d in kept]
    if mask is not None:
        if len(counts) == len(tile.shape):
            counts = [min(c, s) for c, s in zip(counts, _mask_counts(mask, tile.shape))]
    offset = 0
    for d, s in enumerate(spec):
        start = s if isinstance(s, int) else s[0]
        offset += start * a.strides[d]
    if a.par_axis >= 0:
        ps = spec[a.par_axis]
        if isinstance(ps, int):
            p_start, p_count = ps, 1
        else:
            p_start = ps[0]
            p_count = counts[kept.index(a.par_axis)] if a.par_axis in kept else ps[2]
        pattern = tuple((spec[d][1] * a.strides[d], c) for d, c in zip(kept, counts) if d != a.par_axis)
        return Access(a.id, a.buffer, name, a.dtype.itemsize, p_start, p_count, offset, pattern)
    if not kept:
        return Access(a.id, a.buffer, name, a.dtype.itemsize, 0, 1, offset, ())
    d0 = kept[0]
    pattern = tuple((spec[d][1] * a.strides[d], c) for d, c in zip(kept[1:], counts[1:]))
    return Access(a.id, a.buffer, name, a.dtype.itemsize, 0, counts[0], offset, pattern,
                  partition_stride=spec[d0][1] * a.strides[d0])


_BASIC_CACHE: dict = {}


def _describe_basic(tile: Tile) -> Access:
    """The common case (basic index, no mask, no transposed view); it runs per instruction, so the region
    geometry is cached by (shape, partition axis, index)."""
    a = tile.alloc
    spec = tile.spec
    key = (a.shape, a.par_axis, spec if spec is None or spec.__class__ is tuple else tuple(spec))
    geo = _BASIC_CACHE.get(key)
    if geo is None:
        geo = _BASIC_CACHE[key] = _basic_geometry(a.shape, a.strides, a.par_axis, spec)
        if len(_BASIC_CACHE) > 100_000:
            _BASIC_CACHE.clear()
    p_start, p_count, offset, pattern, pstride = geo
    return Access(a.id, a.buffer, a.dtname, a.dtype.itemsize, p_start, p_count, offset, pattern, pstride)


def _basic_geometry(shape, strides, par, spec) -> tuple:
    if spec is None:
        spec = [(0, 1, n) for n in shape]
    offset, pattern, p_start, p_count, first = 0, [], 0, 1, None
    for d, s in enumerate(spec):
        if s.__class__ is int:
            offset += s * strides[d]
            if d == par:
                p_start = s
            continue
        start, step, count = s
        offset += start * strides[d]
        if d == par:
            p_start, p_count = start, count
        elif par < 0 and first is None:
            first = (step * strides[d], count)
        else:
            pattern.append((step * strides[d], count))
    if par >= 0 or first is None:
        return p_start, p_count, offset, tuple(pattern), 0
    return 0, first[1], offset, tuple(pattern), first[0]


def _describe_arrays(tile: Tile, mask: Mask | None, name: str) -> Access:
    a = tile.alloc
    shape = tile.shape
    addr = np.zeros((1,) * len(shape), dtype=np.int64)
    for d, arr in enumerate(tile.arrays):
        if d != a.par_axis:
            addr = addr + arr * a.strides[d]
    addr = np.broadcast_to(addr, shape)
    origin = (0,) * len(shape)
    counts = list(shape) if mask is None else _mask_counts(mask, shape)
    pvals = np.broadcast_to(tile.arrays[a.par_axis], shape) if a.par_axis >= 0 else None
    pattern = []
    p_axis = 0
    for axis, n in enumerate(shape):
        if n <= 1:
            continue
        step = [0] * len(shape)
        step[axis] = 1
        if pvals is not None and pvals[tuple(step)] != pvals[origin]:
            p_axis = axis
            continue
        if pvals is None and axis == 0:
            continue
        pattern.append((int(addr[tuple(step)] - addr[origin]), counts[axis]))
    if a.par_axis >= 0:
        p_start = int(pvals.min())
        return Access(a.id, a.buffer, name, a.dtype.itemsize, p_start, counts[p_axis], int(addr[origin]),
                      tuple(pattern))
    pstride = int(addr[(1,) + (0,) * (len(shape) - 1)] - addr[origin]) if shape and shape[0] > 1 else 0
    return Access(a.id, a.buffer, name, a.dtype.itemsize, 0, counts[0] if shape else 1, int(addr[origin]),
                  tuple(pattern), partition_stride=pstride)


# ---------------------------------------------------------------------------
# Python operators on tiles map onto the NKI calls autocomp.nki.functional.operators binds
# (a + b is nl.add(a, b); t[i] = v is an assignment into t's storage).

_BINDINGS: dict = {}


def bind_operator(name: str, fn) -> None:
    _BINDINGS[name] = fn


def _op(name: str, reverse: bool = False):
    def method(self, other):
        fn = _BINDINGS.get(name)
        if fn is None:
            return NotImplemented
        return fn(other, self) if reverse else fn(self, other)
    method.__name__ = f"__{'r' if reverse else ''}{name}__"
    return method


for _name, _np in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "divide"),
                   ("pow", "power"), ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"),
                   ("lshift", "left_shift"), ("rshift", "right_shift"), ("mod", "mod")):
    setattr(Tile, f"__{_name}__", _op(_np))
    setattr(Tile, f"__r{_name}__", _op(_np, reverse=True))
for _name, _np in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                   ("eq", "equal"), ("ne", "not_equal")):
    setattr(Tile, f"__{_name}__", _op(_np))
Tile.__hash__ = object.__hash__


def _inplace(name: str):
    def method(self, other):
        fn = _BINDINGS.get("inplace")
        return fn(self, other, name)
    return method


for _name, _np in (("iadd", "add"), ("isub", "subtract"), ("imul", "multiply"), ("itruediv", "divide"),
                   ("iand", "bitwise_and"), ("ior", "bitwise_or"), ("ixor", "bitwise_xor")):
    setattr(Tile, f"__{_name}__", _inplace(_np))


def _neg(self):
    return _BINDINGS["negative"](self)


def _setitem(self, key, value):
    _BINDINGS["assign"](self[key] if not (key is Ellipsis and self.is_full) else self, value)


Tile.__neg__ = _neg
Tile.__setitem__ = _setitem
