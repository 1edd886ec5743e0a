"""The legacy ``nl.matmul`` and ``nl.transpose``: the shared calls, with PSUM operands staged through SBUF.

The Tensor engine reads SBUF only. The legacy compiler places the operands of its
high-level calls itself, so ``nl.matmul(nl.transpose(x), y)`` (a transpose result
in PSUM) compiles: it copies the PSUM operand to SBUF first, as ``nl.store``
does with a PSUM value. ``nl.matmul``'s docs ask for SBUF operands, so staging
there warns; ``nl.transpose``'s docs name no memory.
"""

from __future__ import annotations

from autocomp.nki.functional import matmul as _mm
from autocomp.nki.ops.common import free_size as _free_size
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import PSUM
from autocomp.nki.v1.isa.common import sbuf_matmul_operands, staged_in_sbuf


def matmul(x, y, *, transpose_x: bool = False, mask=None, **kwargs) -> Tile:
    api = "nl.matmul"
    x, y = sbuf_matmul_operands(api, (("x", _operand(x, api, "x")), ("y", _operand(y, api, "y"))))
    return _mm.matmul(x, y, transpose_x=transpose_x, mask=mask, **kwargs)


def transpose(x, *, dtype=None, mask=None, **kwargs) -> Tile:
    x = _operand(x, "nl.transpose", "x")
    if x.buffer == PSUM and len(x.shape) == 2 and (x.shape[0] > 32 or _free_size(x) > 32):
        x = staged_in_sbuf(x, x.dtype, "nl.transpose")  # over 32x32 it is a Tensor-engine transpose, which reads SBUF
    return _mm.transpose(x, dtype=dtype, mask=mask, **kwargs)
