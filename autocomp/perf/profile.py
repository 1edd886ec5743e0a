"""Profile: what the cost model says about one traced kernel (docs/architecture.md#what-a-profile-reports)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from autocomp.nki.runtime import cyclic_gc_paused
from autocomp.nki.trace import PSUM, SBUF, Trace
from autocomp.perf.engines import ENGINE_NAMES
from autocomp.perf.scheduler import REASONS, Schedule, critical_path, merged_length, schedule
from autocomp.perf.targets import Target, get_target
from autocomp.perf.uncertainty import UNMEASURED, Band, band_for, estimate_class
from autocomp.perf.workload import essential_hbm_bytes


@dataclass
class EngineStats:
    """One engine: time running at least one instruction (waits excluded), and how many it ran."""

    active_ns: float = 0.0
    instruction_count: int = 0
    utilisation: float = 0.0  # percent of the kernel latency


@dataclass
class Roofline:
    """Lower bounds on latency (ns).

    The *ideal* bound (``bound_ns``, ``bound_by``, ``percent``) counts only the work any
    correct kernel must do: the useful matmul FLOPs at Tensor-engine peak and every HBM
    input and output moved once at peak bandwidth. It is what "% of roofline" means
    and what no candidate can beat. The *as-written* bounds (``pe_ns`` ... ``hbm_ns``,
    ``work_bound_*``) use the kernel's own instructions and traffic, so redundant
    re-loads or extra passes show up as the gap between the two.
    """

    pe_ns: float = 0.0  # hardware FLOPs (incl. transposes) at TensorE peak
    vector_ns: float = 0.0  # Vector engine busy time as scheduled
    scalar_ns: float = 0.0
    gpsimd_ns: float = 0.0
    hbm_ns: float = 0.0  # the kernel's HBM traffic at the core's DMA/HBM peak
    ideal_pe_ns: float = 0.0  # useful (model) FLOPs at TensorE peak
    ideal_hbm_ns: float = 0.0  # each HBM input read once and each output written once
    bound_ns: float = 0.0
    bound_by: str = ""
    percent: float = 0.0  # ideal bound / latency
    work_bound_ns: float = 0.0
    work_bound_by: str = ""
    work_percent: float = 0.0


@dataclass
class Hint:
    code: str
    message: str


@dataclass
class Profile:
    """Latency estimate plus the evidence behind it. Times in ns unless a name says otherwise."""

    kernel: str
    target: str
    latency_ns: float
    makespan_ns: float
    launch_overhead_ns: float
    engines: dict[str, EngineStats]
    dma_active_ns: float
    dma_instruction_count: int
    dma_transfer_count: int
    dma_bytes: int
    dma_descriptor_count: int
    hbm_read_bytes: int
    hbm_write_bytes: int
    sbuf_read_bytes: int
    sbuf_write_bytes: int
    psum_read_bytes: int
    psum_write_bytes: int
    sbuf_peak_bytes_per_partition: int
    psum_peak_bytes_per_partition: int
    spill_save_bytes: int
    spill_reload_bytes: int
    spill_dma_ns: float  # DMA time the spill saves and reloads take
    matmul_count: int
    model_flops: float
    hardware_flops: float
    transpose_flops: float
    mfu: float  # percent
    hfu: float
    mbu: float
    roofline: Roofline
    critical_path: list[int]  # instruction positions (== Instruction.seq), first to last
    critical_breakdown: dict[str, float]  # engine (or "waiting") -> ns along the critical path
    estimate_class: str = ""  # what dominates the estimate (autocomp.perf.uncertainty.CLASSES)
    latency_low_ns: float = 0.0  # 90% interval of the measured latency, from the model's measured error
    latency_high_ns: float = 0.0
    uncertainty: Band = UNMEASURED  # the error band the interval comes from
    calibration: str = ""  # calibration file applied ("" = the built-in numbers)
    repeated_instances: int = 0  # identical SPMD instances charged once
    recomputed_instructions: int = 0  # instructions repeating an intact earlier result, charged once
    load_stationary_count: int = 0
    stationary_reused_count: int = 0
    throttle_extra_ns: float = 0.0
    unknown_opcodes: dict[str, int] = field(default_factory=dict)
    hints: list[Hint] = field(default_factory=list)
    start_ns: list[float] = field(default_factory=list, repr=False)
    end_ns: list[float] = field(default_factory=list, repr=False)
    issue_ns: list[float] = field(default_factory=list, repr=False)
    stall_pred: list[int] = field(default_factory=list, repr=False)
    stall_reason: list[int] = field(default_factory=list, repr=False)
    trace: Trace | None = field(default=None, repr=False)

    @property
    def latency_us(self) -> float:
        return self.latency_ns / 1e3

    @property
    def latency_low_us(self) -> float:
        return self.latency_low_ns / 1e3

    @property
    def latency_high_us(self) -> float:
        return self.latency_high_ns / 1e3

    @property
    def dma_average_transfer_bytes(self) -> float:
        return self.dma_bytes / self.dma_transfer_count if self.dma_transfer_count else 0.0

    def summary(self) -> dict:
        """neuron-profile ``view --output-format summary-json`` shape: ``{profile_id: {...}}``.

        As in the real tool, times are in seconds and ``*_percent`` fields are fractions
        of 1 (0.42 means 42%).
        """
        from autocomp.perf.report import summary_dict

        return summary_dict(self)

    def describe(self) -> str:
        """A readable multi-line report: latency, engines, memory, roofline, critical path, hints."""
        from autocomp.perf.report import describe

        return describe(self)

    def timeline_html(self) -> str:
        """A self-contained HTML Gantt chart of the schedule (inline SVG, no network)."""
        from autocomp.perf.timeline import timeline_html

        return timeline_html(self)

    def instruction_table(self, limit: int | None = None) -> list[dict]:
        """Per-instruction records with Neuron Explorer's Instruction-table field names."""
        from autocomp.perf.report import instruction_table

        return instruction_table(self, limit)


