"""RoPE, one 128-token tile and one head at a time, each half-head loaded and stored separately."""

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

HEAD_DIM = 128
P = 128


@nki.jit
def rope(x, cos, sin):
    T, HD = x.shape
    half = HEAD_DIM // 2
    assert T % P == 0 and HD % HEAD_DIM == 0 and cos.shape == (T, half)
    out = nl.ndarray((T, HD), dtype=x.dtype, buffer=nl.shared_hbm)

    for t in nl.affine_range(T // P):
        rows = slice(t * P, (t + 1) * P)
        c = nl.load(cos[rows, :])
        s = nl.load(sin[rows, :])
        for h in nl.affine_range(HD // HEAD_DIM):
            lo = h * HEAD_DIM
            x1 = nl.load(x[rows, lo:lo + half], dtype=nl.float32)
            x2 = nl.load(x[rows, lo + half:lo + HEAD_DIM], dtype=nl.float32)
            y1 = nl.subtract(nl.multiply(x1, c), nl.multiply(x2, s), dtype=x.dtype)
            y2 = nl.add(nl.multiply(x2, c), nl.multiply(x1, s), dtype=x.dtype)
            nl.store(out[rows, lo:lo + half], value=y1)
            nl.store(out[rows, lo + half:lo + HEAD_DIM], value=y2)
    return out
