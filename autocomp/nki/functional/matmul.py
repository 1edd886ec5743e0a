"""``nl.matmul`` and ``nl.transpose``: Tensor-engine calls that return a new PSUM (or SBUF) tile."""

from __future__ import annotations

from autocomp.nki.dtypes import float32
from autocomp.nki.errors import raise_error
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import matmul as _mm
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, PE, PSUM, SBUF


def matmul(x, y, *, transpose_x: bool = False, mask=None, **kwargs) -> Tile:
    """``x @ y`` into a new PSUM tile. Without transpose_x, x [M, K] is first transposed on the PE."""
    x, y = _operand(x, "nl.matmul", "x"), _operand(y, "nl.matmul", "y")
    if not transpose_x:
        if x.shape[0] > 128 or _free_size(x) > 128:
            raise_error("err_size_of_dimension_exceed_arch_limit",
                        f"nl.matmul: x of shape {list(x.shape)} exceeds [128, 128]")
        xt_psum = _new_tile((_free_size(x), x.shape[0]), x.dtype if x.dtype != float32 else float32, PSUM)
        _mm.nc_transpose(xt_psum, x, "nl.matmul", engine=PE)
        xt = _new_tile(xt_psum.shape, x.dtype, SBUF)
        _data.tensor_copy(xt, xt_psum, "nl.matmul", engine=ACT)
        x = xt
    out = _new_tile((_free_size(x), _free_size(y)), float32, PSUM)
    _mm.nc_matmul(out, x, y, "nl.matmul")
    return out


def transpose(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    x = _operand(x, "nl.transpose", "x")
    if len(x.shape) != 2:
        raise_error("err_exceed_max_supported_dimension",
                    f"nl.transpose takes a 2-D tile, got {len(x.shape)}-D {list(x.shape)}")
    out = _new_tile((x.shape[1], x.shape[0]), dtype or x.dtype, PSUM if x.buffer == SBUF else SBUF)
    _mm.nc_transpose(out, x, "nl.transpose")
    return out
