"""The legacy ``nl.matmul`` and ``nl.transpose``: the shared calls, with PSUM operands staged through SBUF.

The Tensor engine reads SBUF only. The legacy compiler places the operands of its
high-level calls itself, so ``nl.matmul(nl.transpose(x), y)`` (a transpose result
in PSUM) compiles: it copies the PSUM operand to SBUF first, as ``nl.store``
does with a PSUM value. ``nl.matmul``'s docs ask for SBUF operands, so staging
there warns; ``nl.transpose``'s docs name no memory.
"""

from __future__ import annotations

from autocomp.nki.dtypes import float32, tfloat32
from autocomp.nki.errors import warn
from autocomp.nki.functional import matmul as _mm
from autocomp.nki.ops import data as _data
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, PSUM, SBUF

_FP32 = (float32, tfloat32)


def _staged(x: Tile, dtype, api: str) -> Tile:
    """A copy of PSUM tile ``x`` in SBUF (Scalar engine, as nl.store stages PSUM values)."""
    staged = _new_tile(x.shape, dtype, SBUF)
    _data.tensor_copy(staged, x, api, engine=ACT)
    staged.alloc.producer = None
    return staged


def matmul(x, y, *, transpose_x: bool = False, mask=None, **kwargs) -> Tile:
    api = "nl.matmul"
    x, y = _operand(x, api, "x"), _operand(y, api, "y")
    for arg, t, other in (("x", x, y), ("y", y, x)):
        if t.buffer != PSUM:
            continue
        warn(f"{api}: {arg} is a PSUM tile; the docs ask for SBUF operands, so it is copied to SBUF first (an extra "
             "Scalar-engine copy); copy it yourself with nl.copy to make that explicit", "warn_psum_matmul_operand")
        # A PSUM fp32 result next to a 16-bit operand is cast to that dtype, as the compiler must to run the matmul.
        dtype = other.dtype if t.dtype in _FP32 and other.dtype not in _FP32 else t.dtype
        staged = _staged(t, dtype, api)
        if arg == "x":
            x = staged
        else:
            y = staged
    return _mm.matmul(x, y, transpose_x=transpose_x, mask=mask, **kwargs)


def transpose(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    x = _operand(x, "nl.transpose", "x")
    if x.buffer == PSUM and len(x.shape) == 2 and (x.shape[0] > 32 or _free_size(x) > 32):
        x = _staged(x, x.dtype, "nl.transpose")  # over 32x32 it is a Tensor-engine transpose, which reads SBUF
    return _mm.transpose(x, dtype=dtype, mask=mask, **kwargs)
