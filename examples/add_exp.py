"""A small legacy-dialect kernel: out = exp(a + b), tiled over rows of 128."""

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def add_exp(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    rows, cols = a.shape
    for i in nl.affine_range((rows + 127) // 128):
        i_p = nl.arange(128)[:, None] + i * 128
        i_f = nl.arange(cols)[None, :]
        x = nl.load(a[i_p, i_f], mask=(i_p < rows))
        y = nl.load(b[i_p, i_f], mask=(i_p < rows))
        nl.store(out[i_p, i_f], value=nl.exp(nl.add(x, y)), mask=(i_p < rows))
    return out
