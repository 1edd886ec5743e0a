"""What one hardware target is, as a type: the fields every target record fills in.

``Target`` holds documented numbers, each citing its source key ("[D] ARCH1"; the keys and
their documents are listed in docs/cost-model.md), the capability flags the simulator and the
cost model ask instead of comparing target names, the tile limits ``nl.tile_size`` exposes, and
the target's ``Calibration`` (every estimate, [E]) and measured error ``Band`` per estimate class.
The values live in one data module per target (``autocomp/targets/trn1.py``, ...). Cycle counts
are in cycles of the engine that runs the instruction.

This module imports nothing from the rest of autocomp: it is the bottom layer.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

KIB = 1024
Z90 = 1.645  # error bands are two-sided 90% intervals: 5% of measurements below, 5% above


@dataclass(frozen=True)
class Band:
    """Measured error of the cost model for one estimate class: ln(measured / model) statistics."""

    n: int  # measurements behind the numbers
    log_bias: float  # mean ln(measured / model): below 0, the model is slow for this class
    log_sigma: float  # its standard deviation: the absolute error of one estimate
    pair_sigma: float  # std of the difference of two errors within one chain: the error of a ratio
    source: str = ""

    def interval(self, latency_ns: float, z: float = Z90) -> tuple[float, float]:
        """(low, high) ns between which the measured latency falls with the band's confidence."""
        return (latency_ns * math.exp(self.log_bias - z * self.log_sigma),
                latency_ns * math.exp(self.log_bias + z * self.log_sigma))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Calibration:
    """Parameters that are not documented ([E]); each target's record sets its own values.

    Defaults are the cost model's starting points (docs/cost-model.md); ``autocomp calibrate``
    writes a file that overrides them (``autocomp.perf.calibration``).
    """

    # Result visible to a dependent instruction this many engine cycles after the instruction
    # ends. DVE/ACT: 64 (MIN_II) + 100 (ARCH1 static overhead) + 100 = the measured 264-cycle
    # spacing of dependent one-element instructions [M] PERF.
    result_latency_cycles: dict[str, int] = field(
        default_factory=lambda: {"pe": 64, "dve": 100, "act": 100, "pool": 150, "sp": 0})
    semaphore_ns: float = 50.0  # cross-engine semaphore wake-up
    small_n: int = 32  # "N << 128": instructions this small pay ARCH1's 100-cycle static overhead
    pool_generic_startup_cycles: int = 150  # GpSimd ops without a documented formula: 150 + DVE rule
    register_op_cycles: int = 16  # sequencer register instructions (no data path)
    unknown_opcode_cycles: int = 512  # conservative default for opcodes without a formula
    sp_ghz: float = 1.4  # Sync-engine sequencer clock, taken as the Scalar engine's
    sbuf_reserved_bytes: int = 16 * KIB  # per partition, kept by the compiler ([D] ALLOC1 for trn1)
    hbm_gbps_per_nc: float = 410.0  # HBM bandwidth one NeuronCore can draw
    hbm_gbps_per_stack: float = 410.0  # shared by the cores on one HBM stack (LNC=2)
    dma_descriptor_ns: float = 24.0  # per contiguous chunk on one DMA engine (reproduces DMABW's curve)
    # Engine time each DMA engine spends per transfer it takes part in: ARCH1 names an overhead at the
    # transfer level besides the per-buffer one, amortised by >= 32 KiB per transfer [D] PERF Opt #9;
    # 100 ns is ~5% of a 32 KiB transfer at 17 B/ns [E].
    dma_transfer_ns: float = 100.0
    dma_engine_bytes_per_ns: float | None = None  # effective per-engine rate; None = the documented one
    # Width of one element in the DMA datapath: elements narrower than this move at the rate of this
    # many bytes each (None: bytes move at the engine rate whatever the dtype). See trn1's record.
    dma_lane_bytes: int | None = None
    dma_hbm_chunk_bytes: int = 64 * KIB  # largest piece of an HBM-to-HBM copy one descriptor moves
    dma_burst_bytes: int = 64  # smallest access a DMA engine makes: what one element of a strided pattern costs
    dma_transpose_efficiency: tuple[float, float] | None = None  # vs copy; None = documented / element-wise
    dma_fixed_latency_ns: float = 1300.0  # semaphore to first data [D] DMABW; pipelining is [E]
    dma_static_trigger_cycles: int = 64  # issuing engine time of a static-descriptor DMA
    dma_hwdge_trigger_ns: float = 600.0  # [D] DGE: hardware DGE instruction on SP or ACT
    dma_swdge_trigger_ns: float = 1000.0  # software DGE: GpSimd builds the descriptors
    launch_overhead_ns: float = 5000.0  # fixed cost per measured kernel execution (<=10 us, docs/cost-model.md)
    # Share of ARCH1's ~100-cycle static overhead of tiny instructions that occupies the engine; the
    # rest delays only dependent instructions (0: pure latency, see costs.engine_timing).
    static_overhead_occupancy: float = 0.0
    # Multipliers on the documented busy cycles of Vector/Scalar/GpSimd and of the Tensor engine: 1.0
    # unless a user calibration (autocomp calibrate) fitted them to their measurements.
    compute_cycle_scale: float = 1.0
    pe_cycle_scale: float = 1.0
    # Per-engine multipliers on top of compute_cycle_scale, and a fixed engine time every instruction
    # of that engine occupies (issue, decode, semaphore bookkeeping: not in ISA1's formulas). 1.0 and 0
    # unless a user calibration fitted them: the residuals of one engine's instructions are what they see.
    dve_cycle_scale: float = 1.0
    act_cycle_scale: float = 1.0
    pool_cycle_scale: float = 1.0
    dve_instruction_ns: float = 0.0
    act_instruction_ns: float = 0.0
    pool_instruction_ns: float = 0.0
    pe_instruction_ns: float = 0.0
    # Per-element cost of one instruction class on one engine, on top of that engine's scale: the
    # streaming cycles of the class's formula (ISA1) times this, never below MIN_II. 1.0 unless a user
    # calibration fitted them; which opcodes form each class is autocomp.perf.costs.CLASS_SCALES.
    dve_tensor_tensor_scale: float = 1.0
    dve_tensor_scalar_scale: float = 1.0
    dve_scan_scale: float = 1.0
    dve_reduce_scale: float = 1.0
    dve_bn_stats_scale: float = 1.0
    dve_copy_scale: float = 1.0
    act_activation_scale: float = 1.0
    act_copy_scale: float = 1.0
    pe_transpose_scale: float = 1.0
    pe_throttle_window_ns: float = 3000.0  # [D] NX: ramp and re-arm time of the TensorE throttle
    pe_throttle_start: float = 0.5  # [D] NX: throttled TensorE starts at ~50% speed


