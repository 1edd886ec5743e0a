"""Unbounded memory: grow a host list until something gives.

PROBLEM: ew_muladd
EXPECT: runtime_error
REASON: ran out of memory
"""
import neuronxcc.nki as nki


@nki.jit
def muladd(a, b):
    blocks = []
    while True:
        blocks.append(" " * (64 << 20))
