"""The cost facts the architecture notes (``prompts/architecture/<target>.md``) quote, taken from the cost model.

The notes are ``string.Template`` text whose numbers are ``${name}`` placeholders filled from here, so
what the LLM is told about clocks, cycle counts and bandwidths is what ``autocomp.perf`` charges (see
docs/cost-model.md). Target fields give most values; speed-ups that live only in the cost formulas
(Vector performance modes, fast 16-bit Scalar copies, MX matmul) are measured by pricing one
instruction through ``autocomp.perf.costs`` rather than restated.
"""

from __future__ import annotations

from autocomp.nki.trace import SBUF, Access, Instruction
from autocomp.perf import costs
from autocomp.perf.targets import KIB, Target, get_target

MIB = 1024 * KIB
_PROBE_ELEMS = 512  # large enough that no minimum or tiny-instruction overhead applies


def _access(dtype: str, itemsize: int, strided: bool) -> Access:
    stride = 2 if strided else 1
    return Access(0, SBUF, dtype, itemsize, 0, 128, 0, ((stride, _PROBE_ELEMS),))


def _cycles(target: Target, engine: str, opcode: str, dtype: str, *, inputs: int = 1, strided: bool = False,
            attrs: dict | None = None) -> float:
    """Busy cycles of one ``opcode`` over ``_PROBE_ELEMS`` elements of SBUF data on ``engine``."""
    itemsize = 4 if dtype == "float32" else 2
    srcs = [_access(dtype, itemsize, strided) for _ in range(inputs)]
    ins = Instruction(0, opcode, engine, "", [_access(dtype, itemsize, strided)], srcs, 128, _PROBE_ELEMS,
                      attrs or {}, 0, 0, -1, 0)
    return costs.engine_cycles(ins, target)[0]


def _speedup(target: Target, engine: str, opcode: str, dtype: str, **kw) -> float:
    """How much faster ``opcode`` on ``dtype`` runs than the same instruction on fp32 (1 = no fast mode)."""
    return _cycles(target, engine, opcode, "float32", **kw) / _cycles(target, engine, opcode, dtype, **kw)


def _mx_flops_factor() -> float:
    """FLOPs one MX matmul does per FLOP of an ordinary one of the same shape, as the cost model counts them."""
    def flops(mode):
        ins = Instruction(0, "MATMUL", "pe", "", [], [], 128, 128, {"perf_mode": mode}, 0, 0, -1, 0)
        return costs.instruction_flops(ins)[0]
    return flops("mx") / flops(None)


def _num(x: float, digits: int = 3) -> str:
    return f"{float(f'{x:.{digits}g}'):g}"


def arch_facts(target: str | Target) -> dict[str, str]:
    """Every value an architecture note may quote, as the text it shows (``${name}`` -> value)."""
    t = get_target(target)
    cal = t.cal
    tera = 1e12
    bf16_flops = t.peak_flops("bfloat16")
    return {
        # Clocks (GHz).
        "pe_ghz": _num(t.pe_ghz), "dve_ghz": _num(t.dve_ghz), "act_ghz": _num(t.act_ghz),
        "pool_ghz": _num(t.pool_ghz),
        # Tensor engine.
        "pe_rows": str(t.pe_rows), "pe_cols": str(t.pe_cols),
        "pe_tflops_bf16": f"{bf16_flops / tera:.0f}",
        "pe_tflops_fp8": f"{t.peak_flops('float8_e4m3') / tera:.0f}",
        "pe_tflops_fp32": f"{t.peak_flops('float32') / tera:.0f}",
        "pe_tflops_mx": f"{bf16_flops * _mx_flops_factor() / tera:.0f}",
        "mm_init_cycles": str(t.mm_init_cycles),
        "fp32_matmul_factor": str(t.fp32_matmul_factor),
        "fp32_transpose_factor": str(t.fp32_transpose_factor),
        "double_row_k": str(2 * t.pe_rows),
        "pe_throttle_start_pct": f"{100 * cal.pe_throttle_start:.0f}",
        "pe_throttle_window_us": _num(cal.pe_throttle_window_ns / 1e3),
        # Vector / Scalar / GpSimd.
        "min_ii_cycles": str(t.min_ii_cycles),
        "small_n": str(cal.small_n),
        "static_overhead_cycles": str(t.static_overhead_cycles),
        "dependent_tiny_cycles": str(t.min_ii_cycles + t.static_overhead_cycles + cal.result_latency_cycles["dve"]),
        "act_reduce_cycles": str(t.act_read_accumulator_cycles),
        "pool_startup_cycles": str(t.pool_startup_cycles),
        "pool_generic_startup_cycles": str(cal.pool_generic_startup_cycles),
        "dve_copy_fast": _num(_speedup(t, "dve", "TENSOR_COPY", "bfloat16")),
        "dve_copy_strided": _num(_speedup(t, "dve", "TENSOR_COPY", "bfloat16", strided=True)),
        "dve_tt_fast": _num(_speedup(t, "dve", "TENSOR_TENSOR", "bfloat16", inputs=2,
                                     attrs={"op": "maximum"})),
        "act_copy_fast": _num(_speedup(t, "act", "TENSOR_COPY", "bfloat16")),
        # Memories.
        "sbuf_mib": _num(t.sbuf_partitions * t.sbuf_bytes_per_partition / MIB),
        "sbuf_kib": _num(t.sbuf_bytes_per_partition / KIB),
        "sbuf_usable_kib": _num(t.sbuf_usable_bytes / KIB),
        "psum_mib": _num(t.sbuf_partitions * t.psum_bytes_per_partition / MIB),
        "psum_banks": str(t.psum_banks),
        "psum_bank_kib": _num(t.psum_bank_bytes / KIB),
        "psum_bank_fp32": str(t.psum_bank_bytes // 4),
        "psum_bank_bf16": str(t.psum_bank_bytes // 2),
        # HBM and DMA: the per-core rates are what the roofline divides by (autocomp/perf/profile.py _hbm_ns).
        "hbm_gbps_per_nc": _num(t.hbm_gbps_per_nc),
        "hbm_gbps_per_core_fp32": _num(t.dma_peak_for(4)),
        "hbm_gbps_per_core_bf16": _num(t.dma_peak_for(2)),
        "dma_engines": str(t.dma_engines),
        "dma_partitions_per_engine": str(t.dma_partitions_per_engine),
        "dma_engine_bytes_per_ns": _num(t.dma_engine_rate),
        "dma_lane_bytes": str(cal.dma_lane_bytes or 1),
        "dma_fixed_latency_us": _num(cal.dma_fixed_latency_ns / 1e3),
        "dma_transfer_ns": _num(cal.dma_transfer_ns),
        "dma_descriptor_ns": _num(cal.dma_descriptor_ns),
        # A row this long spends as long on its descriptor as on its bytes: half the engine's peak.
        "dma_half_rate_bytes": f"{cal.dma_descriptor_ns * t.dma_engine_rate:.0f}",
        "dma_burst_bytes": str(cal.dma_burst_bytes),
        "dma_hwdge_trigger_us": _num(cal.dma_hwdge_trigger_ns / 1e3),
        "dma_transpose_hbm_pct": (f"{100 * t.dma_transpose_efficiency[0]:.0f}"
                                  if t.dma_transpose_efficiency else "n/a"),
    }
