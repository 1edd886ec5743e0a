"""Interpreter escape through dunders: find os via object.__subclasses__().

PROBLEM: ew_muladd
EXPECT: rejected
REASON: dunder
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

for cls in ().__class__.__base__.__subclasses__():
    if cls.__name__ == "_wrap_close":
        cls.__init__.__globals__["system"]("touch /tmp/pwned")


@nki.jit
def muladd(a, b):
    return nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
