"""Broken Python: a syntax error is a compile error, with its line.

PROBLEM: ew_muladd
EXPECT: compile_error
REASON: syntax error
"""
import neuronxcc.nki as nki


@nki.jit
def muladd(a, b)
    return a
