"""trn1 (Trainium, NeuronCore-v2; also inf2): the record of one NeuronCore.

Source keys ([D] ARCH1, DMABW, ...) are listed with their documents in docs/cost-model.md; [M]
marks a public measurement, [E] an estimate. The fidelity set (benchmarks/fidelity) checks the
calibration numbers; it does not set them.
"""

from autocomp.targets.record import KIB, Band, Calibration, Target, TileLimits

_FIDELITY = "benchmarks/fidelity.py --bands, public set, 26 measured trn1 entries"

TARGET = Target(
    name="trn1", aliases=("inf2", "gen2"), core="v2", nc_version=2,
    hbm_bytes=32 << 30,  # 32 GiB per chip
    tile=TileLimits(pmax=128, psum_fmax=512, psum_bank_fmax=512, psum_bank_fmax_bytes=2048, psum_num_banks=8,
                    gemm_stationary_fmax=128, gemm_moving_fmax=512, bn_stats_fmax=512,
                    sbuf_fmax_bytes=176 * KIB, total_available_sbuf_size=176 * KIB),
    pe_ghz=2.8, dve_ghz=1.12, act_ghz=1.4, pool_ghz=1.4,  # [D] ARCH1
    sbuf_bytes_per_partition=192 * KIB,  # [D] ARCH1: 24 MiB / 128 (16 KiB reserved [D] ALLOC1)
    dma_engine_peak_gbps=27.0 * 1.073741824,  # [D] ARCH1: 27 GiB/s
    dma_engine_bytes_per_ns=17.0,  # [D] DMABW effective
    # Capabilities: NeuronCore-v2 lacks every v3 addition.
    double_row_fp8=False, mx_matmul=False, pe_throttle=False,
    pe_transpose_mode=False,  # transposes multiply by an identity: NaN/Inf spread along rows
    pe_tiles_of_32=False, matmul_bf16_result=False, matmul_accumulates_onto_copies=False,
    dve_perf_modes=False, act_fast_16bit=False,
    act_tensor_copy=False, act_immediate_bias=False,
    act_tensor_scalar_any_op=True,  # the restriction to multiply/add is documented for trn2 only
    rng_state_in_psum=True,  # PRNG state to PSUM: the restriction to SBUF is documented for trn2 only
    range_select=False,
    shared_sram_ports=True,  # [D] ARCH1
    dma_transpose=False, hardware_dge=False, logical_core_pairs=False,
    # DMA engines stream at DMABW's documented 17 B/ns each (272 GB/s per core; a purely HBM-bound fp32
    # kernel measures ~310 GB/s [M]). Elements narrower than 4 bytes move at the rate of 4-byte elements
    # (dma_lane_bytes=4): the DMA datapath converts through fp32 [D] DMA (casting), and on trn1 bf16
    # transfers measure half the byte rate of fp32 ones: the matmul tutorial's bf16 loads of 256 B and
    # 1 KiB rows both move ~7 B/ns per engine [M] (rows 4x apart at one byte rate: not a per-descriptor
    # effect). Not on trn2: a bf16 32 KiB transfer runs at the full 23 B/ns there [D] DMA (1416 ns).
    cal=Calibration(
        dma_lane_bytes=4,
        hbm_gbps_per_nc=410.0, hbm_gbps_per_stack=410.0,  # 820 GB/s per chip over 2 NCs [D] ARCH1
        sp_ghz=1.4),
    # ln(measured / model) per estimate class on the public fidelity set (the matmul tutorial's DMA-bound
    # rungs, the Vector-bound Mamba and LayerNorm kernels), as printed by `benchmarks/fidelity.py --bands`.
    # Classes with fewer than 3 measurements are left out (the fully optimised matmul is the only
    # Tensor-bound one) and fall back to the unmeasured band.
    error_bands={
        "dma": Band(n=3, log_bias=-0.024, log_sigma=0.330, pair_sigma=0.216, source=_FIDELITY),
        "vector": Band(n=22, log_bias=-0.021, log_sigma=0.245, pair_sigma=0.111, source=_FIDELITY),
    },
)
