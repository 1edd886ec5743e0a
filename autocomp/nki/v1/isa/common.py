"""What the v1 ISA wrappers share: the fresh SBUF result tile and argument normalisation."""

from __future__ import annotations

from autocomp.nki.ops import selection as _sel
from autocomp.nki.ops.common import new_tile as _new_tile
from autocomp.nki.ops.common import operand as _operand
from autocomp.nki.tile import Tile
from autocomp.nki.trace import SBUF

_REDUCE_CMD_BY_VALUE = dict(enumerate(_sel.REDUCE_CMDS))


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
