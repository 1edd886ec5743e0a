"""The Tensor engine: ``nisa.nc_matmul`` (with v2 accumulation, tiling and the fp8 double-row mode) and
``nisa.nc_transpose``."""

from __future__ import annotations

import numpy as np

from autocomp import targets as _targets
from autocomp.nki import dtypes as _dt
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.ops import matmul as _mm
from autocomp.nki.ops.common import compute_values as _values
from autocomp.nki.ops.common import free_size as _free
from autocomp.nki.ops.common import numerics as _numerics
from autocomp.nki.runtime import current as _current
from autocomp.nki.tile import Tile
from autocomp.nki.trace import DVE, PE, PSUM, SBUF
from autocomp.nki.v2 import accumulate as _acc
from autocomp.nki.v2.calls import dst_tile as _dst
from autocomp.nki.v2.calls import engine_arg as _engine
from autocomp.nki.v2.calls import isa_call
from autocomp.nki.v2.calls import src_tile as _src
from autocomp.nki.v2.enums import engine, matmul_perf_mode, member

_isa = isa_call("nisa")


@_isa
def nc_matmul(dst, stationary, moving, is_stationary_onezero=False, is_moving_onezero=False, is_transpose=False,
              accumulate=None, tile_position=(), tile_size=(), perf_mode=matmul_perf_mode.none, name=None):
    """``dst[M, N] (+)= stationary[K, M].T @ moving[K, N]`` in PSUM; ``accumulate=None`` decides per element."""
    api = "nisa.nc_matmul"
    dst = _dst(dst, api)
    st, mv = _src(stationary, api, "stationary"), _src(moving, api, "moving")
    mode = member(perf_mode, matmul_perf_mode, api, "perf_mode")
    if accumulate not in (None, True, False):
        raise_error("err_invalid_argument", f"{api}: accumulate must be None, True or False, got {accumulate!r}")
    flags = {"is_stationary_onezero": bool(is_stationary_onezero), "is_moving_onezero": bool(is_moving_onezero),
             "is_transpose": bool(is_transpose)}
    if mode is matmul_perf_mode.double_row:
        ins = _double_row(dst, st, mv, accumulate, api, flags)
    else:
        ins = _acc.matmul(dst, st, mv, accumulate, api, **flags)
    if tile_position or tile_size:
        _tiling(st, tuple(tile_position), tuple(tile_size), api)
        ins.attrs["tile_position"], ins.attrs["tile_size"] = tuple(tile_position), tuple(tile_size)


def _tiling(st: Tile, position: tuple, size: tuple, api: str) -> None:
    if len(position) != 2 or len(size) != 2:
        raise_error("err_invalid_argument", f"{api}: tile_position and tile_size must both be (row, column) pairs")
    rows, cols = (int(s) for s in size)
    if rows not in (32, 64, 128) or cols not in (32, 64, 128) or (not _current().spec.pe_tiles_of_32
                                                                   and 32 in (rows, cols)):
        raise_error("err_invalid_argument", f"{api}: tile_size {size} must use 128, 64 (or 32 from "
                    f"{_targets.earliest_with('pe_tiles_of_32')}) rows/cols")
    if int(position[0]) % rows or int(position[1]) % cols or st.shape[0] > rows or _free(st) > cols:
        raise_error("err_invalid_argument",
                    f"{api}: stationary {list(st.shape)} must fit tile_size {size}, and tile_position {position} "
                    "must be a multiple of it")


def _double_row(dst: Tile, st: Tile, mv: Tile, accumulate, api: str, flags: dict):
    """FP8 double-row mode: stationary [K, 2, M] and moving [K, 2, N] contract over 2K rows in one matmul."""
    if not _current().spec.double_row_fp8:
        raise_error("err_unsupported_operation",
                    f"{api}: perf_mode=double_row needs {_targets.earliest_with('double_row_fp8')} or later")
    if len(st.shape) != 3 or len(mv.shape) != 3 or st.shape[1] != 2 or mv.shape[1] != 2:
        raise_error("err_invalid_argument",
                    f"{api}: double_row takes stationary [K, 2, M] and moving [K, 2, N], got {list(st.shape)} and "
                    f"{list(mv.shape)}")
    if not (st.dtype in _dt.FP8 and mv.dtype in _dt.FP8):
        raise_error("err_unsupported_dtype", f"{api}: double_row needs fp8 stationary and moving tiles")
    from autocomp.nki.v2.views import as_tensor

    st3, mv3 = as_tensor(st), as_tensor(mv)
    ins = _acc.matmul(dst, st3[:, 0, :], mv3[:, 0, :], accumulate, api, perf_mode="double_row", **flags)
    if _numerics():
        extra = _values(st3[:, 1, :]).T @ _values(mv3[:, 1, :])
        dst.write(dst.read().astype(np.float32) + extra.reshape(dst.shape))
    ins.attrs["contract"] = 2 * st.shape[0]
    ins.src = (st.access(), mv.access())
    return ins


@_isa
def nc_transpose(dst, data, engine=engine.unknown, name=None):
    """Swap the partition and (flattened) free dimensions: Tensor engine up to 128x128, Vector up to 32x32."""
    api = "nisa.nc_transpose"
    dst, data = _dst(dst, api), _src(data, api, "data")
    eng = _engine(engine, api)
    if eng not in (None, PE, DVE):
        raise_error("err_invalid_argument", f"{api}: engine must be nisa.tensor_engine or nisa.vector_engine")
    if dst.dtype != data.dtype:
        if not _fp32_pe_result_on_trn1(dst, data, eng):
            raise_error("err_unsupported_dtype",
                        f"{api}: dst ({_dt.dtype_name(dst.dtype)}) must have the dtype of data "
                        f"({_dt.dtype_name(data.dtype)})")
        warn(f"{api}: the docs ask for a dst of data's dtype ({_dt.dtype_name(data.dtype)}); on "
             f"{_current().spec.name} the Tensor engine transposes by a matmul whose PSUM result is float32, so a "
             "float32 dst is accepted (targets with a transpose mode keep the dtype)", "warn_transpose_dtype")
    _mm.nc_transpose(dst, data, api, engine=eng)
    _acc.mark_written(dst)


def _fp32_pe_result_on_trn1(dst: Tile, data: Tile, eng) -> bool:
    """A Tensor-engine transpose (SBUF -> PSUM) of a narrower float into a float32 tile on trn1: NeuronCore-v2 has
    no transpose mode, so the transpose is a plain matmul and writes float32 to PSUM, whatever the input dtype
    (kernels that ran on trn1 do this)."""
    return (not _current().spec.pe_transpose_mode and dst.dtype == _dt.float32 and dst.buffer == PSUM
            and data.buffer == SBUF and eng in (None, PE) and _dt.is_float(data.dtype) and data.dtype.itemsize < 4)
