"""Checks on a reported latency: physically possible, consistent with the trace, not suspicious.

The parent never trusts a latency just because the worker reported it: it must
be at least what the kernel's FLOPs and bytes need at the hardware's peak rates,
and the timed run must have written every output byte to HBM.
"""

from __future__ import annotations

from autocomp.evaluate.protocol import Timing


def physical_floor_us(summary: dict, target: str, output_bytes: int) -> float:
    """Fastest possible time for the work in ``summary`` (and for writing the outputs once) on ``target``."""
    from autocomp.perf import get_target

    tgt = get_target(target)
    peak_flops = max(tgt.peak_flops(d) for d in ("bfloat16", "float8_e4m3"))
    peak_bytes_per_ns = max(tgt.hbm_gbps_per_nc, tgt.dma_engines * tgt.dma_engine_peak_gbps)
    flops = float(summary.get("hardware_flops", 0.0) or 0.0)
    hbm = float(summary.get("hbm_read_bytes", 0) or 0) + float(summary.get("hbm_write_bytes", 0) or 0)
    floor_ns = max(flops / peak_flops * 1e9, max(hbm, output_bytes) / peak_bytes_per_ns)
    return floor_ns / 1e3


def timing_violation(timing: Timing, target: str, output_bytes: int | None) -> str | None:
    """Why ``timing`` cannot be real, or None."""
    floor = physical_floor_us(timing.summary, target, output_bytes or 0)
    if timing.latency_us < floor * (1 - 1e-6):
        return (f"reported latency {timing.latency_us:.3f} us is below the physical limit {floor:.3f} us for the "
                "kernel's FLOPs and bytes at peak rates; the measurement was tampered with")
    total = timing.summary.get("total_time")
    if isinstance(total, (int, float)) and total > 0 \
            and abs(total * 1e6 - timing.latency_us) > 0.01 * timing.latency_us:
        return (f"reported latency {timing.latency_us:.3f} us disagrees with the profile's total_time "
                f"{total * 1e6:.3f} us")
    facts = timing.facts
    if facts is not None and output_bytes and facts.hbm_write_bytes < output_bytes:
        return (f"the timed run writes {facts.hbm_write_bytes} bytes to HBM but the outputs hold {output_bytes} bytes; "
                "the timed trace does not produce the whole output")
    return None


def speedup_flags(speedup: float | None, review: float, timing: Timing, baseline_flops: float | None) -> list[str]:
    from autocomp.evaluate.result import FLAG_FEWER_FLOPS, FLAG_NOISY_TIMING, FLAG_SPEEDUP_REVIEW

    flags = []
    if speedup is not None and speedup > review:
        flags.append(FLAG_SPEEDUP_REVIEW)
    if timing.spread is not None and timing.spread > 0.01:
        flags.append(FLAG_NOISY_TIMING)
    flops = timing.summary.get("model_flops")
    if baseline_flops and isinstance(flops, (int, float)) and flops < 0.5 * baseline_flops:
        flags.append(FLAG_FEWER_FLOPS)
    return flags
