"""On-chip memory by liveness: peak use, spills, and the capacity that bounds run-ahead.

A buffer is live from its first access to its last, in program order, the way the
compiler allocates. v1 block dimensions are separate buffers (one per block), since the
compiler allocates block tiles by liveness rather than multiplying the block sizes out
(NKI_SPEC §2.4). PSUM buffers occupy whole 2 KiB banks.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import lru_cache

from autocomp.nki.trace import HBM, PSUM, SBUF, Trace
from autocomp.perf.deps import pattern_extent
from autocomp.perf.targets import Target


@dataclass
class Liveness:
    """Program-order liveness of every on-chip buffer (sizes in bytes per partition)."""

    alloc_at: dict[int, list[tuple[str, int]]] = field(default_factory=dict)  # pos -> [(buffer, bytes)]
    free_at: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    sbuf_peak: int = 0
    psum_peak: int = 0
    spill_at: dict[int, int] = field(default_factory=dict)  # pos -> SBUF bytes/partition evicted there
    spill_bytes: int = 0  # total bytes saved (and later reloaded)
    psum_overflow: int = 0  # bytes/partition above PSUM capacity at the worst point
    traffic: dict[tuple[str, str], int] = field(default_factory=dict)  # (buffer, "read"|"write") -> bytes


@lru_cache(maxsize=4096)  # a trace repeats a handful of patterns 10^5 times
def _pattern_elems(pattern: tuple[tuple[int, int], ...]) -> int:
    n = 1
    for _, count in pattern:
        n *= count
    return n


def _blocks(a, info) -> range:
    per_block = max(info.bytes_per_partition // info.itemsize, 1)
    lo, hi = pattern_extent(a.pattern)
    lo, hi = a.offset + lo, a.offset + hi
    last = info.block_copies - 1
    return range(min(max(lo // per_block, 0), last), min(max(hi // per_block, 0), last) + 1)


def analyse(trace: Trace, target: Target) -> Liveness:
    """Liveness of the trace's SBUF/PSUM buffers, spill points where SBUF overflows, and the
    bytes compute and DMA instructions read and write in SBUF/PSUM."""
    tensors = trace.tensors
    blocked = {tid for tid, info in tensors.items() if info.block_copies > 1 and info.itemsize}
    first: dict = {}
    last: dict = {}
    reads = {SBUF: 0, PSUM: 0}
    writes = {SBUF: 0, PSUM: 0}
    elems = _pattern_elems
    for pos, ins in enumerate(trace.instructions):
        for traffic, accs in ((reads, ins.src), (writes, ins.dst)):
            for a in accs:
                buf = a.buffer
                if buf == HBM:
                    continue
                traffic[buf] += a.partitions * a.itemsize * elems(a.pattern)
                tid = a.tensor
                if tid in blocked:
                    for b in _blocks(a, tensors[tid]):
                        key = (tid, b)
                        if key not in first:
                            first[key] = (pos, buf, a)
                        last[key] = pos
                else:
                    if tid not in first:
                        first[tid] = (pos, buf, a)
                    last[tid] = pos
    traffic = {(buf, "read"): n for buf, n in reads.items()}
    traffic.update({(buf, "write"): n for buf, n in writes.items()})
    live = Liveness(traffic=traffic)
    bank = target.psum_bank_bytes
    for key, (pos, buf, a) in first.items():
        info = tensors.get(key[0] if isinstance(key, tuple) else key)
        nbytes = info.bytes_per_partition if info is not None else a.free_elems * a.itemsize
        if buf == PSUM:
            nbytes = -(-nbytes // bank) * bank
        live.alloc_at.setdefault(pos, []).append((buf, nbytes))
        live.free_at.setdefault(last[key], []).append((buf, nbytes))
    _alias_in_place(live)
    _sweep(live, target)
    return live


def _alias_in_place(live: Liveness) -> None:
    """A result may take over the space of an operand that dies at the same instruction
    (``y = x * g`` with x dead afterwards writes into x's buffer), as the compiler does."""
    for pos, allocs in live.alloc_at.items():
        frees = live.free_at.get(pos)
        if not frees:
            continue
        new_allocs, new_frees = [], list(frees)
        for buf, nbytes in allocs:
            for j, (fbuf, fbytes) in enumerate(new_frees):
                if fbuf == buf and fbytes and nbytes:
                    moved = min(nbytes, fbytes)
                    nbytes -= moved
                    new_frees[j] = (fbuf, fbytes - moved)
            new_allocs.append((buf, nbytes))
        live.alloc_at[pos] = [x for x in new_allocs if x[1]]
        live.free_at[pos] = [x for x in new_frees if x[1]]


def _sweep(live: Liveness, target: Target) -> None:
    sbuf_cap, psum_cap = target.sbuf_usable_bytes, target.psum_bytes_per_partition
    partitions = target.sbuf_partitions
    used = {SBUF: 0, PSUM: 0}
    overflow = 0
    sbuf_peak = psum_peak = psum_overflow = spill_bytes = 0
    alloc_at, free_at, spill_at = live.alloc_at, live.free_at, live.spill_at
    for pos in sorted(alloc_at.keys() | free_at.keys()):
        allocs = alloc_at.get(pos)
        if allocs:
            for buf, nbytes in allocs:
                used[buf] = used.get(buf, 0) + nbytes
            sbuf, psum = used[SBUF], used[PSUM]
            if sbuf > sbuf_peak:
                sbuf_peak = sbuf
            if psum > psum_peak:
                psum_peak = psum
            if psum - psum_cap > psum_overflow:
                psum_overflow = psum - psum_cap
            now = sbuf - sbuf_cap if sbuf > sbuf_cap else 0
            if now > overflow:
                spill_at[pos] = now - overflow
                spill_bytes += (now - overflow) * partitions
            overflow = now
        frees = free_at.get(pos)
        if frees:
            for buf, nbytes in frees:
                used[buf] -= nbytes
            sbuf = used[SBUF]
            overflow = sbuf - sbuf_cap if sbuf > sbuf_cap else 0
    live.sbuf_peak, live.psum_peak = max(live.sbuf_peak, sbuf_peak), max(live.psum_peak, psum_peak)
    live.psum_overflow = max(live.psum_overflow, psum_overflow)
    live.spill_bytes += spill_bytes


class CapacityPool:
    """Bytes per partition of one buffer over time, for the scheduler.

    A buffer takes its space when its first access is scheduled and gives it back when
    its last access ends. Usage is a step function over time kept as sorted events
    (+bytes at an allocation, -bytes at a free), grouped in blocks that remember their
    sum and largest running sum. An allocation holds its space until some future free,
    so it may start at t only if usage stays within capacity from t on. This bounds how
    far loads run ahead of compute, like the compiler's finite buffering.
    """

    BLOCK = 32  # events per block
    WINDOW = 32  # blocks looked back (~500 buffers of run-ahead); earlier starts wait
    MAX_BLOCKS = 512  # older blocks are folded into one event

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.total = 0  # usage after the last event: bytes not yet freed
        self._firsts: list[float] = []  # first event time of each block
        self._blocks: list[list] = []  # [times, deltas, owners, sum, max running sum]

    def allocate(self, nbytes: int, t: float) -> tuple[float, int]:
        """Earliest time >= t with room for ``nbytes`` from then on, and the position whose
        free made room (-1 if none). Over capacity even with everything freed: no wait
        (the static liveness pass accounts that as a spill)."""
        start, pred = t, -1
        limit = self.capacity - nbytes
        if self.total <= limit:
            start, pred = self._earliest(t, limit)
        self._event(start, nbytes, -1)
        return start, pred

    def release(self, nbytes: int, t: float, pos: int) -> None:
        self._event(t, -nbytes, pos)

    def _earliest(self, t: float, limit: int) -> tuple[float, int]:
        after = self.total  # usage after the block being looked at
        blocks = self._blocks
        k = len(blocks) - 1
        stop = max(-1, k - self.WINDOW)
        while k > stop:
            times, deltas, owners, total, peak = blocks[k]
            before = after - total
            if before + peak > limit:  # the last violation is in this block: find it
                u = after
                for i in range(len(times) - 1, -1, -1):
                    if times[i] <= t:
                        break
                    u -= deltas[i]
                    if u > limit:
                        return times[i], owners[i]
                return t, -1
            if times[0] <= t:
                return t, -1
            after = before
            k -= 1
        if k >= 0:  # ran out of window: start no earlier than the oldest block looked at
            first = blocks[k + 1]
            return max(t, first[0][0]), first[2][0]
        return t, -1

    def _event(self, t: float, delta: int, owner: int) -> None:
        self.total += delta
        blocks, firsts = self._blocks, self._firsts
        k = len(firsts) - 1
        if k < 0:
            blocks.append([[t], [delta], [owner], delta, delta])
            firsts.append(t)
            return
        if t < firsts[k]:
            k = max(0, bisect.bisect_right(firsts, t) - 1)
        block = blocks[k]
        times = block[0]
        if times[-1] <= t:  # appending: update the block summary in place
            times.append(t)
            block[1].append(delta)
            block[2].append(owner)
            block[3] += delta
            if block[3] > block[4]:
                block[4] = block[3]
            if len(times) <= self.BLOCK:
                return
        else:
            i = bisect.bisect_right(times, t)
            times.insert(i, t)
            block[1].insert(i, delta)
            block[2].insert(i, owner)
            firsts[k] = times[0]
        if len(times) > self.BLOCK:
            half = len(times) // 2
            new = [times[half:], block[1][half:], block[2][half:], 0, 0]
            del times[half:], block[1][half:], block[2][half:]
            blocks.insert(k + 1, new)
            firsts.insert(k + 1, new[0][0])
            _summarise(new)
        _summarise(block)
        if len(blocks) > self.MAX_BLOCKS:
            self._fold()

    def _fold(self) -> None:
        """Fold the older half of the blocks into one event carrying their total."""
        half = len(self._blocks) // 2
        old = self._blocks[:half]
        folded = sum(b[3] for b in old)
        t = old[-1][0][-1]
        del self._blocks[:half], self._firsts[:half]
        base = [[t], [folded], [-1], folded, folded]
        self._blocks.insert(0, base)
        self._firsts.insert(0, t)


def _summarise(block: list) -> None:
    running, peak = 0, None
    for d in block[1]:
        running += d
        if peak is None or running > peak:
            peak = running
    block[3], block[4] = running, peak
