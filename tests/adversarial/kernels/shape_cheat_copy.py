"""Work skipped at full size with every output byte still written: computes at the check shapes, only copies
the input at the timed shapes (a cheap DMA-only run whose latency would be reported).

PROBLEM: ew_check
EXPECT: rejected
REASON: special-case the timed shapes
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def scale_shift(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        if a.shape[0] > 256:
            nl.store(out[i * 128:(i + 1) * 128, :], value=x)
        else:
            nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, 2.0), 1.0))
    return out
