"""Hardware targets for the cost model, as data.

``Target`` holds documented numbers only, each citing its source key from docs/cost-model.md#source-keys
("[D] ARCH1"). Every estimate ([E]) lives in ``Calibration``, with the per-target values
in the ``CALIBRATION`` table at the bottom of this file and nowhere else, so calibrating
the model changes data, not code. Cycle counts are in cycles of the engine that runs
the instruction.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

KIB = 1024


@dataclass(frozen=True)
class Calibration:
    """Parameters that are not documented ([E]): our estimates, checked against published measurements
    (docs/cost-model.md#checking-the-model-the-public-fidelity-set).

    Defaults are the starting estimates (the [E] sources of docs/cost-model.md#mechanisms-and-their-sources);
    per-target values are in ``CALIBRATION``.
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
    # many bytes each (None: bytes move at the engine rate whatever the dtype). See CALIBRATION["trn1"].
    dma_lane_bytes: int | None = None
    dma_hbm_chunk_bytes: int = 64 * KIB  # largest piece of an HBM-to-HBM copy one descriptor moves
    dma_burst_bytes: int = 64  # smallest access a DMA engine makes: what one element of a strided pattern costs
    dma_transpose_efficiency: tuple[float, float] | None = None  # vs copy; None = documented / element-wise
    dma_fixed_latency_ns: float = 1300.0  # semaphore to first data [D] DMABW; pipelining is [E]
    dma_static_trigger_cycles: int = 64  # issuing engine time of a static-descriptor DMA
    dma_hwdge_trigger_ns: float = 600.0  # [D] DGE: hardware DGE instruction on SP or ACT
    dma_swdge_trigger_ns: float = 1000.0  # software DGE: GpSimd builds the descriptors
    launch_overhead_ns: float = 5000.0  # fixed cost per measured kernel execution ([E], docs/cost-model.md)
    # Share of ARCH1's ~100-cycle static overhead of tiny instructions that occupies the engine; the
    # rest delays only dependent instructions (0: pure latency, see costs.engine_timing).
    static_overhead_occupancy: float = 0.0
    # Multipliers on the documented busy cycles of Vector/Scalar/GpSimd and of the Tensor engine: 1.0
    # unless a user calibration (autocomp calibrate) fitted them to their measurements.
    compute_cycle_scale: float = 1.0
    pe_cycle_scale: float = 1.0
    pe_throttle_window_ns: float = 3000.0  # [D] NX: ramp and re-arm time of the TensorE throttle
    pe_throttle_start: float = 0.5  # [D] NX: throttled TensorE starts at ~50% speed


@dataclass(frozen=True)
class Target:
    """One NeuronCore generation: documented numbers, plus its calibration. Per NeuronCore."""

    name: str
    core: str  # NeuronCore version: "v2" (trn1), "v3" (trn2), "v4" (trn3)
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
    double_row_fp8: bool = False  # [D] ARCH2: K=256 in the time of K=128 (v3+)
    mx_matmul: bool = False  # [D] ARCH3: MX matmul does K=512 (4x) on v4
    pe_throttle: bool = False  # [D] NX: TensorE throttling on trn2/trn3
    # Vector / Scalar / GpSimd.
    min_ii_cycles: int = 64  # [D] ISA1 MIN_II (the same cycle count on v3/v4 is [E]: the docs quote only v2)
    static_overhead_cycles: int = 100  # [D] ARCH1 tiny or dependent back-to-back instructions
    act_read_accumulator_cycles: int = 64  # [D] ARCH1 ActReadAccumulator
    pool_startup_cycles: int = 150  # [D] ISA1 iota / affine_select start-up
    dve_perf_modes: bool = False  # [D] ARCH2: 4x/2x modes for 16-bit SBUF copies and tensor_tensor
    act_fast_16bit: bool = False  # [D] ARCH3: 2x tensor_scalar/tensor_copy on ACT for 16-bit/fp8
    stride_penalty_bytes: int = 16  # [D] ARCH1: minor stride above 16 B halves SBUF/PSUM bandwidth
    shared_sram_ports: bool = False  # [D] ARCH1: DVE/POOL share SBUF, DVE/ACT share PSUM (v2 only)
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
    cal: Calibration = field(default_factory=Calibration)

    # Effective values: documented where the docs say, else from the calibration table.
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
        """Bytes/ns one DMA engine moves: the calibrated rate if the table sets one, else the documented."""
        return self.cal.dma_engine_bytes_per_ns or self.dma_engine_bytes_per_ns

    @property
    def dma_transpose_efficiency(self) -> tuple[float, float] | None:
        """DMA-transpose throughput vs a copy; None: element-wise descriptors (legacy trn1)."""
        return self.dma_transpose_documented or self.cal.dma_transpose_efficiency

    @property
    def dma_peak_bytes_per_ns(self) -> float:
        """What all DMA engines of one core can move, capped by the core's HBM share ([E];
        docs/cost-model.md#mechanisms-and-their-sources)."""
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

    def with_calibration(self, **changes) -> Target:
        """A copy with some calibration values changed (for what-if runs and tests)."""
        return dataclasses.replace(self, cal=dataclasses.replace(self.cal, **changes))


# ---------------------------------------------------------------------------
# Calibration table: every [E] number of the model, per target, and nowhere else. Source keys
# ([D] ARCH1, DMABW, ...) are listed with their documents in docs/cost-model.md; [M] marks a
# public measurement. The fidelity set (benchmarks/fidelity) checks these numbers; it does not
# set them. `autocomp calibrate` writes a file that overrides them (autocomp.perf.calibration).
CALIBRATION: dict[str, Calibration] = {
    # trn1: DMA engines stream at DMABW's documented 17 B/ns each (272 GB/s per core; a purely
    # HBM-bound fp32 kernel measures ~310 GB/s [M]). Elements narrower than 4 bytes move at the
    # rate of 4-byte elements (dma_lane_bytes=4): the DMA datapath converts through fp32 [D] DMA
    # (casting), and on trn1 bf16 transfers measure half the byte rate of fp32 ones: the matmul
    # tutorial's bf16 loads of 256 B and 1 KiB rows both move ~7 B/ns per engine [M] (rows 4x
    # apart at one byte rate: not a per-descriptor effect). Not on trn2: a bf16 32 KiB transfer
    # runs at the full 23 B/ns there [D] DMA (1416 ns).
    "trn1": Calibration(
        dma_lane_bytes=4,
        hbm_gbps_per_nc=410.0, hbm_gbps_per_stack=410.0,  # 820 GB/s per chip over 2 NCs [D] ARCH1
        sp_ghz=1.4),
    "trn2": Calibration(
        hbm_gbps_per_nc=362.0,  # 2.9 TB/s [D] CHIP over 8 NCs
        hbm_gbps_per_stack=725.0,  # one 24 GB stack serves 2 NCs [D] CHIP
        sp_ghz=1.2),
    "trn3": Calibration(
        hbm_gbps_per_nc=600.0,  # 4.7-4.9 TB/s [D] CHIP/ARCH3 over 8 NCs
        hbm_gbps_per_stack=1200.0,
        dma_transpose_efficiency=(0.9, 0.5),  # as trn2 [D] ARCH2
        sp_ghz=1.2),
}

TARGETS: dict[str, Target] = {t.name: t for t in (
    Target(
        name="trn1", core="v2",
        pe_ghz=2.8, dve_ghz=1.12, act_ghz=1.4, pool_ghz=1.4,  # [D] ARCH1
        sbuf_bytes_per_partition=192 * KIB,  # [D] ARCH1: 24 MiB / 128 (16 KiB reserved [D] ALLOC1)
        dma_engine_peak_gbps=27.0 * 1.073741824,  # [D] ARCH1: 27 GiB/s
        dma_engine_bytes_per_ns=17.0,  # [D] DMABW effective
        shared_sram_ports=True,  # [D] ARCH1
        cal=CALIBRATION["trn1"]),
    Target(
        name="trn2", core="v3",
        pe_ghz=2.4, dve_ghz=0.96, act_ghz=1.2, pool_ghz=1.2,  # [D] ARCH2
        fp32_transpose_factor=2,  # [D] ARCH2 transpose mode doubles fp32 transposes
        double_row_fp8=True, pe_throttle=True, dve_perf_modes=True,  # [D] ARCH2, NX
        sbuf_bytes_per_partition=224 * KIB,  # [D] ARCH2: 28 MiB / 128
        dma_engine_peak_gbps=27.2, dma_engine_bytes_per_ns=23.0,  # [D] DMA, DMABW
        dma_transpose_documented=(0.9, 0.5),  # [D] ARCH2
        cal=CALIBRATION["trn2"]),
    Target(
        name="trn3", core="v4",
        pe_ghz=2.4, dve_ghz=1.2, act_ghz=1.2, pool_ghz=1.2,  # [D] ARCH3
        fp32_transpose_factor=2, double_row_fp8=True, mx_matmul=True, pe_throttle=True,  # [D] ARCH2/3, NX
        dve_perf_modes=True, act_fast_16bit=True,  # [D] ARCH3
        sbuf_bytes_per_partition=256 * KIB,  # [D] ARCH3: 32 MiB / 128
        dma_engine_peak_gbps=38.4, dma_engine_bytes_per_ns=33.0,  # [D] DMA, DMABW
        cal=CALIBRATION["trn3"]),
)}

_ALIASES = {"inf2": "trn1", "gen2": "trn1", "gen3": "trn2", "gen4": "trn3"}


def get_target(name: str | Target | None = None) -> Target:
    """The target called ``name`` (trn1|trn2|trn3, or inf2/gen2/gen3/gen4); default trn1."""
    if isinstance(name, Target):
        return name
    key = (name or "trn1").strip().lower()
    key = _ALIASES.get(key, key)
    if key not in TARGETS:
        raise ValueError(f"unknown target {name!r}; choose one of {', '.join(TARGETS)}")
    return TARGETS[key]
