"""Row softmax, one 128-row tile at a time: max, subtract, exp, sum, divide as separate passes."""

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def softmax(x):
    N, D = x.shape
    assert N % 128 == 0
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)

    for t in nl.affine_range(N // 128):
        x_t = nl.load(x[t * 128:(t + 1) * 128, :])
        row_max = nl.max(x_t, axis=[1], keepdims=True)
        e = nl.exp(nl.subtract(x_t, row_max))
        row_sum = nl.sum(e, axis=[1], keepdims=True)
        y = nl.divide(e, row_sum)
        nl.store(out[t * 128:(t + 1) * 128, :], value=y)
    return out
