"""trn2 (Trainium2, NeuronCore-v3): the record of one NeuronCore.

Source keys ([D] ARCH2, DMA, ...) are listed with their documents in docs/cost-model.md.
"""

from autocomp.targets.record import KIB, Calibration, Target, TileLimits

TARGET = Target(
    name="trn2", aliases=("gen3",), core="v3", nc_version=3,
    hbm_bytes=96 << 30,  # 96 GiB per chip
    tile=TileLimits(pmax=128, psum_fmax=512, psum_bank_fmax=512, psum_bank_fmax_bytes=2048, psum_num_banks=8,
                    gemm_stationary_fmax=128, gemm_moving_fmax=512, bn_stats_fmax=512,
                    sbuf_fmax_bytes=208 * KIB, total_available_sbuf_size=208 * KIB),
    pe_ghz=2.4, dve_ghz=0.96, act_ghz=1.2, pool_ghz=1.2,  # [D] ARCH2
    fp32_transpose_factor=2,  # [D] ARCH2 transpose mode doubles fp32 transposes
    sbuf_bytes_per_partition=224 * KIB,  # [D] ARCH2: 28 MiB / 128
    dma_engine_peak_gbps=27.2, dma_engine_bytes_per_ns=23.0,  # [D] DMA, DMABW
    dma_transpose_documented=(0.9, 0.5),  # [D] ARCH2
    # Capabilities.
    double_row_fp8=True, pe_throttle=True, dve_perf_modes=True,  # [D] ARCH2, NX
    mx_matmul=False, act_fast_16bit=False,  # v4 additions [D] ARCH3
    pe_transpose_mode=True,  # [D] ARCH2
    pe_tiles_of_32=True,
    matmul_bf16_result=False,  # fp32 PSUM results only
    matmul_accumulates_onto_copies=False,  # accumulating onto memset/tensor_copy PSUM is undefined
    act_tensor_copy=True, act_immediate_bias=True,
    act_tensor_scalar_any_op=False,  # the Scalar engine runs tensor_scalar only as multiply+add, multiply or add
    rng_state_in_psum=False,  # rand_get_state on trn2: the state goes to SBUF only
    range_select=True,
    shared_sram_ports=False,
    dma_transpose=True, hardware_dge=True, logical_core_pairs=True,
    cal=Calibration(
        hbm_gbps_per_nc=362.0,  # 2.9 TB/s [D] CHIP over 8 NCs
        hbm_gbps_per_stack=725.0,  # one 24 GB stack serves 2 NCs [D] CHIP
        sp_ghz=1.2),
    error_bands={},  # no public measured latencies yet: every class is unmeasured
)
