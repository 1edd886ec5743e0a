"""DMA transfer costs (the DMA rows of docs/cost-model.md#mechanisms-and-their-sources).

A DMA instruction is split across the core's 16 DMA engines by SBUF partition (each
engine serves 8 partitions, so P partitions use ceil(P/8) engines) [D] ARCH1, DMA. Each
engine pays a fixed cost per transfer, one per partition row it serves, and its bytes at the per-engine
rate (17 B/ns on trn1, 23 on trn2, 33 on trn3 [D] DMABW), so short rows come out
overhead-bound; a contiguous piece shorter than a memory burst costs a whole burst. On
trn1 an element narrower than 4 bytes occupies a 4-byte datapath lane (its record's Calibration).
The ~1.3 us semaphore-to-data latency is not engine time: the scheduler pipelines it across
outstanding transfers. Sources: docs/cost-model.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from autocomp.nki.trace import HBM, Access, Instruction
from autocomp.perf.targets import Target


@dataclass(slots=True)
class DmaCost:
    """What one DMA instruction costs the DMA engines and its issuing engine."""

    engines: int  # DMA engines sharing the transfer
    engine_ns: float  # time each of them is busy
    descriptors: int
    nbytes: int  # bytes moved
    hbm_read: int
    hbm_write: int
    hbm_stream: float  # HBM bytes as the DMA datapath counts them (narrow elements take a full lane)
    trigger_engine: str  # engine whose queue issues the DMA ("sp", "act", "pool")
    trigger_ns: float  # time the issuing engine spends on it

    @property
    def transfers(self) -> int:
        """Engine-level transfers, what the profiler counts (one per engine used)."""
        return self.engines


def _run_elems(a: Access) -> int:
    """Contiguous elements per run of one side; HBM rows that abut extend the run."""
    run = a.contiguous_elems()
    free = a.free_elems
    if a.buffer == HBM and run >= free and a.partitions > 1 and a.partition_stride == free:
        run = free * a.partitions
    return max(run, 1)


def _elems(a: Access) -> int:
    return max(a.partitions, 1) * a.free_elems


def descriptor_ns(nbytes: float, target: Target) -> float:
    """Time one engine spends on one descriptor of ``nbytes``."""
    return target.cal.dma_descriptor_ns + nbytes / target.dma_engine_rate


def efficiency(run_bytes: int, target: Target) -> float:
    """Fraction of the per-engine peak reached with descriptors of ``run_bytes`` (DMABW curve)."""
    return (run_bytes / target.dma_engine_rate) / descriptor_ns(run_bytes, target)


def trigger_cost(queue: str, dge: str, target: Target) -> tuple[str, float]:
    """(issuing engine, ns) to start a DMA: static descriptors, hardware DGE or software DGE."""
    cal = target.cal
    if dge == "swdge":
        return "pool", cal.dma_swdge_trigger_ns
    engine = queue if queue in ("sp", "act", "pool") else "sp"
    if dge == "hwdge":
        return engine, cal.dma_hwdge_trigger_ns
    return engine, cal.dma_static_trigger_cycles / target.clock_ghz(engine)


def dma_cost(ins: Instruction, target: Target) -> DmaCost:
    """Cost of one traced DMA instruction on ``target``.

    Each engine pays ``dma_transfer_ns`` for its share of the transfer, ``dma_descriptor_ns`` per
    partition row it serves (a row's access pattern is one descriptor), and streams its bytes at its
    rate; a contiguous piece shorter than a memory burst (``dma_burst_bytes``) still costs a whole
    burst, so element-strided patterns (column stores, trn1's load_transpose2d) cost a burst per
    element [E]. A descriptor per element instead priced such kernels several times over the limits
    nki-samples publishes (fused SD attention).
    """
    src, dst = ins.src[0], ins.dst[0]
    attrs = ins.attrs or {}
    elems = _elems(dst)
    itemsize = max(src.itemsize, dst.itemsize)
    nbytes = elems * itemsize
    on_chip = dst if dst.buffer != HBM else (src if src.buffer != HBM else None)
    run = min(_run_elems(src), _run_elems(dst))
    if on_chip is not None:
        run = min(run, max(on_chip.free_elems, 1))
    slowdown = 1.0
    if attrs.get("transpose"):
        eff = target.dma_transpose_efficiency
        if eff is None:
            run = 1  # legacy load_transpose2d: element by element
        else:
            slowdown = 1.0 / (eff[0] if HBM in (src.buffer, dst.buffer) else eff[1])
    pieces = max(math.ceil(elems / run), 1)  # contiguous pieces: what the profile counts as descriptors
    rows = max(on_chip.partitions, 1) if on_chip is not None else 1
    if src.indirect or dst.indirect:
        pieces = max(pieces, (on_chip or src).partitions)  # one piece per gathered row
    if on_chip is not None:
        engines = math.ceil(rows / target.dma_partitions_per_engine)
    else:  # HBM to HBM: long runs are cut into chunks the engines share [E]
        pieces = rows = max(pieces, math.ceil(nbytes / target.cal.dma_hbm_chunk_bytes))
        engines = pieces
    engines = max(1, min(target.dma_engines, engines))
    lanes = target.dma_lane_factor(itemsize)  # narrow elements occupy a whole datapath lane (trn1)
    piece_bytes = max(nbytes * lanes / pieces, target.cal.dma_burst_bytes) if nbytes else 0.0
    engine_ns = (target.cal.dma_transfer_ns + math.ceil(rows / engines) * target.cal.dma_descriptor_ns
                 + math.ceil(pieces / engines) * piece_bytes / target.dma_engine_rate) * slowdown
    hbm_read = _elems(src) * src.itemsize if src.buffer == HBM else 0
    hbm_write = nbytes if dst.buffer == HBM else 0
    trig_engine, trig_ns = trigger_cost(attrs.get("queue", "sp"), attrs.get("dge", "none"), target)
    return DmaCost(engines, engine_ns, pieces, nbytes, hbm_read, hbm_write, (hbm_read + hbm_write) * lanes,
                   trig_engine, trig_ns)


def dma_cost_key(ins: Instruction) -> tuple:
    """Everything ``dma_cost`` reads of ``ins``: DMAs with equal keys cost the same on a target."""
    s, d = ins.src[0], ins.dst[0]
    attrs = ins.attrs or {}
    return (s.buffer, d.buffer, s.itemsize, d.itemsize, s.partitions, d.partitions, s.partition_stride,
            d.partition_stride, s.pattern, d.pattern, s.indirect, d.indirect, attrs.get("transpose"),
            attrs.get("queue"), attrs.get("dge"))


def bulk_transfer_ns(nbytes: int, target: Target) -> float:
    """Aggregate DMA time of a partition-wide, fully contiguous transfer (spill save/reload)."""
    if nbytes <= 0:
        return 0.0
    per_engine = nbytes / target.dma_engines
    desc = target.sbuf_partitions / target.dma_engines
    return max(desc * target.cal.dma_descriptor_ns + per_engine / target.dma_engine_rate,
               nbytes / target.dma_peak_bytes_per_ns)
