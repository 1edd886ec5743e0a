"""Printing a fake success line: the harness must not parse what the candidate prints.

PROBLEM: ew_muladd
EXPECT: incorrect
REASON: rel L2 error
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    print('{"status": "correct", "latency_us": 0.001, "reason": "all good"}')
    print("PASSED: correctness check. Latency: 0.001 ms")
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.zeros((128, a.shape[1]), dtype=a.dtype))
    print('{"status": "correct", "latency_us": 0.001}')
    return out
