"""Microscaling on NeuronCore-v4: ``nisa.quantize_mx`` and ``nisa.nc_matmul_mx`` (layouts in ``ops/mx.py``)."""

from __future__ import annotations

import numpy as np

from autocomp.nki.errors import raise_error
from autocomp.nki.ops import mx as _mx
from autocomp.nki.trace import PSUM
from autocomp.nki.v2 import accumulate as _acc
from autocomp.nki.v2.calls import dst_tile, isa_call, src_tile
from autocomp.nki.v2.isa.matmul import _tiling

_isa = isa_call("nisa")


@_isa
def quantize_mx(dst, src, dst_scale, name=None):
    """fp16/bf16 src [P, F] -> MXFP8 dst [P, F / 4] and one scale per 8 partitions x 4 elements (Vector engine)."""
    api = "nisa.quantize_mx"
    dst, scale = dst_tile(dst, api), src_tile(dst_scale, api, "dst_scale")
    _mx.quantize_mx(dst, src_tile(src, api, "src"), scale, api)


@_isa
def nc_matmul_mx(dst, stationary, moving, stationary_scale, moving_scale, tile_position=None, tile_size=None,
                 accumulate=None, name=None):
    """``dst[M, N] (+)= stationary[K, M].T @ moving[K, N]`` of MXFP8/MXFP4 data, each x4 element dequantized by
    its group's scale; ``accumulate=None`` adds onto PSUM elements a matmul wrote before (as nc_matmul)."""
    api = "nisa.nc_matmul_mx"
    dst = dst_tile(dst, api)
    st, mv = src_tile(stationary, api, "stationary"), src_tile(moving, api, "moving")
    if accumulate not in (None, True, False):
        raise_error("err_invalid_argument", f"{api}: accumulate must be None, True or False, got {accumulate!r}")
    if (tile_position is None) != (tile_size is None):
        raise_error("err_invalid_argument", f"{api}: tile_position and tile_size are set together (or neither)")
    if tile_size is not None:
        if int(tuple(tile_size)[1]) != 128 or int(tuple(tile_position)[1]) != 0:
            raise_error("err_invalid_argument", f"{api}: MX matmuls tile rows only: tile_size=(rows, 128) and "
                                                "tile_position=(row, 0)")
        _tiling(st, tuple(tile_position), tuple(tile_size), api)
    done = None
    if dst.buffer == PSUM:
        flags = _acc._flags(dst.alloc)
        state, addr = _acc._region(dst, flags)
        done = ((state & _acc.MATMUL) != 0).reshape(-1)
    if accumulate is None:
        mode = done.reshape(dst.shape[0], -1) if done is not None and done.any() else False
    else:
        mode = bool(accumulate)
    ins = _mx.nc_matmul_mx(dst, st, mv, src_tile(stationary_scale, api, "stationary_scale"),
                           src_tile(moving_scale, api, "moving_scale"), api, accumulate=mode)
    if tile_size is not None:
        ins.attrs["tile_position"], ins.attrs["tile_size"] = tuple(tile_position), tuple(tile_size)
    if done is not None:
        if addr is None:
            state |= _acc.MATMUL
        else:
            flags.reshape(-1)[addr] |= _acc.MATMUL
    if isinstance(mode, np.ndarray):
        ins.attrs["accumulate"] = bool(mode.any())
