"""What the v1 ISA wrappers share: the fresh SBUF result tile, argument normalisation, and the staging of PSUM
matmul operands through SBUF."""

from __future__ import annotations

from autocomp.nki.dtypes import float32, tfloat32
from autocomp.nki.errors import warn
from autocomp.nki.ops import data as _data
from autocomp.nki.ops import selection as _sel
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import ACT, PSUM, SBUF

_REDUCE_CMD_BY_VALUE = dict(enumerate((*_sel.REDUCE_CMDS, "load_reduce")))


def result(shape, dtype) -> Tile:
    """The fresh SBUF tile a v1 ISA call returns."""
    return _new_tile(tuple(int(s) for s in shape), dtype, SBUF)


def reduce_cmd_name(cmd) -> str:
    """``nisa.reduce_cmd.*`` (or its value / name) as the core ops' command name."""
    if cmd is None:
        return "idle"
    name = getattr(cmd, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(cmd, str):
        return cmd
    return _REDUCE_CMD_BY_VALUE.get(int(cmd), str(cmd))


def maybe_operand(x, api: str, arg: str):
    """A tile operand checked like any other; numbers pass through."""
    return _operand(x, api, arg) if isinstance(x, Tile) else x


def staged_in_sbuf(x: Tile, dtype, api: str) -> Tile:
    """A copy of PSUM tile ``x`` in SBUF (a Scalar-engine copy, as nl.store stages a PSUM value)."""
    staged = _new_tile(x.shape, dtype, SBUF)
    _data.tensor_copy(staged, x, api, engine=ACT)
    staged.alloc.producer = None
    return staged


def sbuf_matmul_operands(api: str, pairs: tuple) -> list:
    """The Tensor engine reads SBUF only, but deployed legacy kernels pass a PSUM tile (a transpose result) to
    matmuls and the legacy compiler copies it to SBUF first; so does the simulator, warning because the docs ask
    for SBUF operands. ``pairs``: ((name, tile), (name, tile)) of the two operands; returns the two tiles."""
    (a_name, a), (b_name, b) = pairs
    out = []
    for name, t, other in ((a_name, a, b), (b_name, b, a)):
        if t.buffer != PSUM:
            out.append(t)
            continue
        warn(f"{api}: {name} is a PSUM tile; the docs ask for SBUF operands, so it is copied to SBUF first (an "
             "extra Scalar-engine copy); copy it yourself with nl.copy to make that explicit",
             "warn_psum_matmul_operand")
        # A PSUM fp32 result next to a 16-bit operand is cast to that dtype, as the compiler must to run the matmul.
        wide = (float32, tfloat32)
        out.append(staged_in_sbuf(t, other.dtype if t.dtype in wide and other.dtype not in wide else t.dtype, api))
    return out
