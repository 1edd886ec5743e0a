"""Honest: all of lhsT kept resident in SBUF (loaded once, hoisted out of the column loop) and each rhs strip read
once: HBM reads grow far less than the baseline's from the check shapes to the timed shapes, the computation does not.

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
    # All of lhsT stays in SBUF, loaded once; each rhs strip is loaded once and used by every row block.
    a_all = nl.ndarray((M // 128, K // 128, nl.par_dim(128), 128), dtype=lhsT.dtype, buffer=nl.sbuf)
    for m in nl.affine_range(M // 128):
        for k in nl.affine_range(K // 128):
            a_all[m, k] = nl.load(lhsT[k * 128:(k + 1) * 128, m * 128:(m + 1) * 128])
    for n in nl.affine_range(N // 512):
        b_strip = nl.ndarray((K // 128, nl.par_dim(128), 512), dtype=rhs.dtype, buffer=nl.sbuf)
        for k in nl.affine_range(K // 128):
            b_strip[k] = nl.load(rhs[k * 128:(k + 1) * 128, n * 512:(n + 1) * 512])
        for m in nl.affine_range(M // 128):
            acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // 128):
                acc += nisa.nc_matmul(a_all[m, k], b_strip[k])
            nl.store(out[m * 128:(m + 1) * 128, n * 512:(n + 1) * 512], value=nl.copy(acc, dtype=out.dtype))
    return out
