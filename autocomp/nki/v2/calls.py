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


def isa_call(module: str):
    """Decorator: map argument-binding TypeErrors of ``module.fn(...)`` to NKI error codes."""

    def wrap(fn):
        api = f"{module}.{fn.__name__}"

        @functools.wraps(fn)
        def call(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except TypeError as e:
                if isinstance(e, NkiError) or e.__traceback__.tb_next is not None:
                    raise  # raised inside the call, not while binding its arguments
                _binding_error(api, fn, args, kwargs, e)

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
