"""Data dependencies between instructions: RAW, WAR and WAW on tensor regions.

Tensor ids are unique per allocation (the simulator renames per ``ndarray`` call), so a
region is (tensor, partition range, element range). Regions are bounding boxes: a
strided access covers its whole extent, which can only add dependencies, never miss
one. Tensors that no instruction writes (kernel inputs) cannot carry a hazard and are
not tracked. Big tensors (v1 block tensors, HBM) keep their records in buckets (per
block, per 128 rows) so a lookup only touches records that can overlap.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from types import MappingProxyType

from autocomp.nki.trace import HBM, Access, TensorInfo

_ROW_BUCKET = 128  # HBM rows per bucket
_MAX_SPAN = 4  # accesses spanning more buckets go to the tensor's "wide" records
_MAX_RECORDS = 96  # records per bucket before they collapse into one bounding record
_WIDE = -1
_BIG_TILE = 8192  # on-chip tensors with more elements per partition are bucketed by element range
# The reads of a small tensor until its first read record: most tiles never get one (see record).
_NO_READS = MappingProxyType({})

# A box is (system, r0, r1, c0, c1). system -1: on-chip (partitions x elements per partition);
# s > 0: HBM viewed as rows of s elements; 0: HBM as a flat element range (r0=0, r1=1).


@lru_cache(maxsize=4096)  # a trace repeats a handful of patterns 10^5 times
def pattern_extent(pattern: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """(lowest, highest) element offset an access pattern reaches, relative to its offset."""
    lo = hi = 0
    for stride, count in pattern:
        if count > 1:
            if stride >= 0:
                hi += stride * (count - 1)
            else:
                lo += stride * (count - 1)
    return lo, hi


def region(a: Access) -> tuple[int, int, int, int, int]:
    """The bounding box of an access."""
    lo, hi = pattern_extent(a.pattern)
    off = a.offset
    if a.buffer != HBM:
        return (-1, a.partition_start, a.partition_start + (a.partitions or 1), off + lo, off + hi + 1)
    ps, parts = a.partition_stride, a.partitions or 1
    if ps > 0:
        col = off % ps
        if col + lo >= 0 and col + hi < ps:
            row = off // ps
            return (ps, row, row + parts, col + lo, col + hi + 1)
    span = (parts - 1) * abs(ps)
    if ps >= 0:
        return (0, 0, 1, off + lo, off + hi + 1 + span)
    return (0, 0, 1, off + lo - span, off + hi + 1)


def _flat(b) -> tuple[int, int]:
    s = b[0]
    if s > 0:
        return b[1] * s + b[3], (b[2] - 1) * s + b[4]
    return b[3], b[4]


def overlaps(a, b) -> bool:
    if a[0] == b[0]:
        return a[1] < b[2] and b[1] < a[2] and a[3] < b[4] and b[3] < a[4]
    (a0, a1), (b0, b1) = _flat(a), _flat(b)
    return a0 < b1 and b0 < a1


def _drop_covered(records: dict, box) -> None:
    """Forget the records of regions inside ``box``: a write there hides them."""
    s, r0, r1, c0, c1 = box
    for b in list(records):
        if b[0] == s and r0 <= b[1] and b[2] <= r1 and c0 <= b[3] and b[4] <= c1:
            del records[b]


def _collapse(d: dict, write: bool) -> None:
    """Replace many records by one bounding record with the latest times (conservative)."""
    boxes = list(d)
    s = boxes[0][0]
    if any(b[0] != s for b in boxes):
        return
    box = (s, min(b[1] for b in boxes), max(b[2] for b in boxes), min(b[3] for b in boxes),
           max(b[4] for b in boxes))
    recs = list(d.values())
    latest = max(recs, key=lambda r: r[0])
    d.clear()
    if write:
        d[box] = (latest[0], max(r[1] for r in recs), max(r[2] for r in recs), "*", latest[4], False)
    else:
        d[box] = (latest[0], "*", latest[2])


class _Bucketed:
    """Records of one big tensor, bucketed along blocks (on-chip) or rows (HBM)."""

    __slots__ = ("size", "buckets", "systems", "keys")

    def __init__(self, size: int, keys: dict):
        self.size = size
        self.buckets: dict = {}  # (system, bucket) -> (writes {box: rec}, reads {box: rec})
        self.systems: set[int] = set()
        # (size, box) -> (lookup keys or None, insert keys), shared by the tracker's bucketed tensors: a trace
        # repeats a few boxes per tensor shape thousands of times
        self.keys = keys

    def _keys(self, box) -> tuple:
        memo = (self.size, box)
        keys = self.keys.get(memo)
        if keys is None:
            span = self._span(box)
            wide = (box[0], _WIDE)
            keys = self.keys[memo] = (None if span is None else (*span, wide), tuple(span) if span else (wide,))
        return keys

    def _span(self, box) -> list | None:
        s = box[0]
        if s == 0:
            return None
        size = self.size if s < 0 else _ROW_BUCKET
        lo, hi = (box[3], box[4]) if s < 0 else (box[1], box[2])
        b0, b1 = lo // size, (hi - 1) // size
        if b1 - b0 >= _MAX_SPAN:
            return None
        return [(s, b) for b in range(b0, b1 + 1)]

    def lookup(self, box) -> list:
        keys = self._keys(box)[0]
        if keys is None or len(self.systems) > 1:
            return list(self.buckets.values())
        get = self.buckets.get
        return [p for p in map(get, keys) if p is not None]

    def insert(self, box) -> list:
        self.systems.add(box[0])
        keys = self._keys(box)[1]
        buckets = self.buckets
        out = []
        for key in keys:
            pair = buckets.get(key)
            if pair is None:
                pair = buckets[key] = ({}, {})
            out.append(pair)
        return out


class DependencyTracker:
    """Last writers and readers of every written tensor region, with their ready times.

    A write record is (end, visible_same_engine, visible_other_engine, engine, pos, is_matmul);
    a read record is (end, engine, pos).

    ``records`` maps every tracked tensor to its records: for a small tensor its [writes, reads]
    pair, for a big one its buckets. The scheduler looks them up once per access
    and passes regions as (records, box, written), reads first; ``written`` is True for a write,
    False for a read, None for a read of a small tensor that no later instruction writes (only a
    later writer would look at it, so it is not recorded).
    """

    def __init__(self, tensors: dict[int, TensorInfo], semaphore_ns: float, written: Iterable[int]):
        self._sem = semaphore_ns
        self.records: dict[int, list | _Bucketed] = {}
        records = self.records
        keys: dict = {}  # bucket keys of the boxes seen, shared by the bucketed tensors
        for tid in written:
            info = tensors.get(tid)
            if info is None:
                records[tid] = [{}, _NO_READS]
            elif info.buffer == HBM:
                records[tid] = _Bucketed(1, keys)
            elif info.block_copies > 1 and info.itemsize:
                records[tid] = _Bucketed(max(info.bytes_per_partition // info.itemsize, 1), keys)
            elif info.itemsize and info.bytes_per_partition // info.itemsize > _BIG_TILE:
                records[tid] = _Bucketed(_BIG_TILE // 4, keys)
            else:
                records[tid] = [{}, _NO_READS]

    def ready(self, engine: str, regions: list, chain: bool) -> tuple[float, int]:
        """Earliest start allowed by data dependencies and the position that imposes it.

        ``regions``: see the class docstring. ``chain``: a PSUM-accumulating matmul, which follows
        earlier matmuls into the same region in order on the Tensor engine without a semaphore
        round trip.
        """
        best, pred = 0.0, -1
        sem = self._sem
        for records, box, written in regions:
            for writes, reads in (records,) if records.__class__ is list else records.lookup(box):
                for b, w in writes.items() if writes else ():  # RAW, and WAW for a writer
                    if b is box or (box[1] < b[2] and b[1] < box[2] and box[3] < b[4] and b[3] < box[4]
                                    if box[0] == b[0] else overlaps(box, b)):
                        t = w[0] if chain and w[5] else (w[1] if w[3] == engine else w[2])
                        if t > best:
                            best, pred = t, w[4]
                if written and reads:
                    for b, r in reads.items():  # WAR
                        if b is box or (box[1] < b[2] and b[1] < box[2] and box[3] < b[4] and b[3] < box[4]
                                        if box[0] == b[0] else overlaps(box, b)):
                            t = r[0] if r[1] == engine else r[0] + sem
                            if t > best:
                                best, pred = t, r[2]
        return best, pred

    def record(self, pos: int, engine: str, regions: list, end: float, visible_same: float, visible_other: float,
               is_matmul: bool) -> None:
        """Note that instruction ``pos`` read and wrote these regions, finishing at ``end``."""
        rec = (end, visible_same, visible_other, engine, pos, is_matmul)
        for records, box, written in regions:
            if written:
                for writes, reads in (records,) if records.__class__ is list else records.insert(box):
                    if writes:
                        if len(writes) == 1 and box in writes:  # rewriting the same region: the usual case
                            writes.clear()
                        else:
                            _drop_covered(writes, box)
                    if reads:
                        _drop_covered(reads, box)
                    writes[box] = rec
                    if len(writes) > _MAX_RECORDS:
                        _collapse(writes, True)
            elif written is not None:
                for pair in (records,) if records.__class__ is list else records.insert(box):
                    reads = pair[1]
                    if reads is _NO_READS:  # a small tensor's first read record
                        reads = pair[1] = {}
                    old = reads.get(box)
                    if old is None or old[0] < end:
                        reads[box] = (end, engine, pos)
                        if len(reads) > _MAX_RECORDS:
                            _collapse(reads, False)
