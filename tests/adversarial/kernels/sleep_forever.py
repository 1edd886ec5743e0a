"""Sleeping forever: a busy loop that never returns (no import needed, so the gate cannot see it).

PROBLEM: ew_muladd
EXPECT: timeout
REASON: did not finish within
"""
import neuronxcc.nki as nki


@nki.jit
def muladd(a, b):
    n = 0
    while True:
        n += 1
