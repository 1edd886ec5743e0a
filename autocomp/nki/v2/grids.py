"""Tile and block grids (NKI 0.7): ``nl.tiles`` / ``nl.blocks`` views and ``nl.alloc_tiles`` / ``alloc_blocks``.

A grid is a view of an element region of one backing store, navigated in tile (or block) coordinates.
Making, indexing or regrouping a grid allocates nothing and records no instruction; ``grid.data`` is
the selection as one ``NkiTensor``, and the instructions that use it record its accesses as usual, so
the cost model prices a block moved by one DMA as one DMA.

Two backing stores exist. A tensor (``nl.tiles(t, ...)``, and ``alloc_tiles`` in HBM, which is a
compact tensor of ``element_shape``): any rectangular selection is a slice of it. An on-chip
``alloc_tiles`` / ``alloc_blocks``: one ``[P, F]`` allocation of full tiles, ``P = tile_shape[0]``
partitions, tiles side by side along the free axis in row-major tile order (the leading untiled
dimensions outermost), each tile's free elements contiguous. A selection there is one tensor only
when it stays within one tile along the partition axis, its tiles along a free axis sit
back to back, and no untiled leading dimension is left unindexed; otherwise ``data`` is an error
(``is_data_representable`` is False). docs/nki-semantics.md#tile-and-block-grids has the rules.
"""

from __future__ import annotations

import math

from autocomp.nki.errors import raise_error
from autocomp.nki.tile import Tile
from autocomp.nki.trace import HBM, PSUM, SBUF
from autocomp.nki.v2 import versioning
from autocomp.nki.v2.language.memory import allocate, buffer_kind, hbm, psum, sbuf
from autocomp.nki.v2.views import NkiTensor, as_tensor, make_view

SINCE = (0, 7)
_INSTEAD = "slice the tensor with element offsets (t[i * 128:(i + 1) * 128, ...])"


def _exact_ints(value, api: str, arg: str, min_rank: int = 1) -> tuple[int, ...]:
    if value.__class__ is not tuple or any(v.__class__ is not int for v in value):
        raise_error("err_invalid_argument",
                    f"{api}: {arg} must be a tuple of Python ints, got {value!r}")
    if len(value) < min_rank:
        raise_error("err_invalid_tile_grid",
                    f"{api}: {arg}={value} has {len(value)} dimension(s); it needs at least {min_rank}")
    if any(v <= 0 for v in value):
        raise_error("err_invalid_tile_grid", f"{api}: every entry of {arg}={value} must be positive")
    return value


def _check_tile_rank(tile_shape, rank: int, api: str) -> None:
    if len(tile_shape) > rank:
        raise_error("err_invalid_tile_grid",
                    f"{api}: tile_shape {tile_shape} has more dimensions than the {rank} of the tiled region; "
                    "it applies to the trailing dimensions")


class _TensorStore:
    """A tensor as backing store: a selection is a basic slice of it."""

    def __init__(self, tensor: NkiTensor):
        self.tensor = tensor

    @property
    def kind(self) -> str:
        return self.tensor.alloc.buffer

    @property
    def dtype(self):
        return self.tensor.dtype

    def view(self, region):
        return self.tensor[tuple(r if isinstance(r, int) else slice(r[0], r[1]) for r in region)], ""


