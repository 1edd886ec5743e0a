"""Creating v2 tensors: ``nl.ndarray``, ``nl.zeros`` / ``ones`` / ``full``, their ``*_like`` forms, and HBM
constants."""

from __future__ import annotations

import os

import numpy as np

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


def full(shape, fill_value, dtype, buffer=sbuf, name: str = "", *, address=None) -> NkiTensor:
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


def zeros(shape, dtype, buffer=sbuf, name: str = "", *, address=None) -> NkiTensor:
    return full(shape, 0, dtype, buffer=buffer, name=name, address=address)


def ones(shape, dtype, buffer=sbuf, name: str = "", *, address=None) -> NkiTensor:
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


def shared_constant(constant, *, dtype=None) -> NkiTensor:
    """A shared-HBM tensor holding ``constant`` (a numpy array, or the path of a ``.npy`` file)."""
    if isinstance(constant, (str, os.PathLike)):
        try:
            constant = np.load(constant, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise_error("err_invalid_argument", f"nl.shared_constant: cannot read {str(constant)!r} as a .npy "
                                                f"file ({e}); pass a numpy array or the path of a .npy file")
    return as_tensor(_constants.shared_constant(constant, dtype))


def shared_identity_matrix(n: int, dtype=uint8, dst=None) -> NkiTensor:
    """An n x n identity in shared HBM; with ``dst``, copied into that tensor (a DMA), which is returned."""
    identity = as_tensor(_constants.shared_identity_matrix(n, dtype))
    if dst is None:
        return identity
    api = "nl.shared_identity_matrix"
    if not isinstance(dst, Tile) or tuple(dst.shape) != (int(n), int(n)):
        raise_error("err_invalid_argument",
                    f"nl.shared_identity_matrix: dst must be an [{int(n)}, {int(n)}] tensor, got "
                    f"{list(dst.shape) if isinstance(dst, Tile) else type(dst).__name__}")
    _data.dma_copy(dst, identity, api)
    _acc.mark_written(dst)
    return dst
