"""The four stages of AWS's NKI matmul tutorial, rewritten for cost-model calibration.

result[M, N] = lhsT[K, M].T @ rhs[K, N] in bf16, with lhsT already transposed so the
contraction dimension K sits on SBUF partitions for both operands. Each stage keeps
the previous one's tiling and changes how often HBM tiles are (re)loaded.
"""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl

TM = 128  # stationary free size (output partitions)
TK = 128  # contraction per matmul (partitions)
TN = 512  # moving free size (one PSUM bank of fp32)


@nki.jit
def matmul_basic(lhsT, rhs):
    """Stage 1: every matmul loads its own pair of tiles."""
    K, M = lhsT.shape
    _, N = rhs.shape
    out = nl.ndarray((M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for m in nl.affine_range(M // TM):
        for n in nl.affine_range(N // TN):
            acc = nl.zeros((TM, TN), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // TK):
                a = nl.load(lhsT[k * TK:(k + 1) * TK, m * TM:(m + 1) * TM])
                b = nl.load(rhs[k * TK:(k + 1) * TK, n * TN:(n + 1) * TN])
                acc += nisa.nc_matmul(a, b)
            res = nl.copy(acc, dtype=out.dtype)
            nl.store(out[m * TM:(m + 1) * TM, n * TN:(n + 1) * TN], value=res)
    return out


@nki.jit
def matmul_hoisted(lhsT, rhs):
    """Stage 2: the lhsT column strip is loaded once per m, the rhs strip once per (m, n)."""
    K, M = lhsT.shape
    _, N = rhs.shape
    KT = K // TK
    out = nl.ndarray((M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for m in nl.affine_range(M // TM):
        a_strip = nl.ndarray((KT, nl.par_dim(TK), TM), dtype=lhsT.dtype, buffer=nl.sbuf)
        for k in nl.affine_range(KT):
            a_strip[k] = nl.load(lhsT[k * TK:(k + 1) * TK, m * TM:(m + 1) * TM])
        for n in nl.affine_range(N // TN):
            b_strip = nl.ndarray((KT, nl.par_dim(TK), TN), dtype=rhs.dtype, buffer=nl.sbuf)
            for k in nl.affine_range(KT):
                b_strip[k] = nl.load(rhs[k * TK:(k + 1) * TK, n * TN:(n + 1) * TN])
            acc = nl.zeros((TM, TN), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(KT):
                acc += nisa.nc_matmul(a_strip[k], b_strip[k])
            res = nl.copy(acc, dtype=out.dtype)
            nl.store(out[m * TM:(m + 1) * TM, n * TN:(n + 1) * TN], value=res)
    return out


@nki.jit
def matmul_blocked(lhsT, rhs, BM=2, BN=2):
    """Stage 3: BM x BN output tiles share their loaded strips, so each strip is reused."""
    K, M = lhsT.shape
    _, N = rhs.shape
    KT = K // TK
    out = nl.ndarray((M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for mb in nl.affine_range(M // (TM * BM)):
        a_strips = nl.ndarray((BM, KT, nl.par_dim(TK), TM), dtype=lhsT.dtype, buffer=nl.sbuf)
        for i in nl.affine_range(BM):
            for k in nl.affine_range(KT):
                col = (mb * BM + i) * TM
                a_strips[i, k] = nl.load(lhsT[k * TK:(k + 1) * TK, col:col + TM])
        for nb in nl.affine_range(N // (TN * BN)):
            b_strips = nl.ndarray((BN, KT, nl.par_dim(TK), TN), dtype=rhs.dtype, buffer=nl.sbuf)
            for j in nl.affine_range(BN):
                for k in nl.affine_range(KT):
                    col = (nb * BN + j) * TN
                    b_strips[j, k] = nl.load(rhs[k * TK:(k + 1) * TK, col:col + TN])
            for i in nl.affine_range(BM):
                for j in nl.affine_range(BN):
                    acc = nl.zeros((TM, TN), nl.float32, buffer=nl.psum)
                    for k in nl.affine_range(KT):
                        acc += nisa.nc_matmul(a_strips[i, k], b_strips[j, k])
                    res = nl.copy(acc, dtype=out.dtype)
                    row, col = (mb * BM + i) * TM, (nb * BN + j) * TN
                    nl.store(out[row:row + TM, col:col + TN], value=res)
    return out


@nki.jit
def matmul_optimized(lhsT, rhs, BM=16, BN=2, BK=8):
    """Stage 4: block K too, keep partial sums in SBUF across K blocks, and load wide
    [128, BLOCK] slabs so each DMA row is long and contiguous."""
    K, M = lhsT.shape
    _, N = rhs.shape
    block_m, block_n, block_k = TM * BM, TN * BN, TK * BK
    out = nl.ndarray((M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for nb in nl.affine_range(N // block_n):
        partial = nl.zeros((M // block_m, BM, BN, nl.par_dim(TM), TN), dtype=lhsT.dtype, buffer=nl.sbuf)
        for kb in nl.sequential_range(K // block_k):
            b_slabs = nl.ndarray((BK, nl.par_dim(TK), block_n), dtype=rhs.dtype, buffer=nl.sbuf)
            for r in nl.affine_range(BK):
                row = (kb * BK + r) * TK
                b_slabs[r] = nl.load(rhs[row:row + TK, nb * block_n:(nb + 1) * block_n])
            for mb in nl.affine_range(M // block_m):
                a_slabs = nl.ndarray((BK, nl.par_dim(TK), block_m), dtype=lhsT.dtype, buffer=nl.sbuf)
                for r in nl.affine_range(BK):
                    row = (kb * BK + r) * TK
                    a_slabs[r] = nl.load(lhsT[row:row + TK, mb * block_m:(mb + 1) * block_m])
                for j in nl.affine_range(BN):
                    for i in nl.affine_range(BM):
                        acc = nl.zeros((TM, TN), nl.float32, buffer=nl.psum)
                        for r in nl.affine_range(BK):
                            acc += nisa.nc_matmul(a_slabs[r, :, i * TM:(i + 1) * TM],
                                                  b_slabs[r, :, j * TN:(j + 1) * TN])
                        partial[mb, i, j] = nl.add(partial[mb, i, j], acc, dtype=lhsT.dtype)
        for mb in nl.affine_range(M // block_m):
            for i in nl.affine_range(BM):
                packed = nl.ndarray((TM, block_n), dtype=lhsT.dtype, buffer=nl.sbuf)
                for j in nl.affine_range(BN):
                    packed[:, j * TN:(j + 1) * TN] = nl.copy(partial[mb, i, j])
                row = (mb * BM + i) * TM
                nl.store(out[row:row + TM, nb * block_n:(nb + 1) * block_n], value=packed)
    return out
