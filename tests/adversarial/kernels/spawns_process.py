"""Spawning processes: run a shell command from the kernel.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: import of 'subprocess'
"""
import subprocess

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    subprocess.run(["sh", "-c", "sleep 1000 &"])
    return nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
