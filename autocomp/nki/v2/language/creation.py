"""Creating v2 tensors: ``nl.ndarray``, ``nl.zeros`` / ``ones`` / ``full``, their ``*_like`` forms, and HBM
constants."""

from __future__ import annotations

from autocomp.nki.dtypes import uint8
from autocomp.nki.errors import raise_error
from autocomp.nki.functional import constants as _constants
from autocomp.nki.ops import data as _data
from autocomp.nki.tile import Tile
from autocomp.nki.trace import HBM, PSUM, SBUF
from autocomp.nki.v2 import accumulate as _acc
from autocomp.nki.v2.language.memory import Buffer, allocate, buffer_kind, hbm, psum, sbuf
from autocomp.nki.v2.views import NkiTensor, as_tensor


def ndarray(shape, dtype, buffer=sbuf, name: str = "", address=None) -> NkiTensor:
    """A new uninitialised tensor (its memory holds the NaN sentinel until written)."""
    return allocate(shape, dtype, buffer, name, address, "nl.ndarray")


def full(shape, fill_value, dtype, buffer=sbuf, name: str = "", address=None) -> NkiTensor:
    """A new on-chip tensor filled by a memset."""
    kind, _ = buffer_kind(buffer, "nl.full")
    if kind == HBM:
        raise_error("err_hbm_tensor_with_init_value_not_supported",
                    "nl.zeros/ones/full cannot create HBM tensors; create an SBUF tensor, fill it, and "
                    "nisa.dma_copy it to HBM")
    t = allocate(shape, dtype, buffer, name, address, "nl.full")
    _data.memset(t, fill_value, "nl.full")
    _acc.mark_written(t)
    return t


def zeros(shape, dtype, buffer=sbuf, name: str = "", address=None) -> NkiTensor:
    return full(shape, 0, dtype, buffer=buffer, name=name, address=address)


def ones(shape, dtype, buffer=sbuf, name: str = "", address=None) -> NkiTensor:
    return full(shape, 1, dtype, buffer=buffer, name=name, address=address)


def _buffer_of(x: Tile) -> Buffer:
    return {SBUF: sbuf, PSUM: psum, HBM: hbm}[x.buffer]


def ndarray_like(x, dtype=None, buffer=None, name: str = "") -> NkiTensor:
    return ndarray(x.shape, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


empty_like = ndarray_like


def zeros_like(x, dtype=None, buffer=None, name: str = "") -> NkiTensor:
    return zeros(x.shape, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def ones_like(x, dtype=None, buffer=None, name: str = "") -> NkiTensor:
    return ones(x.shape, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def full_like(x, fill_value, dtype=None, buffer=None, name: str = "") -> NkiTensor:
    return full(x.shape, fill_value, dtype or x.dtype, buffer=buffer or _buffer_of(x), name=name)


def shared_constant(constant, dtype=None) -> NkiTensor:
    return as_tensor(_constants.shared_constant(constant, dtype))


def shared_identity_matrix(n: int, dtype=uint8) -> NkiTensor:
    return as_tensor(_constants.shared_identity_matrix(n, dtype))
