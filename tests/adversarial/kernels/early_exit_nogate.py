"""os._exit(0) past the gate: a clean exit code without a report is still a failure.

PROBLEM: ew_muladd
GATE: off
EXPECT: runtime_error
REASON: exited (code 0) before the evaluation finished
"""
import os

import neuronxcc.nki as nki


@nki.jit
def muladd(a, b):
    os._exit(0)
