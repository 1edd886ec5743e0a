"""On-chip memory by liveness: peak use, spills, and the capacity that bounds run-ahead.

A buffer is live from its first access to its last, in program order, the way the
compiler allocates. v1 block dimensions are separate buffers (one per block), since the
compiler allocates block tiles by liveness rather than multiplying the block sizes out
(docs/nki-semantics.md#tiles-partitions-and-block-dimensions). PSUM buffers occupy whole 2 KiB banks.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from autocomp.nki.trace import PSUM, SBUF, Trace
from autocomp.perf.targets import Target
from autocomp.perf.workload import Workload, workload


@dataclass
class Liveness:
    """Program-order liveness of every on-chip buffer (sizes in bytes per partition)."""

    # One entry per buffer, in order of first access: where it is first and last accessed and
    # its size. Buffers live in SBUF but for the entries listed in ``psum``.
    first: list[int] = field(default_factory=list)
    last: list[int] = field(default_factory=list)
    nbytes: list[int] = field(default_factory=list)
    psum: list[int] = field(default_factory=list)
    sbuf_peak: int = 0
    psum_peak: int = 0
    spill_at: dict[int, int] = field(default_factory=dict)  # pos -> SBUF bytes/partition evicted there
    spill_bytes: int = 0  # total bytes saved (and later reloaded)
    psum_overflow: int = 0  # bytes/partition above PSUM capacity at the worst point

    def allocations(self) -> tuple[dict[int, list[tuple[str, int]]], dict[int, list[tuple[str, int]]]]:
        """(alloc_at, free_at): position -> [(buffer, bytes)] taken and given back there, results
        written in place. Built on demand: only the scheduler's capacity pools need them."""
        alloc_at: dict[int, list[tuple[str, int]]] = {}
        free_at: dict[int, list[tuple[str, int]]] = {}
        buffers = [SBUF] * len(self.first)
        for i in self.psum:
            buffers[i] = PSUM
        for first, last, buf, nbytes in zip(self.first, self.last, buffers, self.nbytes):
            alloc_at.setdefault(first, []).append((buf, nbytes))
            free_at.setdefault(last, []).append((buf, nbytes))
        _alias_in_place(alloc_at, free_at)
        return alloc_at, free_at


def analyse(trace: Trace, target: Target, work: Workload | None = None) -> Liveness:
    """Liveness of the trace's SBUF/PSUM buffers and the spill points where SBUF overflows.
    ``work``: the trace's workload, surveyed here if not given."""
    life = (work or workload(trace)).buffers
    live = Liveness(first=life.first, last=list(map(life.last.__getitem__, life.keys)), nbytes=list(life.nbytes),
                    psum=life.psum)
    bank = target.psum_bank_bytes
    for i in life.psum:  # PSUM buffers take whole banks
        live.nbytes[i] = -(-live.nbytes[i] // bank) * bank
    _sweep(live, len(trace.instructions), target)
    return live


def _alias_in_place(alloc_at: dict, free_at: dict) -> None:
    """A result may take over the space of an operand that dies at the same instruction
    (``y = x * g`` with x dead afterwards writes into x's buffer), as the compiler does."""
    for pos, allocs in alloc_at.items():
        frees = free_at.get(pos)
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
        alloc_at[pos] = [x for x in new_allocs if x[1]]
        free_at[pos] = [x for x in new_frees if x[1]]


def _usage(n: int, first: np.ndarray, last: np.ndarray, nbytes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Bytes of one buffer taken at each position (after results written in place), and the usage
    just before and just after those allocations."""
    alloc = np.zeros(n, dtype=np.int64)
    free = np.zeros(n, dtype=np.int64)
    np.add.at(alloc, first, nbytes)
    np.add.at(free, last, nbytes)
    aliased = np.minimum(alloc, free)  # see _alias_in_place: a result reuses what dies with it
    alloc -= aliased
    free -= aliased
    after_frees = np.cumsum(alloc - free)
    held = after_frees + free  # after this position's allocations, before its frees
    return alloc, held - alloc, held


def _sweep(live: Liveness, n: int, target: Target) -> None:
    """Peaks, PSUM overflow and SBUF spills from the usage at every position in program order
    (allocations at a position come before its frees)."""
    sbuf_cap, psum_cap = target.sbuf_usable_bytes, target.psum_bytes_per_partition
    count = len(live.first)
    first = np.fromiter(live.first, np.int64, count)
    last = np.fromiter(live.last, np.int64, count)
    nbytes = np.fromiter(live.nbytes, np.int64, count)
    psum = np.zeros(count, dtype=bool)
    psum[live.psum] = True
    sbuf = ~psum
    sbuf_alloc, sbuf_before, sbuf_held = _usage(n, first[sbuf], last[sbuf], nbytes[sbuf])
    psum_alloc, _, psum_held = _usage(n, first[psum], last[psum], nbytes[psum])
    allocating = (sbuf_alloc + psum_alloc) > 0
    if allocating.any():
        sbuf_peak = max(int(sbuf_held[allocating].max()), 0)
        psum_peak = max(int(psum_held[allocating].max()), 0)
        live.sbuf_peak, live.psum_peak = sbuf_peak, psum_peak
        live.psum_overflow = max(psum_peak - psum_cap, 0)
    # What no longer fits is spilled when it is allocated, once: only growth of the overflow spills.
    overflow = np.maximum(sbuf_held - sbuf_cap, 0) - np.maximum(sbuf_before - sbuf_cap, 0)
    spills = np.flatnonzero(overflow > 0)
    live.spill_at.update(zip(spills.tolist(), overflow[spills].tolist()))
    live.spill_bytes = int(overflow[spills].sum()) * target.sbuf_partitions


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
        while k > stop:  # block fields by index: this loop runs ~16 times per allocation
            block = blocks[k]
            before = after - block[3]
            if before + block[4] > limit:  # the last violation is in this block: find it
                times, deltas = block[0], block[1]
                u = after
                for i in range(len(times) - 1, -1, -1):
                    if times[i] <= t:
                        break
                    u -= deltas[i]
                    if u > limit:
                        return times[i], block[2][i]
                return t, -1
            if block[0][0] <= t:
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
