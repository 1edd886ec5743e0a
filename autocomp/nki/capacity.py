"""SBUF / PSUM capacity by liveness, as the compiler's allocator sees it.

A tile is live from its first to its last access. Block dimensions
(``(n, par_dim(128), F)``) are separate logical tiles with their own liveness,
never multiplied out: machine-written kernels routinely declare block tensors far
larger than SBUF that are fine because few blocks are live at once. Over SBUF
capacity the compiler spills, so that is a warning with the spill bytes
recorded (an error in strict mode); PSUM cannot spill.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki.errors import raise_error, warn
from autocomp.nki.trace import HBM, PSUM, SBUF, Trace
from autocomp.targets import Target

PSUM_BANK_BYTES = 2048
PSUM_BYTES_PER_PARTITION = 8 * PSUM_BANK_BYTES


def _peaks(trace: Trace) -> tuple[int, int]:
    """Peak SBUF and PSUM bytes per partition over program order. Runs once per trace of up to 10^5
    instructions, so the per-tensor work is done on arrays: a tile is live from its first to its last access."""
    tensors = trace.tensors
    # First and last on-chip access of every tensor: plain dict loops are the cheapest pass over 10^5 instructions.
    first_at: dict[int, int] = {}
    last_at: dict[int, int] = {}
    for ins in trace.instructions:
        seq = ins.seq
        for accs in (ins.dst, ins.src):
            for a in accs:
                if a.buffer != HBM:
                    tid = a.tensor
                    if tid not in first_at:
                        first_at[tid] = seq
                    last_at[tid] = seq
    if not first_at:
        return 0, 0
    ids = list(first_at)
    first = np.fromiter(first_at.values(), dtype=np.int64, count=len(ids))
    last = np.fromiter(map(last_at.__getitem__, ids), dtype=np.int64, count=len(ids))
    sbuf, psum, blocked = [], [], []  # bytes per tensor in ids' order (0 when in the other buffer)
    for tid in ids:
        info = tensors.get(tid)
        buf = info.buffer if info is not None else HBM
        if buf != SBUF and buf != PSUM or info.block_copies > 1:
            if buf != HBM:
                blocked.append(tid)
            sbuf.append(0)
            psum.append(0)
        elif buf == SBUF:
            sbuf.append(info.bytes_per_partition)
            psum.append(0)
        else:
            sbuf.append(0)
            psum.append(_footprint(info))
    sizes = {SBUF: np.array(sbuf, dtype=np.int64), PSUM: np.array(psum, dtype=np.int64)}
    blocks = _block_ranges(trace, set(blocked)) if blocked else []
    peaks = []
    for buf in (SBUF, PSUM):
        mine = [r for r in blocks if r[3] == buf]
        b_first, b_last, b_size = (np.array([r[i] for r in mine], dtype=np.int64) for i in range(3))
        peaks.append(_peak(np.r_[first, b_first], np.r_[last, b_last], np.r_[sizes[buf], b_size]))
    return peaks[0], peaks[1]


def _peak(first: np.ndarray, last: np.ndarray, sizes: np.ndarray) -> int:
    """Most bytes live at once, for ranges live from ``first`` through ``last`` (inclusive). Frees take effect
    after their instruction, so a range ending where another starts overlaps it."""
    if not len(first):
        return 0
    delta = np.zeros(int(max(first.max(), last.max())) + 2, dtype=np.int64)
    np.add.at(delta, first, sizes)
    np.subtract.at(delta, last + 1, sizes)
    return max(int(np.cumsum(delta).max()), 0)


def _block_ranges(trace: Trace, blocked: set[int]) -> list:
    """Block tensors (``(n, par_dim(128), F)``): each block is its own tile, live from its first to its last
    access; an access's offset names its block. Returns [first seq, last seq, bytes, buffer] per block."""
    tensors = trace.tensors
    per_block = {tid: max(tensors[tid].bytes_per_partition // max(tensors[tid].itemsize, 1), 1) for tid in blocked}
    ranges: dict[tuple[int, int], list] = {}
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
                    info = tensors[acc.tensor]
                    ranges[key] = [seq, seq, _footprint(info), info.buffer]
                else:
                    r[1] = seq
    return list(ranges.values())


def _footprint(info) -> int:
    """Bytes per partition; PSUM allocates whole banks."""
    size = info.bytes_per_partition
    if info.buffer == PSUM:
        size = -(-size // PSUM_BANK_BYTES) * PSUM_BANK_BYTES
    return size


def check_capacity(trace: Trace, target: Target, strict: bool = False) -> None:
    """Record SBUF/PSUM peak use and spill bytes on the trace; warn (or raise, strict) when over ``target``'s."""
    sbuf_cap = target.tile.sbuf_fmax_bytes
    sbuf_peak, psum_peak = _peaks(trace)
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
