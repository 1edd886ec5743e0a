"""The two logical cores of ``kernel[2]`` working together: ``nisa.core_barrier`` and ``nisa.sendrecv``.

Both are rendezvous of the instances (``autocomp.nki.lnc``): the kernel runs with the
instances taking turns, switching where one waits for the other.
"""

from __future__ import annotations

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import raise_error
from autocomp.nki.lnc import sync_point
from autocomp.nki.ops import data as _data
from autocomp.nki.ops.common import POOL, SBUF, SP, accesses, free_size, on_chip, record, require_nc
from autocomp.nki.runtime import current
from autocomp.nki.tile import Tile
from autocomp.nki.trace import HBM
from autocomp.nki.v2 import accumulate as _acc
from autocomp.nki.v2.calls import engine_arg, isa_call, src_tile
from autocomp.nki.v2.enums import dma_engine, engine, member

_isa = isa_call("nisa")
_CORES = (0, 1)
# dma_engine=gpsimd_dma (the GpSimd's internal DMA) moves at most this many bytes per partition, by element size.
_GPSIMD_DMA_BYTES = {4: 1024, 2: 512, 1: 256}


def _lnc2(api: str) -> None:
    require_nc(3, api)
    ctx = current()
    if ctx.grid != (2,):
        raise_error("err_unsupported_operation",
                    f"{api} synchronises the two logical cores of an LNC=2 launch; launch the kernel as kernel[2] "
                    f"(this launch has {ctx.grid[0] if ctx.grid else 1} core)")


@_isa
def core_barrier(data, cores, engine=engine.gpsimd, name=None):
    """Both cores wait here until both arrive; ``data`` is the shared-HBM tensor they hand over (cores=(0, 1))."""
    api = "nisa.core_barrier"
    t = src_tile(data, api, "data")
    if t.buffer != HBM:
        raise_error("err_unsupported_memory", f"{api}: data must be the shared HBM tensor both cores write, got a "
                                              f"{t.buffer.upper()} tensor")
    if tuple(int(c) for c in cores) != _CORES:
        raise_error("err_invalid_argument", f"{api}: cores must be (0, 1), the two cores of LNC=2; got {cores!r}")
    eng = engine_arg(engine, api) or POOL
    _lnc2(api)
    coop = sync_point(api)
    # The barrier reads and writes data, so the cost model orders each core's later uses of data after the other
    # core's earlier writes to it.
    record("BARRIER", eng, api, accesses(t), accesses(t), 1, 1, {"cores": _CORES})
    coop.rendezvous("core_barrier", None, None, _CORES, f"nisa.core_barrier in core {current().instance}")


@_isa
def sendrecv(src, dst, send_to_rank, recv_from_rank, pipe_id, dma_engine=dma_engine.dma, name=None):
    """Send this core's src tile to core ``send_to_rank``'s dst while receiving core ``recv_from_rank``'s src
    into this core's dst; calls with one ``pipe_id`` complete together."""
    api = "nisa.sendrecv"
    s, d = src_tile(src, api, "src"), src_tile(dst, api, "dst")
    for t, arg in ((s, "src"), (d, "dst")):
        on_chip(t, api, arg, allowed=(SBUF,))
    if s.dtype != d.dtype or tuple(s.shape) != tuple(d.shape):
        raise_error("err_invalid_argument", f"{api}: src {list(s.shape)} {dt.dtype_name(s.dtype)} and dst "
                                            f"{list(d.shape)} {dt.dtype_name(d.dtype)} need the same shape and dtype")
    mode = member(dma_engine, _dma_engine_enum, api, "dma_engine")
    if mode is _dma_engine_enum.gpsimd_dma:
        limit = _GPSIMD_DMA_BYTES.get(s.dtype.itemsize, 256)
        if free_size(s) * s.dtype.itemsize > limit:
            raise_error("err_invalid_argument", f"{api}: dma_engine=gpsimd_dma moves at most {limit} bytes per "
                                                f"partition of {dt.dtype_name(s.dtype)}; this tile has "
                                                f"{free_size(s) * s.dtype.itemsize}")
    ranks = []
    for r, arg in ((send_to_rank, "send_to_rank"), (recv_from_rank, "recv_from_rank")):
        if isinstance(r, Tile) or int(r) not in _CORES:
            raise_error("err_invalid_argument", f"{api}: {arg} must be 0 or 1 (a core of LNC=2), got {r!r}")
        ranks.append(int(r))
    _lnc2(api)
    coop = sync_point(api)
    me = current().instance
    queue = POOL if mode is _dma_engine_enum.gpsimd_dma else SP
    calls, last = coop.rendezvous("sendrecv", ("pipe", pipe_id), (s, d, ranks[0], ranks[1]), _CORES,
                                  f"nisa.sendrecv(pipe_id={pipe_id!r}) in core {me}")
    if last:  # the last core to arrive moves every tile while the other waits: each src is read as it was sent
        _transfer(coop, calls, queue, api)


def _transfer(coop, calls: dict, queue: str, api: str) -> None:
    for receiver, (_, r_dst, _, recv_from) in sorted(calls.items()):
        sender = calls.get(recv_from)
        if sender is None or sender[2] != receiver:
            raise_error("err_invalid_argument",
                        f"nisa.sendrecv: core {receiver} receives from core {recv_from}, which sends to core "
                        f"{sender[2] if sender else '?'}; the send and receive ranks must pair up")
        with coop.acting_as(receiver):
            _data.dma_copy(r_dst, sender[0], api, queue=queue)
            _acc.mark_written(r_dst)


_dma_engine_enum = dma_engine
