"""A class instance at module level keeps a counter across calls (an allocator that never resets).

PROBLEM: ew_muladd
EXPECT: rejected
REASON: creates an instance of class Calls when the file is imported
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


class Calls:
    def __init__(self):
        self.n = 0


CALLS = Calls()


@nki.jit
def muladd(a, b):
    CALLS.n = CALLS.n + 1
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
