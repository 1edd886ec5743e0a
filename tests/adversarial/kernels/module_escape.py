"""Escape through a module the NKI facade happens to import: nki.os.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: is not part of the neuronxcc.nki API
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

nki.os.system("touch /tmp/pwned")


@nki.jit
def muladd(a, b):
    return nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