def _critical_breakdown(sched: Schedule, trace: Trace, path: list[int], makespan: float) -> dict[str, float]:
    out: dict[str, float] = {}
    instrs, start, end = trace.instructions, sched.start, sched.end
    for pos in path:
        ins = instrs[pos]
        engine = "dma" if ins.opcode == "DMA" else ins.engine
        out[engine] = out.get(engine, 0) + (end[pos] - start[pos])
    busy = sum(out.values())
    out["waiting"] = max(0.0, makespan - busy)
    return out


def _hbm_ns(nbytes: float, stream_bytes: float, tgt: Target) -> float:
    """Time to move ``nbytes`` of HBM traffic (``stream_bytes`` as the DMA datapath counts them) at the
    core's peak: the 16 DMA engines' rate, capped by the core's HBM bandwidth."""
    return max(stream_bytes / (tgt.dma_engines * tgt.dma_engine_rate), nbytes / tgt.hbm_gbps_per_nc)


def profile(trace: Trace, target: str | Target | None = None, calibration=None) -> Profile:
    """Estimate latency and utilisation of ``trace`` on ``target`` (default: the trace's own).

    ``calibration``: a calibration file (path or ``autocomp.perf.calibration.CalibrationFile``)
    whose parameters and error bands replace the built-in ones for that target.
    """
    from autocomp.perf.calibration import resolve

    cal = resolve(calibration)
    with cyclic_gc_paused():
        return _profile(trace, target, cal)


