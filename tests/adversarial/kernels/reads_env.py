"""Reading environment variables: look for an API key.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: import of 'os'
"""
import os

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

KEY = os.environ.get("ANTHROPIC_API_KEY", "")


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    return out
