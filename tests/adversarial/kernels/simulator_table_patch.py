"""Patching the simulator through a public table it exposes: make multiply free by remapping it.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: ALU_OPS is the simulator's internals
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    nl.ALU_OPS.update(multiply=nl.ALU_OPS["add"])
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
