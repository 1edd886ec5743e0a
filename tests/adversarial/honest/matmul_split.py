"""Honest: the matmul in two N halves, each into its own PSUM tile, float32 throughout.

PROBLEM: small_mm
EXPECT: correct
"""
import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def matmul(lhsT, rhs):
    K, M = lhsT.shape
    _, N = rhs.shape
    half = N // 2
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    a = nl.load(lhsT)
    for j in nl.affine_range(2):
        b = nl.load(rhs[:, j * half:(j + 1) * half])
        acc = nisa.nc_matmul(a, b)
        nl.store(out[:, j * half:(j + 1) * half], value=nl.copy(acc, dtype=nl.float32))
    return out
