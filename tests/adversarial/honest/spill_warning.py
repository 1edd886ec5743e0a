"""Honest, with a simulator warning: a scratch buffer larger than SBUF makes the compiler spill (warn_sbuf_spill).

PROBLEM: ew_muladd
EXPECT: correct
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    staging = nl.ndarray((a.shape[0] // 128, nl.par_dim(128), 48 * 1024), dtype=nl.float32, buffer=nl.sbuf)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        staging[i, :, 0:128] = nl.add(nl.multiply(x, y), x)
    for i in nl.affine_range(a.shape[0] // 128):
        nl.store(out[i * 128:(i + 1) * 128, :], value=staging[i, :, 0:128])
    return out
