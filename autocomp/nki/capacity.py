"""SBUF / PSUM capacity by liveness, as the compiler's allocator sees it.

A tile is live from its first to its last access. Block dimensions
(``(n, par_dim(128), F)``) are separate logical tiles with their own liveness,
never multiplied out: machine-written kernels routinely declare block tensors far
larger than SBUF that are fine because few blocks are live at once. Over SBUF
capacity the compiler spills, so that is a warning with the spill bytes
recorded (an error in strict mode); PSUM cannot spill.
"""

from __future__ import annotations

from autocomp.nki.errors import raise_error, warn
from autocomp.nki.targets_info import tile_limits
from autocomp.nki.trace import PSUM, SBUF, Trace

PSUM_BANK_BYTES = 2048
PSUM_BYTES_PER_PARTITION = 8 * PSUM_BANK_BYTES


def _live_ranges(trace: Trace) -> dict[tuple[int, int], list]:
    """(tensor id, block) -> [first seq, last seq, bytes per partition, buffer]."""
    tensors = trace.tensors
    on_chip = {tid: info for tid, info in tensors.items() if info.buffer in (SBUF, PSUM)}
    # Block tensors: elements per block, so an access's offset names its block.
    per_block = {tid: max(info.bytes_per_partition // max(info.itemsize, 1), 1)
                 for tid, info in on_chip.items() if info.block_copies > 1}
    first: dict = {}
    last: dict = {}
    for ins in trace.instructions:  # the common case, one range per tensor: a plain dict store per access
        seq = ins.seq
        for acc in ins.dst:
            last[acc.tensor] = seq
        for acc in ins.src:
            last[acc.tensor] = seq
    for ins in reversed(trace.instructions):
        seq = ins.seq
        for acc in ins.src:
            first[acc.tensor] = seq
        for acc in ins.dst:
            first[acc.tensor] = seq
    ranges: dict[tuple[int, int], list] = {}
    if per_block:
        for ins in trace.instructions:
            seq = ins.seq
            for accesses in (ins.dst, ins.src):
                for acc in accesses:
                    pb = per_block.get(acc.tensor)
                    if pb is None:
                        continue
                    key = (acc.tensor, acc.offset // pb)
                    r = ranges.get(key)
                    if r is None:
                        ranges[key] = [seq, seq, _footprint(on_chip[acc.tensor]), on_chip[acc.tensor].buffer]
                    else:
                        r[1] = seq
    for tid, seq in first.items():
        info = on_chip.get(tid)
        if info is not None and tid not in per_block:
            ranges[(tid, 0)] = [seq, last[tid], _footprint(info), info.buffer]
    return ranges


def _footprint(info) -> int:
    """Bytes per partition; PSUM allocates whole banks."""
    size = info.bytes_per_partition
    if info.buffer == PSUM:
        size = -(-size // PSUM_BANK_BYTES) * PSUM_BANK_BYTES
    return size


def _peak(ranges, buffer: str) -> int:
    # Net change per seq: frees at a seq never raise the peak above what the same seq's allocations reach.
    delta: dict[int, int] = {}
    get = delta.get
    for first, last, size, buf in ranges:
        if buf == buffer:
            delta[first] = get(first, 0) + size
            delta[last + 1] = get(last + 1, 0) - size
    live = peak = 0
    for seq in sorted(delta):
        live += delta[seq]
        if live > peak:
            peak = live
    return peak


def check_capacity(trace: Trace, strict: bool = False) -> None:
    """Record SBUF/PSUM peak use and spill bytes on the trace; warn (or raise, strict) when over."""
    ranges = list(_live_ranges(trace).values())
    sbuf_cap = tile_limits(trace.target)["sbuf_fmax_bytes"]
    sbuf_peak, psum_peak = _peak(ranges, SBUF), _peak(ranges, PSUM)
    trace.sbuf_peak_bytes_per_partition = sbuf_peak
    trace.psum_peak_bytes_per_partition = psum_peak
    if sbuf_peak > sbuf_cap:
        trace.spill_bytes = (sbuf_peak - sbuf_cap) * 128
        message = (f"live SBUF tiles need {sbuf_peak} bytes per partition at peak, over the {sbuf_cap} usable on "
                   f"{trace.target}; the compiler will spill about {trace.spill_bytes} bytes to HBM. Use smaller "
                   "tiles, fewer buffers, or free tiles earlier")
        if strict:
            raise_error("err_sbuf_capacity_exceeded", message)
        warn(message, "warn_sbuf_spill")
    if psum_peak > PSUM_BYTES_PER_PARTITION:
        message = (f"live PSUM tiles need {psum_peak} bytes per partition ({psum_peak // PSUM_BANK_BYTES} banks) at "
                   f"peak, over PSUM's {PSUM_BYTES_PER_PARTITION} bytes (8 banks of 2 KiB); PSUM cannot spill, so "
                   "the compiler fails to allocate. Keep at most 8 accumulation tiles of 2 KiB live")
        if strict:
            raise_error("err_psum_capacity_exceeded", message)
        warn(message, "warn_psum_over_capacity")