@dataclass(frozen=True)
class TileLimits:
    """What ``nl.tile_size`` exposes to kernels, in its field order."""

    pmax: int
    psum_fmax: int
    psum_bank_fmax: int
    psum_bank_fmax_bytes: int
    psum_num_banks: int
    gemm_stationary_fmax: int
    gemm_moving_fmax: int
    bn_stats_fmax: int
    sbuf_fmax_bytes: int
    total_available_sbuf_size: int
    # Byte alignment of a free-dimension address. The API reference names both fields without values; these are
    # the values the NKI compiler's own front end gives every NeuronCore generation [KLR].
    psum_min_align: int = 4
    sbuf_min_align: int = 1

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def capability():
    """A yes/no hardware capability: every record must set it (no default), the code asks it by name."""
    return field(metadata={"capability": True})


@dataclass(frozen=True, kw_only=True)
class Target:
    """One NeuronCore generation: documented numbers, capabilities, limits and calibration. Per NeuronCore."""

    name: str
    aliases: tuple[str, ...] = ()  # other names that resolve to this target (instance families, nc_version)
    core: str  # NeuronCore version: "v2" (trn1), "v3" (trn2), "v4" (trn3)
    nc_version: int  # what nisa.get_nc_version() returns: nc_version.gen2/gen3/gen4 (2/3/4)
    hbm_bytes: int  # HBM of one chip: no kernel input can be larger
    tile: TileLimits
    # Engine clocks in GHz.
    pe_ghz: float
    dve_ghz: float
    act_ghz: float
    pool_ghz: float
    # Tensor engine.
    pe_rows: int = 128
    pe_cols: int = 128
    fp32_matmul_factor: int = 4  # [D] ISA1: fp32 matmul is 4x slower; onezero halves it [D] ISA2
    mm_init_cycles: int = 64  # [D] ARCH1 MM_INIT_LATENCY
    load_stationary_speedup: int = 4  # [D] ARCH1: LoadStationary up to 4x faster than MM of same size
    fp32_transpose_factor: int = 4  # PE transpose of fp32 (v3 transpose mode halves it [D] ARCH2)
    # Widest moving tile one nc_matmul takes, by the dtype of its PSUM result (nl.tile_size.gemm_moving_fmax
    # is the portable limit; a target may take wider ones).
    matmul_moving_fmax: int = 512
    matmul_moving_fmax_bf16_result: int = 512
    # Vector / Scalar / GpSimd.
    min_ii_cycles: int = 64  # [D] ISA1 MIN_II (the same cycle count on v3/v4 is [E], docs/cost-model.md)
    static_overhead_cycles: int = 100  # [D] ARCH1 tiny or dependent back-to-back instructions
    act_read_accumulator_cycles: int = 64  # [D] ARCH1 ActReadAccumulator
    pool_startup_cycles: int = 150  # [D] ISA1 iota / affine_select start-up
    stride_penalty_bytes: int = 16  # [D] ARCH1: minor stride above 16 B halves SBUF/PSUM bandwidth
    # Memories.
    sbuf_partitions: int = 128
    sbuf_bytes_per_partition: int = 192 * KIB
    psum_bytes_per_partition: int = 16 * KIB  # [D] ARCH1
    psum_bank_bytes: int = 2 * KIB  # [D] ARCH1: 8 banks x 2 KiB
    # DMA.
    dma_engines: int = 16  # [D] ARCH1-3: 16 per NeuronCore
    dma_queues_per_engine: int = 16  # [D] DMA
    dma_partitions_per_engine: int = 8  # [D] ARCH1/DMA: P partitions use ceil(P/8) engines
    dma_engine_peak_gbps: float = 27.0 * 1.073741824  # theoretical GB/s per engine
    dma_engine_bytes_per_ns: float = 17.0  # effective per-engine rate
    dma_transpose_documented: tuple[float, float] | None = None  # (HBM->SBUF, SBUF->SBUF) vs copy

    # Capabilities: what the hardware does, asked by the simulator and the cost model instead of a target name.
    # Tensor engine.
    double_row_fp8: bool = capability()  # [D] ARCH2: K=256 in the time of K=128; nc_matmul perf_mode=double_row
    mx_matmul: bool = capability()  # [D] ARCH3: MX matmul does K=512 (4x)
    pe_throttle: bool = capability()  # [D] NX: TensorE throttles after idling
    # A transpose mode moves data bit-exactly; without it a Tensor-engine transpose is a matmul with an identity,
    # which spreads NaN/Inf along rows.
    pe_transpose_mode: bool = capability()
    pe_tiles_of_32: bool = capability()  # nc_matmul tile_size may use 32 rows/cols (else 64 and 128 only)
    matmul_bf16_result: bool = capability()  # the Tensor engine writes bf16 results into PSUM (else fp32 only)
    # A matmul accumulation group may start on PSUM written by memset/tensor_copy (else undefined: warned).
    matmul_accumulates_onto_copies: bool = capability()
    # Vector / Scalar / GpSimd.
    dve_perf_modes: bool = capability()  # [D] ARCH2: 4x/2x modes for 16-bit SBUF copies and tensor_tensor
    act_fast_16bit: bool = capability()  # [D] ARCH3: 2x tensor_scalar/tensor_copy on ACT for 16-bit/fp8
    act_tensor_copy: bool = capability()  # the Scalar engine runs tensor_copy
    act_immediate_bias: bool = capability()  # activation takes a scalar bias (else only a [P, 1] tile)
    act_tensor_scalar_any_op: bool = capability()  # ACT runs tensor_scalar with any ALU op (else mult/add)
    rng_state_in_psum: bool = capability()  # the Vector/Scalar PRNG state may be stored to PSUM (else SBUF only)
    range_select: bool = capability()  # nisa.range_select exists
    shared_sram_ports: bool = capability()  # [D] ARCH1: DVE/POOL share SBUF, DVE/ACT share PSUM
    # DMA and launch.
    dma_transpose: bool = capability()  # the DMA engines transpose while copying (nisa.dma_transpose)
    hardware_dge: bool = capability()  # hardware descriptor generation (dma_copy dge_mode=hwdge)
    logical_core_pairs: bool = capability()  # two NeuronCores run one kernel as a logical core (LNC=2, kernel[2])

    cal: Calibration
    error_bands: Mapping[str, Band]  # measured error per estimate class; a missing class is unmeasured

    # Effective values: documented where the docs say, else from the calibration.
    @property
    def sp_ghz(self) -> float:
        return self.cal.sp_ghz

    @property
    def hbm_gbps_per_nc(self) -> float:
        return self.cal.hbm_gbps_per_nc

    @property
    def hbm_gbps_per_stack(self) -> float:
        return self.cal.hbm_gbps_per_stack

    @property
    def sbuf_usable_bytes(self) -> int:
        return self.sbuf_bytes_per_partition - self.cal.sbuf_reserved_bytes

    @property
    def psum_banks(self) -> int:
        return self.psum_bytes_per_partition // self.psum_bank_bytes

    @property
    def dma_engine_rate(self) -> float:
        """Bytes/ns one DMA engine moves: the calibrated rate if the calibration sets one, else the documented."""
        return self.cal.dma_engine_bytes_per_ns or self.dma_engine_bytes_per_ns

    @property
    def dma_transpose_efficiency(self) -> tuple[float, float] | None:
        """DMA-transpose throughput vs a copy; None: element-wise descriptors (a legacy DMA transpose)."""
        return self.dma_transpose_documented or self.cal.dma_transpose_efficiency

    @property
    def dma_peak_bytes_per_ns(self) -> float:
        """What all DMA engines of one core can move, capped by the core's HBM share ([E] docs/cost-model.md)."""
        return min(self.dma_engines * self.dma_engine_rate, self.hbm_gbps_per_nc)

    def dma_lane_factor(self, itemsize: int) -> float:
        """How many times its own size an element of ``itemsize`` bytes costs the DMA datapath (>= 1)."""
        lane = self.cal.dma_lane_bytes
        return lane / itemsize if lane and 0 < itemsize < lane else 1.0

    def dma_peak_for(self, itemsize: int) -> float:
        """Bytes/ns all DMA engines of one core move for elements of ``itemsize`` bytes, HBM-capped."""
        return min(self.dma_engines * self.dma_engine_rate / self.dma_lane_factor(itemsize), self.hbm_gbps_per_nc)

    def clock_ghz(self, engine: str) -> float:
        return {"pe": self.pe_ghz, "dve": self.dve_ghz, "act": self.act_ghz, "pool": self.pool_ghz}.get(
            engine, self.sp_ghz)

    def peak_flops(self, dtype: str = "bfloat16") -> float:
        """Tensor-engine peak FLOP/s: one moving column per cycle through a 128x128 array."""
        base = 2.0 * self.pe_rows * self.pe_cols * self.pe_ghz * 1e9
        if dtype in ("float32",):
            return base / self.fp32_matmul_factor
        if dtype.startswith("float8") and self.double_row_fp8:
            return base * 2
        return base

    def matmul_moving_limit(self, bf16_result: bool) -> int:
        """Widest moving tile of one nc_matmul whose PSUM result is bf16 (``bf16_result``) or fp32."""
        return self.matmul_moving_fmax_bf16_result if bf16_result else self.matmul_moving_fmax

    def has(self, name: str) -> bool:
        """Whether the capability ``name`` is set; an unknown name is an error, never False."""
        if name not in CAPABILITIES:
            raise KeyError(f"unknown capability {name!r}; capabilities: {', '.join(CAPABILITIES)}")
        return bool(getattr(self, name))

    def with_calibration(self, **changes) -> Target:
        """A copy with some calibration values changed (for what-if runs and tests)."""
        return dataclasses.replace(self, cal=dataclasses.replace(self.cal, **changes))


# Every capability flag of a Target, in declaration order.
CAPABILITIES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Target) if f.metadata.get("capability"))
