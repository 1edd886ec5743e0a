"""Current-dialect matmul kernels (tiled bf16/fp32, ragged edges, on-chip transposes) vs float64 numpy."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from tests.fakes.v2_support import SEEDS, assert_close, bf16, f64, opcodes, sample


@nki.jit
def matmul_tiled(lhsT, rhs):
    """out[M, N] = lhsT.T @ rhs, with K accumulated in PSUM by accumulate=None."""
    K, M = lhsT.shape
    _, N = rhs.shape
    TK, TM, TN = nl.tile_size.pmax, nl.tile_size.gemm_stationary_fmax, nl.tile_size.gemm_moving_fmax
    out = nl.ndarray((M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for m in nl.affine_range(M // TM):
        for n in nl.affine_range(N // TN):
            acc = nl.ndarray((TM, TN), dtype=nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // TK):
                lt = nl.ndarray((TK, TM), dtype=lhsT.dtype, buffer=nl.sbuf)
                rt = nl.ndarray((TK, TN), dtype=rhs.dtype, buffer=nl.sbuf)
                nisa.dma_copy(dst=lt, src=lhsT[k * TK:(k + 1) * TK, m * TM:(m + 1) * TM])
                nisa.dma_copy(dst=rt, src=rhs[k * TK:(k + 1) * TK, n * TN:(n + 1) * TN])
                nisa.nc_matmul(dst=acc, stationary=lt, moving=rt)
            res = nl.ndarray((TM, TN), dtype=out.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=res, src=acc)
            nisa.dma_copy(dst=out[m * TM:(m + 1) * TM, n * TN:(n + 1) * TN], src=res)
    return out


@nki.jit
def matmul_ragged(lhsT, rhs):
    """Shapes that are not tile multiples: edge tiles are clamped with min()."""
    K, M = lhsT.shape
    _, N = rhs.shape
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    for m in range((M + 127) // 128):
        ms = min(128, M - m * 128)
        for n in range((N + 511) // 512):
            ns = min(512, N - n * 512)
            acc = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.psum)
            for k in range((K + 127) // 128):
                ks = min(128, K - k * 128)
                lt = nl.ndarray((128, 128), dtype=lhsT.dtype)
                rt = nl.ndarray((128, 512), dtype=rhs.dtype)
                nisa.dma_copy(dst=lt[:ks, :ms], src=lhsT[k * 128:k * 128 + ks, m * 128:m * 128 + ms])
                nisa.dma_copy(dst=rt[:ks, :ns], src=rhs[k * 128:k * 128 + ks, n * 512:n * 512 + ns])
                nisa.nc_matmul(acc[:ms, :ns], lt[:ks, :ms], rt[:ks, :ns])
            res = nl.ndarray((128, 512), dtype=nl.float32)
            nisa.tensor_copy(dst=res[:ms, :ns], src=acc[:ms, :ns])
            nisa.dma_copy(dst=out[m * 128:m * 128 + ms, n * 512:n * 512 + ns], src=res[:ms, :ns])
    return out


@nki.jit
def matmul_transpose_a(a, b):
    """out = a @ b with a [M, K] row-major: each a tile is transposed on the Tensor engine first."""
    M, K = a.shape
    _, N = b.shape
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    for m in range(M // 128):
        acc = nl.ndarray((128, N), dtype=nl.float32, buffer=nl.psum)
        for k in range(K // 128):
            a_tile = nl.ndarray((128, 128), dtype=a.dtype)
            nisa.dma_copy(dst=a_tile, src=a[m * 128:(m + 1) * 128, k * 128:(k + 1) * 128])
            a_t_psum = nl.ndarray((128, 128), dtype=a.dtype, buffer=nl.psum)
            nisa.nc_transpose(dst=a_t_psum, data=a_tile)
            a_t = nl.ndarray((128, 128), dtype=a.dtype)
            nisa.tensor_copy(dst=a_t, src=a_t_psum)
            b_tile = nl.ndarray((128, N), dtype=b.dtype)
            nisa.dma_copy(dst=b_tile, src=b[k * 128:(k + 1) * 128, :])
            nisa.nc_matmul(dst=acc, stationary=a_t, moving=b_tile)
        res = nl.ndarray((128, N), dtype=nl.float32)
        nisa.tensor_copy(dst=res, src=acc)
        nisa.dma_copy(dst=out[m * 128:(m + 1) * 128, :], src=res)
    return out


@pytest.mark.parametrize("dtype", [np.float32, bf16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_tiled_matmul(seed, dtype):
    rng = np.random.default_rng(seed)
    lhsT, rhs = sample(rng, (256, 256), dtype), sample(rng, (256, 1024), dtype)
    out = matmul_tiled(lhsT, rhs)
    assert out.dtype == np.dtype(dtype)
    assert_close(out, f64(lhsT).T @ f64(rhs))
    trace = matmul_tiled.last_result.trace
    assert trace.dialect == "v2"
    mms = [i for i in trace.instructions if i.opcode == "MATMUL"]
    assert len(mms) == 2 * 2 * 2
    # accumulate=None: the first matmul of each group overwrites, the second adds.
    assert [i.attrs["accumulate"] for i in mms] == [False, True] * 4
    assert opcodes(trace).count("DMA") == 2 * 8 + 4


@pytest.mark.parametrize("seed", SEEDS)
def test_ragged_matmul_with_min_edges(seed):
    rng = np.random.default_rng(seed)
    lhsT, rhs = sample(rng, (200, 150)), sample(rng, (200, 600))
    out = matmul_ragged(lhsT, rhs)
    assert_close(out, f64(lhsT).T @ f64(rhs))
    mms = [i for i in matmul_ragged.last_result.trace.instructions if i.opcode == "MATMUL"]
    assert {(i.attrs["contract"], i.partitions, i.elems) for i in mms} == {
        (128, 128, 512), (72, 128, 512), (128, 128, 88), (72, 128, 88), (128, 22, 512), (72, 22, 512),
        (128, 22, 88), (72, 22, 88)}


@pytest.mark.parametrize("dtype", [np.float32, bf16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("seed", SEEDS)
def test_matmul_with_transposes(seed, dtype):
    rng = np.random.default_rng(seed)
    a, b = sample(rng, (128, 256), dtype), sample(rng, (256, 384), dtype)
    out = matmul_transpose_a(a, b)
    assert_close(out, f64(a) @ f64(b), tol=2e-5 if dtype == np.float32 else 1e-2)
    ops = opcodes(matmul_transpose_a.last_result.trace)
    assert ops.count("TRANSPOSE") == 2 and ops.count("MATMUL") == 2
