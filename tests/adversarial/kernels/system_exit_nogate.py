"""raise SystemExit(0) past the gate: the worker catches it and reports a failure.

PROBLEM: ew_muladd
GATE: off
EXPECT: runtime_error
REASON: SystemExit
"""
import neuronxcc.nki as nki


@nki.jit
def muladd(a, b):
    raise SystemExit(0)
