"""trn3 (Trainium3, NeuronCore-v4): the record of one NeuronCore.

Source keys ([D] ARCH3, DMA, ...) are listed with their documents in docs/cost-model.md.
"""

from autocomp.targets.record import KIB, Calibration, Target, TileLimits

TARGET = Target(
    name="trn3", aliases=("gen4",), core="v4", nc_version=4,
    hbm_bytes=144 << 30,  # 144 GiB per chip
    tile=TileLimits(pmax=128, psum_fmax=512, psum_bank_fmax=512, psum_bank_fmax_bytes=2048, psum_num_banks=8,
                    gemm_stationary_fmax=128, gemm_moving_fmax=512, bn_stats_fmax=512,
                    sbuf_fmax_bytes=240 * KIB, total_available_sbuf_size=240 * KIB),
    pe_ghz=2.4, dve_ghz=1.2, act_ghz=1.2, pool_ghz=1.2,  # [D] ARCH3
    fp32_transpose_factor=2,  # [D] ARCH2/3
    # One nc_matmul takes up to 4096 moving columns, 8192 when it writes bf16 into PSUM.
    matmul_moving_fmax=4096, matmul_moving_fmax_bf16_result=8192,
    sbuf_bytes_per_partition=256 * KIB,  # [D] ARCH3: 32 MiB / 128
    dma_engine_peak_gbps=38.4, dma_engine_bytes_per_ns=33.0,  # [D] DMA, DMABW
    # Capabilities.
    double_row_fp8=True, mx_matmul=True, pe_throttle=True,  # [D] ARCH2/3, NX
    dve_perf_modes=True, act_fast_16bit=True,  # [D] ARCH3
    pe_transpose_mode=True, pe_tiles_of_32=True,
    matmul_bf16_result=True,
    matmul_accumulates_onto_copies=True,
    act_tensor_copy=True, act_immediate_bias=True,
    act_tensor_scalar_any_op=True,  # the multiply/add restriction of trn2 is not documented for v4
    rng_state_in_psum=True,  # PRNG state to PSUM: the trn2 restriction is not documented for v4
    range_select=True,
    shared_sram_ports=False,
    dma_transpose=True, hardware_dge=True, logical_core_pairs=True,
    cal=Calibration(
        hbm_gbps_per_nc=600.0,  # 4.7-4.9 TB/s [D] CHIP/ARCH3 over 8 NCs
        hbm_gbps_per_stack=1200.0,
        dma_transpose_efficiency=(0.9, 0.5),  # as trn2 [D] ARCH2
        sp_ghz=1.2),
    error_bands={},  # no public measured latencies yet: every class is unmeasured
)
