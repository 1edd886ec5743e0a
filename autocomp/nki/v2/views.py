"""``NkiTensor``: v2 tensors, each a view over one allocation's storage.

A view is an access pattern over the allocation's flat storage (NKI's own
model): element ``offset + sum(stride_k * i_k)``; on chip the first
``[stride, count]`` pair steps partitions, with stride = the storage's free
size. Views that are plain slices of the allocation are kept in the core's
basic-index form (``Tile.spec``), so they take the core's fast paths and trace
exactly like v1 tiles. Other views (reshape of a slice, permute, broadcast,
``view(dtype)``, ``.ap()``) read and write through ``as_strided`` over the
storage, and indirect views (``.ap(vector_offset=...)``) through an explicit
address array. Views cost nothing: no instruction is recorded.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.tile import Tile
from autocomp.nki.trace import Access
from autocomp.nki.v2.patterns import (
    FULL,
    as_spec,
    cstrides,
    dim_index,
    index_items,
    prod,
    reshape_pattern,
    scalar_value,
    shape_arg,
)


def _legacy_only(t) -> None:
    raise AttributeError("NkiTensor has no itemsize / astype / assert_shape (the legacy neuronxcc.nki.tensor API); "
                         "use t.dtype.itemsize, nisa.tensor_copy into a tensor of the new dtype, and "
                         "assert t.shape == ...")


class NkiTensor(Tile):
    """A v2 tensor. ``ap_pattern`` is None while the view is a basic slice (``spec``)."""

    __slots__ = ("vdtype", "ap_offset", "ap_pattern", "addr", "valid")

    def __init__(self, alloc, spec=None, shape=None):
        Tile.__init__(self, alloc, spec, shape=shape)
        self.vdtype = None  # reinterpreted dtype (view(dtype) / ap(dtype=)), None = the allocation's
        self.ap_offset = 0
        self.ap_pattern = None
        self.addr = None  # flat element addresses of an indirect view
        self.valid = None  # which of them are in bounds

    # ------------------------------------------------------------------ metadata
    @property
    def dtype(self) -> np.dtype:
        return self.vdtype if self.vdtype is not None else self.alloc.dtype

    # The legacy tensor's own methods (neuronxcc.nki.tensor) are not NkiTensor API: hasattr() is False here.
    itemsize = astype = assert_shape = property(lambda self: _legacy_only(self))

    @property
    def size(self) -> int:
        return prod(self.shape)

    @property
    def name(self) -> str:
        return self.alloc.name

    @property
    def address(self):
        return self.alloc.address

    @property
    def offset(self) -> int:
        return self._ap()[0]

    @property
    def strides(self) -> tuple[int, ...]:
        return tuple(s for s, _ in self._ap()[1])

    @property
    def pattern(self) -> list[list[int]]:
        return self.get_pattern()

    @property
    def partition_first(self) -> bool:
        return True if self.ap_pattern is not None else Tile.partition_first.fget(self)

    def get_pattern(self) -> list[list[int]]:
        """The view's layout as ``[[stride, count], ...]``, the form ``.ap()`` takes."""
        return [[s, n] for s, n in self._ap()[1]]

    def is_contiguous(self) -> bool:
        _, pat = self._ap()
        free = pat[1:] if self.alloc.on_chip else pat
        expected = 1
        for s, n in reversed(free):
            if n != 1 and s != expected:
                return False
            expected *= n
        return self.addr is None

    def is_indirect(self) -> bool:
        return self.addr is not None

    def _ap(self) -> tuple[int, list[tuple[int, int]]]:
        if self.ap_pattern is not None:
            return self.ap_offset, list(self.ap_pattern)
        a = self.alloc
        c = cstrides(a.shape)
        if self.spec is None:
            return 0, [(c[d], n) for d, n in enumerate(a.shape)]
        if self.arrays is not None:
            raise_error("err_unsupported_operation", "a tile indexed with nl.arange has no access pattern")
        off, pat = 0, []
        for d, s in enumerate(self.spec):
            if isinstance(s, int):
                off += s * c[d]
            else:
                off += s[0] * c[d]
                pat.append((s[1] * c[d], s[2]))
        if self.perm is not None:
            pat = [pat[i] for i in self.perm]
        return off, pat

    def addresses(self) -> np.ndarray:
        """Flat storage addresses (in the allocation's element units) of every element, in view order."""
        if self.addr is not None:
            a = self.addr
        else:
            off, pat = self._ap()
            a = np.full((1,) * len(pat), off, dtype=np.int64)
            for k, (s, n) in enumerate(pat):
                shape = [1] * len(pat)
                shape[k] = n
                a = a + s * np.arange(n, dtype=np.int64).reshape(shape)
            a = np.broadcast_to(a, self.shape)
        ratio = self.dtype.itemsize / self.alloc.dtype.itemsize
        return a if ratio == 1 else (a * ratio).astype(np.int64)

    # ------------------------------------------------------------------ values
    def view(self, dtype):
        """``t.view(dtype)``: the same bits as another dtype (see ``reinterpret``)."""
        return self.reinterpret(dtype)

    def host_values(self, data=None) -> np.ndarray:
        """The values as numpy, of ``data`` (storage or flags) when given; simulator-internal (see ``Tile``)."""
        if self.ap_pattern is None:
            return Tile.host_values(self, data)
        return self._values(data)

    def read(self, mask=None) -> np.ndarray:
        if self.ap_pattern is None:
            return Tile.read(self, mask)
        if self.valid is not None and mask is None and not self.valid.all():
            raise_error("err_runtime_out_of_bounds",
                        f"indirect access of tensor {self.alloc.name} {list(self.alloc.shape)} reads out of bounds; "
                        "fix the offsets, or use oob_mode=nisa.oob_mode.skip on the DMA")
        return self._values(None)

    def owner_view(self):
        if self.ap_pattern is None:
            return Tile.owner_view(self)
        a = self.alloc
        return self._values(None), (a._lazy_src if a._lazy is not None else a)

    def _flat(self, d: np.ndarray) -> np.ndarray:
        if not d.flags.c_contiguous:
            d = np.ascontiguousarray(d)
        flat = d.reshape(-1)
        if self.vdtype is not None and self.vdtype != flat.dtype:
            flat = flat.view(self.vdtype)
        return flat

    def _values(self, data) -> np.ndarray:
        d = self.alloc.data if data is None else data
        if d is None:
            raise_error("err_invalid_argument", "values are not available when tracing shapes only")
        flat = self._flat(d)
        if self.addr is not None:
            return flat[self.addr if self.valid is None else np.where(self.valid, self.addr, 0)]
        return as_strided(flat[self.ap_offset:], self.shape, tuple(s * flat.itemsize for s, _ in self.ap_pattern))

    def write(self, values, mask=None) -> None:
        if self.ap_pattern is None:
            Tile.write(self, values, mask)
            return
        a = self.alloc
        a.written = a.dirty = True
        if not a.has_values:
            return
        w = a.writable()
        if not w.flags.c_contiguous:
            w = np.ascontiguousarray(w)
            a.set_values(w)
        flat = self._flat(w)
        values = np.asarray(values)
        dtype = self.dtype
        if values.dtype != dtype or (dtype.metadata and dtype.metadata.get("nki") == "tfloat32"):
            values = dt.cast_to(values, dtype)
        if values.shape != self.shape and values.size == self.size:
            values = values.reshape(self.shape)
        vals = np.broadcast_to(values, self.shape)
        m = None if mask is None else np.broadcast_to(mask.values, self.shape)
        if self.addr is not None:
            if self.valid is not None:
                m = self.valid if m is None else (m & self.valid)
            if m is None:
                flat[self.addr] = vals
            else:
                flat[self.addr[m]] = vals[m]
            return
        target = as_strided(flat[self.ap_offset:], self.shape, tuple(s * flat.itemsize for s, _ in self.ap_pattern))
        if m is None:
            target[...] = vals
        else:
            target[m] = vals[m]

    # ------------------------------------------------------------------ trace
    def access(self, mask=None) -> Access:
        if self.ap_pattern is None:
            return Tile.access(self, mask)
        if self._access is None:
            self._access = self._describe()
        return self._access

    def _describe(self) -> Access:
        a = self.alloc
        dtype = self.dtype
        item = dtype.itemsize
        pat = self.ap_pattern
        if self.addr is not None and len(pat) != len(self.shape):
            pat = list(zip(cstrides(self.shape), self.shape, strict=True))
        rest = tuple(pat[1:])
        parts = pat[0][1] if pat else 1
        indirect = self.addr is not None
        if a.on_chip:
            free = a.numel_pp * a.dtype.itemsize // item
            p_start, off = divmod(self.ap_offset, free) if free else (0, self.ap_offset)
            return Access(a.id, a.buffer, dt.dtype_name(dtype), item, p_start, parts, off, rest, indirect=indirect)
        return Access(a.id, a.buffer, dt.dtype_name(dtype), item, 0, parts, self.ap_offset, rest,
                      partition_stride=pat[0][0] if pat else 0, indirect=indirect)

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key) -> NkiTensor:
        self.alloc.producer = None
        items = index_items(key, self.shape, self.alloc.name)
        on_chip = self.alloc.on_chip
        if self.addr is not None:
            return self._index_gathered(items, on_chip)
        off, pat = self._ap()
        new, dropped = [], []
        for d, ((s, _n), it) in enumerate(zip(pat, items, strict=True)):
            if isinstance(it, tuple):
                start, step, count = it
                off += start * s
                new.append((s * step, count))
            else:
                off += it * s
                if on_chip and d == 0:
                    new.append((s, 1))  # SBUF/PSUM views keep the partition dim
                else:
                    dropped.append((len(new), (s, 1)))
        if on_chip and len(new) < 2 and dropped:
            pos, pair = dropped[-1]  # on-chip views stay at least 2-D: keep the last dropped dim at size 1
            new.insert(pos, pair)
        return make_view(self.alloc, off, new, self.vdtype)

    def _index_gathered(self, items, on_chip: bool) -> NkiTensor:
        key, kept = [], 0
        last_int = None
        for d, it in enumerate(items):
            if isinstance(it, tuple):
                start, step, count = it
                key.append(slice(start, start + step * count, step) if count else slice(0, 0))
                kept += 1
            elif on_chip and d == 0:
                key.append(slice(it, it + 1))
                kept += 1
            else:
                key.append(it)
                last_int = d
        if on_chip and kept < 2 and last_int is not None:
            key[last_int] = slice(key[last_int], key[last_int] + 1)
        return self._with_addr(self.addr[tuple(key)], None if self.valid is None else self.valid[tuple(key)])

    def _with_addr(self, addr: np.ndarray, valid) -> NkiTensor:
        t = NkiTensor(self.alloc, ("indirect", id(addr)), shape=tuple(addr.shape))
        t.vdtype, t.addr, t.valid = self.vdtype, addr, valid
        t.ap_offset = int(addr.flat[0]) if addr.size else 0
        t.ap_pattern = tuple(zip(cstrides(addr.shape), addr.shape, strict=True))
        return t

    # ------------------------------------------------------------------ view primitives
    def reshape(self, shape) -> NkiTensor:
        """Same storage, new shape (a tuple; -1 infers one size); the element count must not change (SBUF/PSUM
        keep the partition dim)."""
        shape = shape_arg((shape,))
        if -1 in shape:
            known = prod(s for s in shape if s != -1)
            shape = tuple(self.size // known if s == -1 and known else s for s in shape)
        if prod(shape) != self.size:
            raise_error("err_reshape_element_count",
                        f"cannot reshape a view of shape {list(self.shape)} ({self.size} elements) to {list(shape)} "
                        f"({prod(shape)} elements); reshape must keep the element count")
        if self.alloc.on_chip and shape[0] != self.shape[0]:
            raise_error("err_invalid_argument",
                        f"reshape of an SBUF/PSUM view must keep the partition dimension {self.shape[0]}, got "
                        f"{list(shape)}")
        if self.addr is not None:
            return self._with_addr(self.addr.reshape(shape), None if self.valid is None else self.valid.reshape(shape))
        off, pat = self._ap()
        new = reshape_pattern(pat, shape)
        if new is None:
            raise_error("err_invalid_argument",
                        f"reshape of a non-contiguous view {list(self.shape)} (pattern {self.get_pattern()}) to "
                        f"{list(shape)} cannot share storage; copy it to a contiguous tensor first (nisa.tensor_copy)")
        return make_view(self.alloc, off, new, self.vdtype)

    def reshape_dim(self, dim: int, shape) -> NkiTensor:
        """Split one dimension into ``shape``."""
        dim = dim_index(dim, self.ndim)
        return self.reshape(self.shape[:dim] + tuple(shape) + self.shape[dim + 1:])

    def flatten_dims(self, start_dim: int, end_dim: int) -> NkiTensor:
        """Merge dimensions ``start_dim..end_dim`` (inclusive) into one."""
        a, b = dim_index(start_dim, self.ndim), dim_index(end_dim, self.ndim)
        return self.reshape(self.shape[:a] + (prod(self.shape[a:b + 1]),) + self.shape[b + 1:])

    def permute(self, dims) -> NkiTensor:
        """Reorder dimensions (``dims``: a tuple); SBUF/PSUM views keep the partition dim first."""
        dims = tuple(dim_index(d, self.ndim) for d in shape_arg((dims,)))
        if sorted(dims) != list(range(self.ndim)):
            raise_error("err_invalid_argument", f"permute({list(dims)}) is not a permutation of {self.ndim} dims")
        if self.alloc.on_chip and dims[0] != 0:
            raise_error("err_invalid_argument",
                        "permute of an SBUF/PSUM view must keep the partition dimension first (dims[0] == 0); "
                        "move data across partitions with nisa.nc_transpose or nisa.dma_transpose")
        if self.addr is not None:
            valid = None if self.valid is None else self.valid.transpose(dims)
            return self._with_addr(self.addr.transpose(dims), valid)
        off, pat = self._ap()
        return make_view(self.alloc, off, [pat[d] for d in dims], self.vdtype)

    def broadcast(self, dim: int, size: int) -> NkiTensor:
        """Repeat a size-1 dimension ``size`` times (stride 0, no copy)."""
        dim = dim_index(dim, self.ndim)
        if self.shape[dim] != 1:
            raise_error("err_invalid_argument",
                        f"broadcast(dim={dim}) needs a size-1 dimension; dimension {dim} of {list(self.shape)} has "
                        f"size {self.shape[dim]}")
        shape = list(self.shape)
        shape[dim] = int(size)
        return self.broadcast_to(tuple(shape))

    def broadcast_to(self, *shape) -> NkiTensor:
        shape = shape_arg(shape)
        if len(shape) != self.ndim:
            raise_error("err_invalid_argument",
                        f"broadcast_to{list(shape)} must keep the rank {self.ndim} of {list(self.shape)}; use "
                        "expand_dim first")
        for d, (have, want) in enumerate(zip(self.shape, shape, strict=True)):
            if have != want and have != 1:
                raise_error("err_num_partition_mismatch" if d == 0 else "err_invalid_argument",
                            f"cannot broadcast {list(self.shape)} to {list(shape)}: dimension {d} has size {have}")
        if self.addr is not None:
            return self._with_addr(np.broadcast_to(self.addr, shape),
                                   None if self.valid is None else np.broadcast_to(self.valid, shape))
        off, pat = self._ap()
        new = [(s if n == w else 0, w) for (s, n), w in zip(pat, shape, strict=True)]
        return make_view(self.alloc, off, new, self.vdtype)

    def expand_dim(self, dim: int) -> NkiTensor:
        """Insert a size-1 dimension at ``dim``."""
        dim = int(dim) + (self.ndim + 1 if int(dim) < 0 else 0)
        if not 0 <= dim <= self.ndim or (self.alloc.on_chip and dim == 0):
            raise_error("err_invalid_argument", f"expand_dim({dim}) is out of range for {list(self.shape)} (SBUF/PSUM "
                                                "views keep the partition dim first)")
        if self.addr is not None:
            return self._with_addr(np.expand_dims(self.addr, dim),
                                   None if self.valid is None else np.expand_dims(self.valid, dim))
        off, pat = self._ap()
        pat.insert(dim, (0, 1))
        return make_view(self.alloc, off, pat, self.vdtype)

    expand_dims = expand_dim

    def squeeze_dim(self, dim: int) -> NkiTensor:
        """Remove a size-1 dimension."""
        dim = dim_index(dim, self.ndim)
        if self.shape[dim] != 1 or (self.alloc.on_chip and (dim == 0 or self.ndim <= 2)):
            raise_error("err_invalid_argument",
                        f"squeeze_dim({dim}) needs a size-1 free dimension of {list(self.shape)} (SBUF/PSUM views "
                        "keep the partition dim and stay at least 2-D)")
        if self.addr is not None:
            valid = None if self.valid is None else np.squeeze(self.valid, dim)
            return self._with_addr(np.squeeze(self.addr, dim), valid)
        off, pat = self._ap()
        pat.pop(dim)
        return make_view(self.alloc, off, pat, self.vdtype)

    def select(self, dim: int, index) -> NkiTensor:
        """Pick one index along ``dim`` and drop it; the index may be a VirtualRegister or a 1x1 tensor."""
        dim = dim_index(dim, self.ndim)
        key = [slice(None)] * self.ndim
        key[dim] = scalar_value(index)
        return self[tuple(key)]

    def slice(self, dim: int, start: int, end: int, step: int = 1) -> NkiTensor:
        """``t[..., start:end:step, ...]`` along ``dim``."""
        dim = dim_index(dim, self.ndim)
        key = [slice(None)] * self.ndim
        key[dim] = slice(start, end, step)
        return self[tuple(key)]

    def rearrange(self, src_pattern, dst_pattern, fixed_sizes=None) -> NkiTensor:
        """einops-style ``t.rearrange(('b', ('h', 'w')), ('b', 'w', 'h'), {'h': 4})``: split the grouped source
        dimensions, reorder, and merge the grouped destination ones; a view (no instruction)."""
        names, sizes = [], {}
        fixed = dict(fixed_sizes or {})
        src = tuple(src_pattern)
        if len(src) != self.ndim:
            raise_error("err_invalid_argument", f"rearrange: the source pattern {src!r} names {len(src)} dimensions, "
                                                f"the view has {self.ndim} ({list(self.shape)})")
        for size, group in zip(self.shape, src, strict=True):
            group = (group,) if isinstance(group, str) else tuple(group)
            unknown = [g for g in group if g not in fixed]
            known = prod(int(fixed[g]) for g in group if g in fixed)
            if len(unknown) > 1 or (not unknown and known != size) or (unknown and size % max(known, 1)):
                raise_error("err_invalid_argument",
                            f"rearrange: dimension {group!r} of size {size} cannot be split with sizes {fixed}; give "
                            "every name of a group but one in fixed_sizes")
            for g in group:
                sizes[g] = int(fixed[g]) if g in fixed else size // max(known, 1)
                names.append(g)
        dst = [(g,) if isinstance(g, str) else tuple(g) for g in dst_pattern]
        order = [n for group in dst for n in group]
        if sorted(order) != sorted(names) or len(set(names)) != len(names):
            raise_error("err_invalid_argument", f"rearrange: {tuple(dst_pattern)!r} must use each name of "
                                                f"{src!r} exactly once")
        split = self.reshape(tuple(sizes[n] for n in names))
        moved = split.permute(tuple(names.index(n) for n in order)) if order != names else split
        return moved.reshape(tuple(prod(sizes[n] for n in group) for group in dst))

    def vector_select(self, dim: int, vector_offset) -> NkiTensor:
        """Row ``i`` of the result is row ``vector_offset[i]`` of this HBM view along dim 0 (a per-partition
        gather; the result has ``vector_offset.shape[0]`` rows)."""
        if int(dim) != 0:
            raise_error("err_invalid_argument", f"vector_select(dim={dim}): only dimension 0 can be selected per "
                                                "partition")
        if self.alloc.on_chip:
            raise_error("err_unsupported_memory", "vector_select works on HBM tensors; this one is in "
                                                  f"{self.buffer.upper()}")
        if self.addr is not None:
            raise_error("err_invalid_argument", "vector_select: the view is already indirect (is_indirect()); one "
                                                "dynamic select per tensor")
        if not isinstance(vector_offset, Tile) or vector_offset.shape[0] < 1:
            raise_error("err_invalid_argument", "vector_select: vector_offset must be an SBUF tensor of shape (P, 1)")
        off, pat = self._ap()
        return self.ap([[pat[0][0], int(vector_offset.shape[0])]] + [list(p) for p in pat[1:]], offset=off,
                       vector_offset=vector_offset, indirect_dim=0)

    def indirect(self, index, num_elem=None) -> NkiTensor:
        """Tensor indirection (NeuronCore-v4+): a [P, num_elem] view whose column ``i`` is column ``off_i`` of
        this [P, F] view, ``off_i = index[i % 16, i // 16]`` (the Vector/Scalar/GpSimd engines' 16-partition
        groups). Read as a gather, written as a scatter."""
        from autocomp.nki.ops.common import require_nc

        require_nc(4, "NkiTensor.indirect")
        if not isinstance(index, Tile) or not index.alloc.on_chip:
            raise_error("err_invalid_argument", "indirect(index): index must be an SBUF tensor of free offsets")
        p = self.shape[0]
        flat = self.reshape((p, prod(self.shape[1:]))) if self.ndim != 2 else self
        n = prod(index.shape) if num_elem is None else int(num_elem)
        group = 16
        if index.alloc.data is None:
            offs = np.zeros(n, dtype=np.int64)
        else:
            values = np.asarray(index.read()).astype(np.int64).reshape(index.shape[0], -1)
            if n > group * values.shape[1] or values.shape[0] < min(group, n):
                raise_error("err_invalid_argument", f"indirect: {n} offsets need an index of at least "
                                                    f"[{min(group, n)}, {-(-n // group)}], got {list(index.shape)}")
            offs = values[np.arange(n) % group, np.arange(n) // group]
        off, pat = flat._ap()
        addr = off + pat[0][0] * np.arange(p, dtype=np.int64)[:, None] + pat[1][0] * offs[None, :]
        total = prod(self.alloc.shape)
        valid = (offs >= 0) & (offs < flat.shape[1])
        t = self._with_addr(np.ascontiguousarray(addr), None if valid.all() else np.broadcast_to(valid, addr.shape))
        if total and (addr.min(initial=0) < 0 or addr.max(initial=0) >= total) and valid.all():
            raise_error("err_runtime_out_of_bounds", "indirect: an offset addresses outside the tensor")
        return t

    def reinterpret(self, dtype) -> NkiTensor:
        """``t.view(dtype)``: the same bits as another dtype; the last dimension rescales by the size ratio."""
        vd = dt.as_dtype(dtype)
        cur = self.dtype
        if vd == cur and dt.dtype_name(vd) == dt.dtype_name(cur):
            return self
        if self.addr is not None:
            raise_error("err_unsupported_operation", "view(dtype) of an indirect view is not supported")
        off, pat = self._ap()
        a_size, b_size = cur.itemsize, vd.itemsize
        if not pat or (pat[-1][0] != 1 and pat[-1][1] > 1):
            raise_error("err_invalid_argument",
                        f"view({dt.dtype_name(vd)}) needs a contiguous last dimension; pattern {self.get_pattern()}")
        last = pat[-1][1]
        if a_size % b_size == 0:
            r = a_size // b_size
            off, pat = off * r, [(s * r, n) for s, n in pat[:-1]] + [(1, last * r)]
        else:
            k = b_size // a_size
            if b_size % a_size or off % k or last % k or any(s % k for s, _ in pat[:-1]):
                raise_error("err_invalid_argument",
                            f"view({dt.dtype_name(vd)}) of {list(self.shape)} {dt.dtype_name(cur)} is misaligned: the "
                            f"last dimension and offsets must be multiples of {b_size // max(a_size, 1)} elements")
            off, pat = off // k, [(s // k, n) for s, n in pat[:-1]] + [(1, last // k)]
        alloc = self.alloc
        same = vd == alloc.dtype and dt.dtype_name(vd) == alloc.dtname
        return make_view(alloc, off, pat, None if same else vd)

    def ap(self, pattern, offset=None, scalar_offset=None, vector_offset=None, indirect_dim: int = 0,
           dtype=None) -> NkiTensor:
        """A hardware access pattern over the *storage* (ignores this view's shape and strides)."""
        a = self.alloc
        vd = dt.as_dtype(dtype) if dtype is not None else self.dtype
        try:
            pat = [(int(s), int(n)) for s, n in pattern]
        except (TypeError, ValueError):
            raise_error("err_invalid_argument", f".ap(pattern={pattern!r}): give a list of [stride, count] pairs")
        if not pat:
            raise_error("err_invalid_argument", ".ap() needs at least one [stride, count] pair")
        if offset is None:
            off = 0 if self.addr is not None else self._ap()[0] * self.dtype.itemsize // vd.itemsize
        else:
            off = int(offset)
        total = prod(a.shape) * a.dtype.itemsize // vd.itemsize
        if a.on_chip:
            free = a.numel_pp * a.dtype.itemsize // vd.itemsize
            if pat[0][1] > 1 and pat[0][0] != free:
                raise_error("err_invalid_argument",
                            f".ap(): the first [stride, count] pair of an SBUF/PSUM tensor steps partitions, so its "
                            f"stride must be the storage's free size {free}, got {pat[0][0]}")
        if scalar_offset is not None and vector_offset is not None:
            raise_error("err_invalid_argument", ".ap(): give scalar_offset or vector_offset, not both")
        if not 0 <= int(indirect_dim) < len(pat):
            raise_error("err_invalid_argument", f".ap(indirect_dim={indirect_dim}) is out of range for {len(pat)} dims")
        store_dtype = None if (vd == a.dtype and dt.dtype_name(vd) == a.dtname) else vd
        if scalar_offset is not None:
            off += scalar_value(scalar_offset, "scalar_offset") * pat[int(indirect_dim)][0]
        if vector_offset is not None:
            return _gather_view(self, a, off, pat, vector_offset, int(indirect_dim), store_dtype, total)
        lo = off + sum(min(0, s * (n - 1)) for s, n in pat if n)
        hi = off + sum(max(0, s * (n - 1)) for s, n in pat if n)
        if lo < 0 or hi >= total:
            raise_error("err_tensor_access_out_of_bound" if scalar_offset is None else "err_runtime_out_of_bounds",
                        f".ap(pattern={[list(p) for p in pat]}, offset={off}) addresses elements [{lo}, {hi}] of "
                        f"tensor {a.name} {list(a.shape)}, which has {total} elements")
        return make_view(a, off, pat, store_dtype)

    def __repr__(self) -> str:
        return f"<NkiTensor {self.alloc.name} {list(self.shape)} {dt.dtype_name(self.dtype)} in {self.buffer}>"


# ---------------------------------------------------------------------------- building views


def as_tensor(x):
    """Wrap a core tile (kernel input, value-returning call's result) as an NkiTensor; other values pass through."""
    if isinstance(x, NkiTensor) or not isinstance(x, Tile) or x.arrays is not None or x.perm is not None:
        return x
    return NkiTensor(x.alloc, x.spec)


def make_view(alloc, offset: int, pattern, vdtype=None) -> NkiTensor:
    """The view ``offset + sum(stride_k * i_k)``; a basic slice when the pattern is one."""
    pattern = [(int(s), int(n)) for s, n in pattern]
    if alloc.on_chip and pattern and pattern[0][1] == 1:
        item = (vdtype or alloc.dtype).itemsize
        pattern[0] = (alloc.numel_pp * alloc.dtype.itemsize // item, 1)
    if vdtype is None:
        spec = as_spec(alloc, offset, pattern)
        if spec is FULL:
            return NkiTensor(alloc, None)
        if spec is not None:
            return NkiTensor(alloc, spec)
    t = NkiTensor(alloc, ("ap", offset, tuple(pattern), None if vdtype is None else dt.dtype_name(vdtype)),
                  shape=tuple(n for _, n in pattern))
    t.vdtype, t.ap_offset, t.ap_pattern = vdtype, int(offset), tuple(pattern)
    return t


def _gather_view(src: NkiTensor, alloc, off: int, pat, vector_offset, indirect_dim: int, vdtype, total: int):
    """``.ap(vector_offset=idx)``: row ``i`` of the indirect dimension reads row ``idx[i]`` instead."""
    if indirect_dim != 0:
        raise_error("err_invalid_argument", ".ap(vector_offset=...) supports indirect_dim=0 only")
    if not isinstance(vector_offset, Tile) or not vector_offset.alloc.on_chip:
        raise_error("err_unsupported_memory", ".ap(vector_offset=...) takes an SBUF tensor of per-partition offsets")
    n0 = pat[0][1]
    if vector_offset.alloc.data is None:
        idx = np.zeros(n0, dtype=np.int64)
    else:
        idx = np.asarray(vector_offset.read()).astype(np.int64).T.reshape(-1)
    if idx.size < n0:
        raise_error("err_invalid_argument",
                    f".ap(vector_offset=...) has {idx.size} offsets for an indirect dimension of {n0}")
    shape = tuple(n for _, n in pat)
    addr = np.full((1,) * len(pat), off, dtype=np.int64) + (idx[:n0] * pat[0][0]).reshape((n0,) + (1,) * (len(pat) - 1))
    for k, (s, n) in enumerate(pat[1:], start=1):
        dims = [1] * len(pat)
        dims[k] = n
        addr = addr + s * np.arange(n, dtype=np.int64).reshape(dims)
    addr = np.ascontiguousarray(np.broadcast_to(addr, shape))
    valid = (addr >= 0) & (addr < total)
    t = NkiTensor(alloc, ("indirect", id(addr)), shape=shape)
    t.vdtype, t.addr, t.valid = vdtype, addr, (None if valid.all() else valid)
    t.ap_offset, t.ap_pattern = off, tuple(pat)
    return t
