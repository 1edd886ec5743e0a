"""Bottleneck hints in the spirit of Neuron Explorer's performance warnings
(docs/architecture.md#what-a-profile-reports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autocomp.perf.targets import Target
from autocomp.perf.workload import Workload

if TYPE_CHECKING:
    from autocomp.perf.profile import Hint, Profile

SMALL_TRANSFER = 32 * 1024  # [D] NX/PERF: aim for >= 32 KiB per engine-level DMA transfer
SMALL_DESCRIPTOR = 2048  # [D] DMABW: below 2 KiB contiguous per descriptor the DMA is overhead-bound


def _kib(n: float) -> str:
    return f"{n / 1024:.1f} KiB"


def bottleneck_hints(p: Profile, target: Target, work: Workload) -> list[Hint]:
    from autocomp.perf.profile import Hint

    hints: list[Hint] = []
    add = lambda code, msg: hints.append(Hint(code, msg))  # noqa: E731
    latency = p.latency_ns or 1.0
    path_total = sum(p.critical_breakdown.values()) or 1.0
    dma_share = p.critical_breakdown.get("dma", 0.0) / path_total

    dma_matters = p.dma_active_ns > 0.5 * latency or dma_share > 0.1
    if p.dma_transfer_count and p.dma_average_transfer_bytes < SMALL_TRANSFER and dma_matters:
        per_desc = p.dma_bytes / max(p.dma_descriptor_count, 1)
        add("small-dma", f"average DMA transfer is {_kib(p.dma_average_transfer_bytes)} per engine (target >= 32 KiB)"
            f" and {per_desc:.0f} B per contiguous descriptor"
            + (" (below 2 KiB the DMA engines are overhead-bound)" if per_desc < SMALL_DESCRIPTOR else "")
            + "; load bigger tiles with long contiguous rows on all 128 partitions")
    if dma_share > 0.5:
        add("dma-bound", f"{100 * dma_share:.0f}% of the critical path is DMA: compute engines sit idle waiting for "
            "loads/stores; reuse loaded tiles across loop iterations, hoist loads out of inner loops, and "
            "allocate tiles inside the loop so the next load overlaps this iteration's compute")
    if p.hardware_flops and p.transpose_flops > 0.1 * p.hardware_flops:
        add("transpose-flops", f"transposes are {100 * p.transpose_flops / p.hardware_flops:.0f}% of Tensor-engine "
            "FLOPs (>10%); choose layouts that avoid them or transpose once and reuse")
    pe_transposes_on_path = len(work.transposes.intersection(p.critical_path)) if work.transposes else 0
    if pe_transposes_on_path and pe_transposes_on_path > 0.1 * max(len(p.critical_path), 1):
        add("transpose-critical", f"{pe_transposes_on_path} transposes lie on the critical path")
    if work.dma_transposes:
        slow = f" (element by element on {target.name})" if target.dma_transpose_efficiency is None else ""
        add("dma-transpose", f"{work.dma_transposes} DMA transposes (load_transpose2d / dma_transpose){slow}; a plain "
            "load followed by nc_transpose on the Tensor engine is usually much faster")
    if target.pe_throttle and p.throttle_extra_ns > 0.05 * max(p.engines["pe"].active_ns, 1.0):
        add("pe-throttle", f"Tensor engine throttled for {p.throttle_extra_ns / 1e3:.1f} us extra: it slows to ~50% "
            "after idling and ramps up over ~3 us; keep matmuls back to back (prefetch their inputs)")
    _tile_hints(work, add)
    if p.spill_save_bytes:
        live = p.sbuf_peak_bytes_per_partition
        add("spill", f"SBUF live data peaks at {_kib(live)}/partition, over the {_kib(target.sbuf_usable_bytes)} "
            f"usable: about {_kib(p.spill_save_bytes)} spilled and reloaded; shrink or free tiles sooner")
        if p.hbm_read_bytes and p.spill_reload_bytes > 0.25 * p.hbm_read_bytes:
            add("spill-reload", "spill reloads exceed 25% of HBM reads")
    if p.psum_peak_bytes_per_partition > target.psum_bytes_per_partition:
        add("psum-overflow", f"PSUM tiles live at once need {_kib(p.psum_peak_bytes_per_partition)}/partition, more "
            f"than the {target.psum_banks} banks of 2 KiB; the compiler would fail to allocate them")
    if p.unknown_opcodes:
        add("unknown-opcode", "no cost formula for " + ", ".join(sorted(p.unknown_opcodes))
            + "; a conservative default was used, so the estimate is less reliable")
    if p.critical_breakdown.get("dve", 0.0) / path_total > 0.5 and p.engines["dve"].utilisation > 70:
        add("vector-bound", "the Vector engine is the bottleneck: move element-wise work with one input to the "
            "Scalar engine (activation with scale/bias), fuse two ALU ops into one tensor_scalar, prefer bf16")
    return hints


def _tile_hints(w: Workload, add) -> None:
    if w.compute >= 64 and w.small_tiles > 0.5 * w.compute:
        add("small-tiles", f"{w.small_tiles} of {w.compute} compute instructions use fewer than 128 partitions or "
            "128 elements per partition; each pays a fixed ~64-cycle minimum, so batch work into larger tiles")
    if w.matmuls and w.fp32_matmuls > 0.5 * w.matmuls:
        add("fp32-matmul", "most matmuls take fp32 inputs, which run at 1/4 of the bf16 rate; cast to bf16")
    if w.matmuls and w.thin_stationary > 0.1 * w.matmuls:
        add("moving-operand", f"{w.thin_stationary} matmuls put the large matrix in the moving operand and a thin "
            "one (<= 16 columns) in the stationary; swap them so the large matrix is stationary")
