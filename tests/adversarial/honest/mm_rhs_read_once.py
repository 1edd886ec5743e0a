"""Honest: blocking that reads each rhs strip once and shares it across every row block.

PROBLEM: mm_check
EXPECT: correct
"""
import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def gemm(lhsT, rhs):
    K, M = lhsT.shape
    _, N = rhs.shape
    out = nl.ndarray((M, N), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    for n in nl.affine_range(N // 512):
        # The rhs strip is read from HBM once and shared by every row block of this column block.
        b_strip = nl.ndarray((K // 128, nl.par_dim(128), 512), dtype=rhs.dtype, buffer=nl.sbuf)
        for k in nl.affine_range(K // 128):
            b_strip[k] = nl.load(rhs[k * 128:(k + 1) * 128, n * 512:(n + 1) * 512])
        for m in nl.affine_range(M // 128):
            acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // 128):
                a = nl.load(lhsT[k * 128:(k + 1) * 128, m * 128:(m + 1) * 128])
                acc += nisa.nc_matmul(a, b_strip[k])
            nl.store(out[m * 128:(m + 1) * 128, n * 512:(n + 1) * 512], value=nl.copy(acc, dtype=out.dtype))
    return out
