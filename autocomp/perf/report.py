"""Renderings of a Profile: neuron-profile summary JSON, readable text, instruction table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autocomp.perf.scheduler import REASONS
from autocomp.units import latency

if TYPE_CHECKING:
    from autocomp.perf.profile import Profile


def _frac(x_percent: float) -> float:
    return x_percent / 100.0


def summary_dict(p: Profile) -> dict:
    """``{profile_id: {...}}`` with neuron-profile / Neuron Explorer summary field names [D] NX."""
    from autocomp.perf.lines import summary_records
    from autocomp.perf.profile import ENGINE_NAMES, profile_id

    total = p.latency_ns * 1e-9
    s: dict = {
        "total_time": total,
        "total_active_time": p.makespan_ns * 1e-9,
        "total_active_time_percent": p.makespan_ns / p.latency_ns if p.latency_ns else 0.0,
    }
    for code, name in ENGINE_NAMES.items():
        e = p.engines[code]
        s[f"{name}_engine_active_time"] = e.active_ns * 1e-9
        s[f"{name}_engine_active_time_percent"] = _frac(e.utilisation)
        s[f"{name}_engine_instruction_count"] = e.instruction_count
        s[f"{name}_engine_instruction_time"] = e.active_ns * 1e-9  # one instruction at a time per engine
    hbm = p.hbm_read_bytes + p.hbm_write_bytes
    s.update({
        "dma_active_time": p.dma_active_ns * 1e-9,
        "dma_active_time_percent": p.dma_active_ns / p.latency_ns if p.latency_ns else 0.0,
        "matmul_instruction_count": p.matmul_count,
        "model_flops": p.model_flops,
        "hardware_flops": p.hardware_flops,
        "transpose_flops": p.transpose_flops,
        "hfu_estimated_percent": _frac(p.hfu),
        "mfu_estimated_percent": _frac(p.mfu),
        "mbu_estimated_percent": _frac(p.mbu),
        "mm_arithmetic_intensity": p.hardware_flops / hbm if hbm else 0.0,
        "peak_flops_bandwidth_ratio": _peak_ratio(p),
        "dma_transfer_count": p.dma_transfer_count,
        "dma_transfer_total_bytes": p.dma_bytes,
        "dma_transfer_average_bytes": p.dma_average_transfer_bytes,
        "hbm_read_bytes": p.hbm_read_bytes,
        "hbm_write_bytes": p.hbm_write_bytes,
        "sbuf_read_bytes": p.sbuf_read_bytes,
        "sbuf_write_bytes": p.sbuf_write_bytes,
        "psum_read_bytes": p.psum_read_bytes,
        "psum_write_bytes": p.psum_write_bytes,
        "spill_save_bytes": p.spill_save_bytes,
        "spill_reload_bytes": p.spill_reload_bytes,
        "useful_read_percent": (p.hbm_read_bytes - p.spill_reload_bytes) / p.hbm_read_bytes
        if p.hbm_read_bytes else 1.0,
        # autocomp additions (not in neuron-profile):
        "sbuf_peak_bytes_per_partition": p.sbuf_peak_bytes_per_partition,
        "psum_peak_bytes_per_partition": p.psum_peak_bytes_per_partition,
        "dma_instruction_count": p.dma_instruction_count,
        "dma_descriptor_count": p.dma_descriptor_count,
        "roofline_time": p.roofline.bound_ns * 1e-9,
        "roofline_bound": p.roofline.bound_by,
        "roofline_percent": _frac(p.roofline.percent),
        "work_roofline_time": p.roofline.work_bound_ns * 1e-9,
        "work_roofline_bound": p.roofline.work_bound_by,
        "work_roofline_percent": _frac(p.roofline.work_percent),
        "unknown_opcode_count": sum(p.unknown_opcodes.values()),
        # the error bar (autocomp.perf.uncertainty): 90% interval of the measured latency
        "total_time_low": p.latency_low_ns * 1e-9,
        "total_time_high": p.latency_high_ns * 1e-9,
        "estimate_class": p.estimate_class,
        "uncertainty": p.uncertainty.to_dict(),
        "calibration": p.calibration,
        **summary_records(p),
        "target": p.target,
        "estimator": "autocomp.perf",
        "evidence": "sim",
    })
    return {profile_id(p): s}


def _peak_ratio(p: Profile) -> float:
    from autocomp.perf.targets import get_target

    t = get_target(p.target)
    return t.peak_flops("bfloat16") / (t.hbm_gbps_per_nc * 1e9)


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GiB"


def _fmt_ns(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.3f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:,.2f} µs"
    return f"{ns:.0f} ns"


def describe(p: Profile) -> str:
    from autocomp.perf.profile import ENGINE_NAMES

    lines = [f"{p.kernel or 'kernel'} on {p.target}: {latency(p.latency_us)} estimated "
             f"({_fmt_ns(p.makespan_ns)} schedule + {_fmt_ns(p.launch_overhead_ns)} launch overhead)",
             interval_line(p)]
    if p.repeated_instances:
        lines.append(f"  {p.repeated_instances} SPMD instances repeat the first one's work exactly: charged once")
    if p.recomputed_instructions:
        lines.append(f"  {p.recomputed_instructions} instructions recompute a value the kernel already holds "
                     "(same inputs, unchanged): the compiler computes it once, so they cost no engine time")
    lines += ["", "Engines (active time, share of latency, instructions):"]
    for code, name in ENGINE_NAMES.items():
        e = p.engines[code]
        if e.instruction_count:
            lines.append(f"  {name:<7} {_fmt_ns(e.active_ns):>12}  {e.utilisation:5.1f}%  {e.instruction_count}")
    lines.append(f"  {'dma':<7} {_fmt_ns(p.dma_active_ns):>12}  "
                 f"{100 * p.dma_active_ns / p.latency_ns if p.latency_ns else 0:5.1f}%  "
                 f"{p.dma_instruction_count} DMAs, {p.dma_transfer_count} engine transfers, "
                 f"avg {_fmt_bytes(p.dma_average_transfer_bytes)}, {p.dma_descriptor_count} descriptors")
    lines += ["", "Memory:",
              f"  HBM read {_fmt_bytes(p.hbm_read_bytes)}, write {_fmt_bytes(p.hbm_write_bytes)}; "
              f"MBU {p.mbu:.1f}%",
              f"  SBUF peak {_fmt_bytes(p.sbuf_peak_bytes_per_partition)}/partition, PSUM peak "
              f"{_fmt_bytes(p.psum_peak_bytes_per_partition)}/partition, spills {_fmt_bytes(p.spill_save_bytes)}"
              + (f" ({_fmt_ns(p.spill_dma_ns)} of DMA to save and reload)" if p.spill_save_bytes else "")]
    if p.hardware_flops:
        lines += ["", f"Compute: {p.matmul_count} matmuls, {p.model_flops / 1e9:.2f} GFLOP useful, "
                      f"{p.transpose_flops / 1e9:.2f} GFLOP transposes; MFU {p.mfu:.1f}%, HFU {p.hfu:.1f}%; "
                      f"LoadStationary {p.load_stationary_count} loaded / {p.stationary_reused_count} reused"]
    r = p.roofline
    lines += ["", f"Roofline (essential work): bound by {r.bound_by} at {_fmt_ns(r.bound_ns)} = {r.percent:.1f}% of "
                  f"the estimate (useful matmul {_fmt_ns(r.ideal_pe_ns)}, "
                  f"inputs+outputs once {_fmt_ns(r.ideal_hbm_ns)})",
              f"As written: bound by {r.work_bound_by} at {_fmt_ns(r.work_bound_ns)} = {r.work_percent:.1f}% "
              f"(tensor {_fmt_ns(r.pe_ns)}, vector {_fmt_ns(r.vector_ns)}, scalar {_fmt_ns(r.scalar_ns)}, "
              f"gpsimd {_fmt_ns(r.gpsimd_ns)}, hbm traffic {_fmt_ns(r.hbm_ns)})"]
    lines += ["", f"Critical path: {len(p.critical_path)} instructions; " + ", ".join(
        f"{k} {_fmt_ns(v)}" for k, v in sorted(p.critical_breakdown.items(), key=lambda kv: -kv[1]) if v > 0)]
    lines += describe_lines(p)
    if p.unknown_opcodes:
        lines += ["", "No cost formula (default used): " + ", ".join(f"{k} x{v}" for k, v in p.unknown_opcodes.items())]
    if p.hints:
        lines += ["", "Hints:"] + [f"  - [{h.code}] {h.message}" for h in p.hints]
    return "\n".join(lines)


def interval_line(p: Profile) -> str:
    """One line with the estimate's 90% interval and what it rests on."""
    band = p.uncertainty
    basis = (f"the model's error on {band.n} measured {p.estimate_class}-bound kernels" if band.n
             else f"no measurements of {p.estimate_class}-bound kernels on {p.target}: about 2x either way")
    cal = f"; calibration {p.calibration}" if p.calibration else ""
    return (f"  likely {p.latency_low_us:,.2f} - {p.latency_high_us:,.2f} µs on hardware (90%; {basis}{cal})")


