"""How v2 ISA calls take their arguments: destination first, known keywords only.

``isa_call`` turns Python's own argument-binding errors into the compiler's
codes: an unknown keyword (``mask=``, ``dtype=``, ``dst_rmw_op=``...) is
``err_unexpected_keyword``, and a call without a destination (the v1
``t = nisa.exp(x)`` style) is ``err_missing_dst``.
"""

from __future__ import annotations

import functools
import inspect
import re

from autocomp.nki.errors import NkiError, raise_error
from autocomp.nki.ops.common import engine_of, operand
from autocomp.nki.runtime import current_or_none
from autocomp.nki.tile import Tile
from autocomp.nki.v2.enums import engine, member

_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")
_HINTS = {
    "mask": "masks do not exist in the current dialect; slice the tensors to the valid region instead",
    "dtype": "the destination tensor's dtype sets the result type; allocate dst with the dtype you want",
    "dst_rmw_op": "read-modify-write DMA moved to nisa.dma_compute(dst, [src, dst], reduce_op=nl.add)",
    "unique_indices": "unique_indices moved to nisa.dma_compute",
    "imm": "register_move takes src= (an int or a VirtualRegister)",
}


def _signature(fn) -> str:
    params = [p for p in inspect.signature(fn).parameters if p != "name"]
    return ", ".join(params)


class NkiInstruction:
    """The handle an ISA call returns: the instructions it traced. ``c.depends_on(a, b)`` makes c start after a
    and b complete (the cost model waits for them as for a data dependency); it returns c, so calls chain."""

    __slots__ = ("instructions",)

    def __init__(self, instructions: list):
        self.instructions = instructions

    def depends_on(self, *producers: NkiInstruction) -> NkiInstruction:
        for p in producers:
            if not isinstance(p, NkiInstruction):
                raise_error("err_invalid_argument",
                            f"depends_on takes the values nisa calls return (NkiInstruction), got {type(p).__name__}")
        if not self.instructions:
            return self
        first = self.instructions[0]
        after = set((first.attrs or {}).get("after", ()))
        for p in producers:
            if p.instructions and p.instructions[-1].seq > first.seq:
                raise_error("err_unsupported_operation",
                            f"depends_on: the producer {p!r} is traced after its consumer {self!r}; the simulator "
                            "schedules in program order, so make the producer's call come first")
        after.update(p.instructions[-1].seq for p in producers if p.instructions)
        after.discard(first.seq)
        if after:  # a new dict: attrs dicts may be shared between instructions
            first.attrs = dict(first.attrs or {}, after=tuple(sorted(after)))
        return self

    def __repr__(self) -> str:
        return "NkiInstruction(" + ", ".join(f"{i.opcode}#{i.seq}" for i in self.instructions) + ")"


def _traced(ctx, start: int, result):
    """What an ISA call returns: its own result, else the instructions it recorded as an NkiInstruction."""
    if result is not None or ctx is None:
        return result
    me = ctx.instance  # under kernel[2] a sendrecv also records the other core's transfer
    return NkiInstruction([ins for ins in ctx.trace.instructions[start:] if ins.instance == me])


def isa_call(module: str):
    """Decorator: map argument-binding TypeErrors of ``module.fn(...)`` to NKI error codes; an ISA call
    (``module == "nisa"``) that returns nothing returns the NkiInstruction of what it traced."""

    def wrap(fn):
        api = f"{module}.{fn.__name__}"
        handles = module == "nisa"

        @functools.wraps(fn)
        def call(*args, **kwargs):
            ctx = current_or_none() if handles else None
            start = len(ctx.trace.instructions) if ctx is not None else 0
            try:
                result = fn(*args, **kwargs)
            except TypeError as e:
                if isinstance(e, NkiError) or e.__traceback__.tb_next is not None:
                    raise  # raised inside the call, not while binding its arguments
                _binding_error(api, fn, args, kwargs, e)
            return _traced(ctx, start, result) if handles else result

        return call

    return wrap


def _binding_error(api: str, fn, args, kwargs, e: TypeError) -> None:
    text = str(e)
    m = _UNEXPECTED.search(text)
    if m:
        kw = m.group(1)
        hint = _HINTS.get(kw, "remove it")
        raise_error("err_unexpected_keyword",
                    f"{api}() got an unexpected keyword argument {kw!r} ({hint}); it takes ({_signature(fn)})")
    params = list(inspect.signature(fn).parameters)
    if "missing" in text and params and params[0] == "dst" and "dst" not in kwargs:
        raise_error("err_missing_dst",
                    f"{api}: current-dialect ISA calls write into a destination given first and return nothing: "
                    f"{api}(dst, ...) with dst allocated by nl.ndarray; got {text.split(': ', 1)[-1]}")
    raise_error("err_invalid_argument", f"{api}: {text}; it takes ({_signature(fn)})")


def dst_tile(x, api: str) -> Tile:
    """The destination argument: a tensor (anything else means a v1-style call)."""
    if not isinstance(x, Tile):
        from autocomp.nki.v2.grids import NkiGrid

        if isinstance(x, NkiGrid):
            raise_error("err_invalid_argument",
                        f"{api}: dst is a {type(x).__name__}, a view in tile coordinates; pass its selection as a "
                        "tensor: dst=grid[i, j].data")
        raise_error("err_missing_dst",
                    f"{api}: the first argument must be the destination tensor (dst), got {type(x).__name__}; "
                    f"current-dialect ISA calls write into dst and return nothing")
    x.alloc.producer = None
    return x


def src_tile(x, api: str, arg: str) -> Tile:
    return operand(x, api, arg)


def engine_arg(value, api: str) -> str | None:
    """A ``nisa.engine`` member as a trace engine name (None lets the op choose)."""
    e = member(value, engine, api, "engine")
    return engine_of(e.value, None)
