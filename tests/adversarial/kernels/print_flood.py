"""Flooding the log: print without end to fill the disk (and bury any real message).

PROBLEM: ew_muladd
EXPECT: runtime_error
REASON: file-size limit
"""
import neuronxcc.nki as nki


@nki.jit
def muladd(a, b):
    line = "x" * 65536
    while True:
        print(line)
