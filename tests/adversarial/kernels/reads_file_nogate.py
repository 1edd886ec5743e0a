"""Reading files past the gate: the parent's input files (other seeds) are not readable from the sandbox.

PROBLEM: ew_muladd
GATE: off
EXPECT: compile_error
REASON: PermissionError
"""
import neuronxcc.nki as nki


@nki.jit
def muladd(a, b):
    with open("../in/seed1_arg0.npy", "rb") as f:
        f.read()
    raise AssertionError("read another seed's inputs")
