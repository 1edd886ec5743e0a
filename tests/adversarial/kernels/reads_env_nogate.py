"""Reading environment variables past the gate: the secret the parent holds must not reach the sandbox.

PROBLEM: ew_muladd
GATE: off
EXPECT: compile_error
REASON: secret=absent
"""
import os

import neuronxcc.nki as nki


@nki.jit
def muladd(a, b):
    raise ValueError("secret=" + os.environ.get("AUTOCOMP_TEST_SECRET", "absent") + " home=" + os.environ["HOME"])
