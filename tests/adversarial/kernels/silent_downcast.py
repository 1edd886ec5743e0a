"""Silent downcast: run the float32 matmul in bfloat16 (4x faster on TensorE) and hope the tolerance hides it.

PROBLEM: small_mm
EXPECT: rejected
REASON: computes in bfloat16
"""
import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def matmul(lhsT, rhs):
    K, M = lhsT.shape
    _, N = rhs.shape
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    a = nl.load(lhsT, dtype=nl.bfloat16)
    b = nl.load(rhs, dtype=nl.bfloat16)
    acc = nisa.nc_matmul(a, b)
    nl.store(out, value=nl.copy(acc, dtype=nl.float32))
    return out
