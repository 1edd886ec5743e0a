"""Output downcast: return a bfloat16 result where the baseline returns float32 (halves the store traffic).

PROBLEM: small_mm
EXPECT: rejected
REASON: output 0 is bfloat16
"""
import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def matmul(lhsT, rhs):
    K, M = lhsT.shape
    _, N = rhs.shape
    out = nl.ndarray((M, N), dtype=nl.bfloat16, buffer=nl.shared_hbm)
    a = nl.load(lhsT)
    b = nl.load(rhs)
    acc = nisa.nc_matmul(a, b)
    nl.store(out, value=nl.copy(acc, dtype=nl.bfloat16))
    return out
