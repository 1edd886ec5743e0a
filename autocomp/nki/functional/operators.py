"""Python operators on tiles, the same in both dialects: ``a + b`` is ``nl.add(a, b)`` without broadcasting
along partitions, ``-a`` is ``nl.negative(a)``, ``t[i] = v`` and ``t += v`` are assignments (``assignment.py``),
``t.broadcast_to(shape)`` is ``nl.broadcast_to`` (``t.astype``: ``nl.copy``, ``t.expand_dims``:
``nl.expand_dims``). Importing this module binds them (``tile.bind_operator``)."""

from __future__ import annotations

from autocomp.nki.alu import ALU_OPS
from autocomp.nki.functional.assignment import assign, inplace
from autocomp.nki.functional.elementwise import binary, negative
from autocomp.nki.functional.movement import copy
from autocomp.nki.functional.shaping import broadcast_to, expand_dims
from autocomp.nki.tile import bind_operator

_BINARY = ("add", "subtract", "multiply", "divide", "power", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
           "right_shift", "mod", "less", "less_equal", "greater", "greater_equal", "equal", "not_equal")


def _bind_operators() -> None:
    for name in _BINARY:
        op = ALU_OPS[name]
        bind_operator(name, lambda a, b, _op=op: binary(a, b, _op, operator=True))
    bind_operator("negative", negative)
    bind_operator("assign", assign)
    bind_operator("inplace", inplace)
    bind_operator("broadcast_to", broadcast_to)
    bind_operator("copy", copy)
    bind_operator("expand_dims", expand_dims)


_bind_operators()