class _TiledStore:
    """An on-chip ``alloc_tiles``/``alloc_blocks`` allocation: ``[P, n_tiles * tile_free]``."""

    def __init__(self, tensor: NkiTensor, element_shape, tile_shape):
        self.tensor = tensor
        self.untiled = len(element_shape) - len(tile_shape)
        self.tile_shape = tile_shape
        self.tile_free = math.prod(tile_shape[1:])
        counts = list(element_shape[:self.untiled]) + [-(-e // t) for e, t in
                                                       zip(element_shape[self.untiled:], tile_shape)]
        # elements between neighbouring tiles along each dimension (row-major tile order)
        self.tile_step = [math.prod(counts[k + 1:]) * self.tile_free for k in range(len(counts))]
        free = math.prod(counts) * self.tile_free
        # element stride inside a tile: the partition row, then the tile's free dims row-major
        self.inner = [free] + [math.prod(tile_shape[j + 1:]) for j in range(1, len(tile_shape))]

    @property
    def kind(self) -> str:
        return self.tensor.alloc.buffer

    @property
    def dtype(self):
        return self.tensor.dtype

    def view(self, region):
        offset, pattern = 0, []
        for k, r in enumerate(region[:self.untiled]):
            if isinstance(r, int):
                offset += r * self.tile_step[k]
                continue
            return None, (f"the untiled leading dimension {k} is still a range; index it with an integer so the "
                          "partition dimension comes first")
        for j, r in enumerate(region[self.untiled:]):
            k, size, inner = self.untiled + j, self.tile_shape[j], self.inner[j]
            if isinstance(r, int):  # a re-tiled view consumed this dimension
                if j == 0:
                    return None, "its partition dimension is indexed away"
                offset += (r // size) * self.tile_step[k] + (r % size) * inner
                continue
            lo, hi = r
            offset += (lo // size) * self.tile_step[k] + (lo % size) * inner
            if (hi - 1) // size != lo // size:
                if j == 0:
                    return None, ("it spans several tiles along the partition dimension, which share the same "
                                  f"{self.tile_shape[0]} partitions; select one tile row")
                if self.tile_step[k] != size * inner:
                    return None, (f"its tiles along dimension {k} are not back to back in the allocation; "
                                  "select one tile along that dimension, or the trailing one")
            pattern.append((inner, hi - lo))
        return make_view(self.tensor.alloc, offset, pattern), ""


class NkiGrid:
    """A tile- or block-coordinate view of an element region (``nl.tiles`` / ``nl.blocks``)."""

    __slots__ = ("_store", "_region", "tile_shape", "_blocks", "_units", "_counts", "_sel", "_untiled")

    def __init__(self, store, region, tile_shape, block_shape=None):
        self._store, self._region, self.tile_shape = store, list(region), tuple(tile_shape)
        self._blocks = None if block_shape is None else tuple(block_shape)
        open_dims = [r for r in region if not isinstance(r, int)]
        self._untiled = len(open_dims) - len(tile_shape)
        per = self._blocks or (1,) * len(tile_shape)
        self._units = [1] * self._untiled + [t * b for t, b in zip(tile_shape, per)]
        self._counts = [-(-(hi - lo) // u) for (lo, hi), u in zip(open_dims, self._units)]
        self._sel = [(0, c) for c in self._counts]

    # ------------------------------------------------------------------ geometry
    def _selected(self) -> list:
        """The selection as a region of the store: an int per consumed untiled dim, else (lo, hi)."""
        out, g = list(self._region), 0
        for k, r in enumerate(self._region):
            if isinstance(r, int):
                continue
            lo, hi = r
            s, u = self._sel[g], self._units[g]
            if isinstance(s, int):
                out[k] = lo + s * u if g < self._untiled else (lo + s * u, min(lo + (s + 1) * u, hi))
            else:
                out[k] = (lo + s[0] * u, min(lo + s[1] * u, hi))
            g += 1
        return out

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(s[1] - s[0] for s in self._sel if not isinstance(s, int))

    @property
    def element_shape(self) -> tuple[int, ...]:
        return tuple(r[1] - r[0] for r in self._selected() if not isinstance(r, int))

    @property
    def index_step_elements(self) -> tuple[int, ...]:
        return tuple(u for s, u in zip(self._sel, self._units) if not isinstance(s, int))

    @property
    def is_remainder(self) -> bool:
        """Whether the selection holds a tile or block clamped at the edge of the region."""
        extents = [r[1] - r[0] for r in self._selected() if not isinstance(r, int)]
        nominal = [u * (1 if isinstance(s, int) else s[1] - s[0])
                   for s, u in zip(self._sel, self._units) if not (isinstance(s, int) and u == 1)]
        return any(e < n for e, n in zip(extents, nominal))

    @property
    def dtype(self):
        return self._store.dtype

    @property
    def buffer(self):
        return {SBUF: sbuf, PSUM: psum, HBM: hbm}[self._store.kind]

    @property
    def is_data_representable(self) -> bool:
        return self._store.view(self._selected())[0] is not None

    @property
    def data(self) -> NkiTensor:
        view, why = self._store.view(self._selected())
        if view is None:
            raise_error("err_invalid_tile_grid",
                        f"{type(self).__name__}.data: the selection {self.element_shape} of this on-chip tile "
                        f"allocation is not one tensor: {why} (check grid.is_data_representable)")
        return view

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key) -> NkiGrid:
        open_dims = [g for g, s in enumerate(self._sel) if not isinstance(s, int)]
        items = key if isinstance(key, tuple) else (key,)
        if sum(it is Ellipsis for it in items) > 1:
            raise_error("err_invalid_argument", f"{type(self).__name__}: at most one ... in an index")
        if Ellipsis in items:
            at = items.index(Ellipsis)
            items = items[:at] + (slice(None),) * (len(open_dims) - len(items) + 1) + items[at + 1:]
        if len(items) > len(open_dims):
            raise_error("err_tensor_access_out_of_bound",
                        f"{type(self).__name__}: {len(items)} indices for a grid of shape {self.shape}")
        sel = list(self._sel)
        for g, it in zip(open_dims, items):
            start, stop = sel[g]
            n = stop - start
            if isinstance(it, slice):
                if it.step not in (None, 1):
                    raise_error("err_unsupported_operation",
                                f"{type(self).__name__}: slice step {it.step} is not modelled; select contiguous "
                                "tiles and loop over them")
                a, b, _ = it.indices(n)
                if b <= a:
                    raise_error("err_tensor_access_out_of_bound",
                                f"{type(self).__name__}: the slice {it} selects no tile of an axis of {n}")
                sel[g] = (start + a, start + b)
            elif isinstance(it, int) and not isinstance(it, bool):
                i = it + n if it < 0 else it
                if not 0 <= i < n:
                    raise_error("err_tensor_access_out_of_bound",
                                f"{type(self).__name__}: index {it} is out of range for an axis of {n} tiles")
                sel[g] = start + i
            else:
                raise_error("err_invalid_argument",
                            f"{type(self).__name__}: grid indices are Python ints and slices known while tracing, "
                            f"got {type(it).__name__}; for a run-time index use the tensor's .ap(scalar_offset=)")
        out = object.__new__(type(self))
        for name in NkiGrid.__slots__:
            setattr(out, name, getattr(self, name))
        out._sel = sel
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(shape={self.shape}, tile_shape={self.tile_shape}, "
                f"element_shape={self.element_shape})")


class NkiTileGrid(NkiGrid):
    """A grid whose coordinates count tiles (``nl.tiles``, ``nl.alloc_tiles``)."""

    __slots__ = ()


class NkiBlockGrid(NkiGrid):
    """A grid whose coordinates count blocks of ``block_shape`` tiles (``nl.blocks``, ``nl.alloc_blocks``)."""

    __slots__ = ()

    @property
    def block_shape(self) -> tuple[int, ...]:
        return self._blocks


def _source(source, tile_shape, api: str):
    """The store, region and tile shape a new grid over ``source`` starts from."""
    if isinstance(source, NkiGrid):
        region = source._selected()
        tile_shape = source.tile_shape if tile_shape is None else _exact_ints(tile_shape, api, "tile_shape", 2)
        store = source._store
    elif isinstance(source, Tile):
        tensor = as_tensor(source)
        if tile_shape is None:
            raise_error("err_invalid_argument", f"{api}: tile_shape is required when the source is a tensor")
        tile_shape = _exact_ints(tile_shape, api, "tile_shape", 2)
        store, region = _TensorStore(tensor), [(0, n) for n in tensor.shape]
    else:
        raise_error("err_invalid_argument",
                    f"{api}: the source must be an NkiTensor, NkiTileGrid or NkiBlockGrid, got {type(source).__name__}")
    _check_tile_rank(tile_shape, sum(not isinstance(r, int) for r in region), api)
    return store, region, tile_shape


def _block_shape(block_shape, tile_shape, api: str) -> tuple[int, ...]:
    block_shape = _exact_ints(block_shape, api, "block_shape")
    if len(block_shape) != len(tile_shape):
        raise_error("err_invalid_tile_grid",
                    f"{api}: block_shape {block_shape} must have the rank of tile_shape {tile_shape}")
    return block_shape


def tiles(source, *, tile_shape=None) -> NkiTileGrid:
    """A tile-coordinate view of a tensor or of a grid's selection (NKI 0.7)."""
    api = "nl.tiles"
    versioning.require(SINCE, api, _INSTEAD)
    store, region, tile_shape = _source(source, tile_shape, api)
    return NkiTileGrid(store, region, tile_shape)


def blocks(source, *, tile_shape=None, block_shape) -> NkiBlockGrid:
    """A block-coordinate view: each block groups ``block_shape`` tiles (NKI 0.7)."""
    api = "nl.blocks"
    versioning.require(SINCE, api, _INSTEAD)
    store, region, tile_shape = _source(source, tile_shape, api)
    return NkiBlockGrid(store, region, tile_shape, _block_shape(block_shape, tile_shape, api))


def _allocate(tile_shape, element_shape, buffer, dtype, address, name: str, api: str):
    versioning.require(SINCE, api, "allocate with nl.ndarray and index it by element offsets")
    tile_shape = _exact_ints(tile_shape, api, "tile_shape", 2)
    element_shape = _exact_ints(element_shape, api, "element_shape")
    _check_tile_rank(tile_shape, len(element_shape), api)
    kind, _ = buffer_kind(buffer, api)
    if kind == HBM:
        store = _TensorStore(allocate(element_shape, dtype, buffer, name, address, api))
    else:
        untiled = len(element_shape) - len(tile_shape)
        n_tiles = math.prod(element_shape[:untiled]) * math.prod(
            -(-e // t) for e, t in zip(element_shape[untiled:], tile_shape))
        backing = allocate((tile_shape[0], n_tiles * math.prod(tile_shape[1:])), dtype, buffer, name, address, api)
        store = _TiledStore(backing, element_shape, tile_shape)
    return store, [(0, n) for n in element_shape], tile_shape


def alloc_tiles(*, tile_shape, element_shape, buffer, dtype, address=None, name: str = "") -> NkiTileGrid:
    """New uninitialised storage organised as a grid of tiles (NKI 0.7)."""
    store, region, tile_shape = _allocate(tile_shape, element_shape, buffer, dtype, address, name, "nl.alloc_tiles")
    return NkiTileGrid(store, region, tile_shape)


def alloc_blocks(*, tile_shape, block_shape, element_shape, buffer, dtype, address=None,
                 name: str = "") -> NkiBlockGrid:
    """New uninitialised storage organised as a grid of blocks of tiles (NKI 0.7)."""
    api = "nl.alloc_blocks"
    _block_shape(block_shape, _exact_ints(tile_shape, api, "tile_shape", 2), api)  # before allocating
    store, region, tile_shape = _allocate(tile_shape, element_shape, buffer, dtype, address, name, api)
    return NkiBlockGrid(store, region, tile_shape, _block_shape(block_shape, tile_shape, api))