def describe_lines(p: Profile, limit: int = 8) -> list[str]:
    """Per source line: critical-path time and share, then engine time; then the engine waits (perf/lines.py)."""
    from autocomp.perf.lines import engine_waits, line_costs

    out = []
    for c in line_costs(p)[:limit]:
        share = 100 * c.critical_ns / p.makespan_ns if p.makespan_ns else 0.0
        engines = ", ".join(f"{k} {_fmt_ns(v)}" for k, v in sorted(c.engine_ns.items(), key=lambda kv: -kv[1]))
        out.append(f"  {c.location}: {_fmt_ns(c.critical_ns)} on the critical path ({share:.1f}%, "
                   f"{c.critical_instructions} of its {c.instructions} instructions); engine time {engines}")
    waits = engine_waits(p)
    if waits:
        out += ["", "Engine waits (idle before an instruction, by what it waited for):"]
        out += [f"  {w.engine} waited on {w.waited_on}: {_fmt_ns(w.ns)} ({w.count} times)" for w in waits[:8]]
    return out


def instruction_table(p: Profile, limit: int | None = None, positions: list[int] | None = None) -> list[dict]:
    trace = p.trace
    if trace is None:
        return []
    if positions is None:
        positions = range(min(limit, len(trace.instructions)) if limit else len(trace.instructions))
    rows = []
    for pos in positions:
        ins = trace.instructions[pos]
        pred = p.stall_pred[pos]
        rows.append({
            "seq": ins.seq, "start_ts": p.start_ns[pos], "end_ts": p.end_ns[pos],
            "duration_ns": p.end_ns[pos] - p.start_ns[pos], "engine": ins.engine, "opcode": ins.opcode,
            "api": ins.api, "operands": [a.to_dict() for a in ins.dst + ins.src],
            "nki_source_location": trace.location(ins), "issue_ts": p.issue_ns[pos],
            "stall_reason": REASONS[p.stall_reason[pos]], "waited_on": trace.instructions[pred].seq
            if pred >= 0 else None,
        })
    return rows