def _profile(trace: Trace, target: str | Target | None, cal=None) -> Profile:
    tgt = get_target(target if target is not None else trace.target)
    bands = tgt.error_bands
    if cal is not None:
        tgt = cal.apply(tgt)
        bands = cal.bands_or_default()
    sched = schedule(trace, tgt)
    makespan = sched.makespan_ns
    latency = makespan + tgt.cal.launch_overhead_ns
    engines = {}
    for code in ENGINE_NAMES:
        active = sched.busy_ns.get(code, 0.0)
        engines[code] = EngineStats(active, sched.count.get(code, 0), 100.0 * active / latency if latency else 0.0)
    work = sched.workload
    model, hardware = work.model_flops, work.hardware_flops
    secs = latency * 1e-9
    peak = tgt.peak_flops("bfloat16")
    hbm_bytes = sched.hbm_read + sched.hbm_write
    operand = work.traffic
    live = sched.liveness
    roof = Roofline(
        pe_ns=hardware / peak * 1e9 if peak else 0.0,
        vector_ns=engines["dve"].active_ns, scalar_ns=engines["act"].active_ns,
        gpsimd_ns=engines["pool"].active_ns, hbm_ns=_hbm_ns(hbm_bytes, sched.hbm_stream, tgt),
        ideal_pe_ns=model / peak * 1e9 if peak else 0.0,
        ideal_hbm_ns=_hbm_ns(essential_hbm_bytes(trace, work), essential_hbm_bytes(trace, work, tgt.dma_lane_factor),
                             tgt))
    as_written = {"tensor": roof.pe_ns, "vector": roof.vector_ns, "scalar": roof.scalar_ns,
                  "gpsimd": roof.gpsimd_ns, "hbm": roof.hbm_ns}
    roof.work_bound_by = max(as_written, key=as_written.get)
    roof.work_bound_ns = as_written[roof.work_bound_by]
    roof.work_percent = 100.0 * roof.work_bound_ns / latency if latency else 0.0
    ideal = {"tensor": roof.ideal_pe_ns, "hbm": roof.ideal_hbm_ns}
    roof.bound_by = max(ideal, key=ideal.get)
    roof.bound_ns = ideal[roof.bound_by]
    roof.percent = 100.0 * roof.bound_ns / latency if latency else 0.0
    path = critical_path(sched)
    prof = Profile(
        kernel=trace.kernel, target=tgt.name, latency_ns=latency, makespan_ns=makespan,
        launch_overhead_ns=tgt.cal.launch_overhead_ns, engines=engines,
        dma_active_ns=merged_length(sched.dma_intervals), dma_instruction_count=sched.dma_instructions,
        dma_transfer_count=sched.dma_transfers, dma_bytes=sched.dma_bytes,
        dma_descriptor_count=sched.dma_descriptors, hbm_read_bytes=sched.hbm_read,
        hbm_write_bytes=sched.hbm_write,
        sbuf_read_bytes=operand.get((SBUF, "read"), 0), sbuf_write_bytes=operand.get((SBUF, "write"), 0),
        psum_read_bytes=operand.get((PSUM, "read"), 0), psum_write_bytes=operand.get((PSUM, "write"), 0),
        sbuf_peak_bytes_per_partition=live.sbuf_peak if live else 0,
        psum_peak_bytes_per_partition=live.psum_peak if live else 0,
        spill_save_bytes=live.spill_bytes if live else 0, spill_reload_bytes=live.spill_bytes if live else 0,
        spill_dma_ns=sched.spill_ns,
        matmul_count=work.matmul_count, model_flops=model, hardware_flops=hardware,
        transpose_flops=work.transpose_flops,
        mfu=100.0 * model / (secs * peak) if secs and peak else 0.0,
        hfu=100.0 * hardware / (secs * peak) if secs and peak else 0.0,
        mbu=100.0 * hbm_bytes / (secs * tgt.hbm_gbps_per_nc * 1e9) if secs else 0.0,
        roofline=roof, critical_path=path, critical_breakdown=_critical_breakdown(sched, trace, path, makespan),
        load_stationary_count=sched.load_stationary, stationary_reused_count=sched.stationary_reused,
        throttle_extra_ns=sched.throttle_extra_ns, unknown_opcodes=dict(sched.unknown),
        start_ns=sched.start, end_ns=sched.end, issue_ns=sched.issue, stall_pred=sched.pred,
        stall_reason=sched.reason, trace=trace)
    prof.estimate_class = estimate_class(prof.critical_breakdown, latency, tgt.cal.launch_overhead_ns)
    prof.uncertainty = band_for(prof.estimate_class, bands)
    prof.latency_low_ns, prof.latency_high_ns = prof.uncertainty.interval(latency)
    prof.calibration = cal.path if cal is not None else ""
    prof.repeated_instances = sched.repeated_instances
    prof.recomputed_instructions = sched.recomputed
    from autocomp.perf.hints import bottleneck_hints

    prof.hints = bottleneck_hints(prof, tgt, work)
    return prof


def profile_id(prof: Profile) -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", prof.kernel or "kernel").strip("_") or "kernel"
    return f"autocomp_{name}_{prof.target}"


__all__ = ["ENGINE_NAMES", "REASONS", "EngineStats", "Hint", "Profile", "Roofline", "profile", "profile_id"]
