"""An honest mistake: loading 256 partitions at once is a compile error with the compiler's code and line.

PROBLEM: ew_muladd
EXPECT: compile_error
REASON: err_num_partition_exceed_arch_limit
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    x = nl.load(a)
    y = nl.load(b)
    nl.store(out, value=nl.add(nl.multiply(x, y), x))
    return out
