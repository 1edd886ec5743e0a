"""DMA transfer costs (NKI_SPEC §4.3 DMA, §4.4).

A DMA instruction is split across the core's 16 DMA engines by SBUF partition (each
engine serves 8 partitions, so P partitions use ceil(P/8) engines). Each engine moves a
list of descriptors; a descriptor is a run that is contiguous in both source and
destination. An engine pays a fixed cost per descriptor plus bytes / per-engine rate,
so small runs come out overhead-bound. The ~1.3 us semaphore-to-data latency is not
engine time: the scheduler pipelines it across outstanding transfers.
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
    """Cost of one traced DMA instruction on ``target``."""
    src, dst = ins.src[0], ins.dst[0]
    attrs = ins.attrs or {}
    elems = _elems(dst)
    itemsize = max(src.itemsize, dst.itemsize)
    nbytes = elems * itemsize
    on_chip = dst if dst.buffer != HBM else (src if src.buffer != HBM else None)
    run = min(_run_elems(src), _run_elems(dst))
    if on_chip is not None:
        run = min(run, max(on_chip.free_elems, 1))
    descriptors = math.ceil(elems / run)
    if src.indirect or dst.indirect:
        descriptors = max(descriptors, (on_chip or src).partitions)  # one descriptor per gathered row
    slowdown = 1.0
    if attrs.get("transpose"):
        eff = target.dma_transpose_efficiency
        if eff is None:
            descriptors = elems  # legacy load_transpose2d: element-wise descriptors [E]
        else:
            slowdown = 1.0 / (eff[0] if HBM in (src.buffer, dst.buffer) else eff[1])
    if on_chip is not None:
        engines = math.ceil(max(on_chip.partitions, 1) / target.dma_partitions_per_engine)
    else:  # HBM to HBM: long runs are cut into chunks the engines share [E]
        descriptors = max(descriptors, math.ceil(nbytes / target.cal.dma_hbm_chunk_bytes))
        engines = descriptors
    engines = max(1, min(target.dma_engines, engines))
    per_engine_desc = math.ceil(descriptors / engines)
    engine_ns = (per_engine_desc * target.cal.dma_descriptor_ns
                 + nbytes / engines / target.dma_engine_rate) * slowdown
    hbm_read = _elems(src) * src.itemsize if src.buffer == HBM else 0
    hbm_write = nbytes if dst.buffer == HBM else 0
    trig_engine, trig_ns = trigger_cost(attrs.get("queue", "sp"), attrs.get("dge", "none"), target)
    return DmaCost(engines, engine_ns, descriptors, nbytes, hbm_read, hbm_write, trig_engine, trig_ns)


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
