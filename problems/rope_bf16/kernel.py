"""RoPE, one 128-token tile and one head at a time, each half-head loaded and stored separately."""

import nki
import nki.isa as nisa
import nki.language as nl

HEAD_DIM = 128
P = 128


@nki.jit
def rope(x, cos, sin):
    T, HD = x.shape
    half = HEAD_DIM // 2
    assert T % P == 0 and HD % HEAD_DIM == 0 and cos.shape == (T, half)
    out = nl.ndarray((T, HD), dtype=x.dtype, buffer=nl.shared_hbm)

    for t in range(T // P):
        rows = slice(t * P, (t + 1) * P)
        c = nl.ndarray((P, half), dtype=cos.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=c, src=cos[rows, :])
        s = nl.ndarray((P, half), dtype=sin.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=s, src=sin[rows, :])
        for h in range(HD // HEAD_DIM):
            lo = h * HEAD_DIM
            x1 = nl.ndarray((P, half), dtype=nl.float32, buffer=nl.sbuf)
            nisa.dma_copy(dst=x1, src=x[rows, lo:lo + half])  # the DMA casts to fp32
            x2 = nl.ndarray((P, half), dtype=nl.float32, buffer=nl.sbuf)
            nisa.dma_copy(dst=x2, src=x[rows, lo + half:lo + HEAD_DIM])
            # y1 = x1 c - x2 s;  y2 = x2 c + x1 s
            a = nl.ndarray((P, half), dtype=nl.float32, buffer=nl.sbuf)
            b = nl.ndarray((P, half), dtype=nl.float32, buffer=nl.sbuf)
            y1 = nl.ndarray((P, half), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=a, data1=x1, data2=c, op=nl.multiply)
            nisa.tensor_tensor(dst=b, data1=x2, data2=s, op=nl.multiply)
            nisa.tensor_tensor(dst=y1, data1=a, data2=b, op=nl.subtract)
            y2 = nl.ndarray((P, half), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=a, data1=x2, data2=c, op=nl.multiply)
            nisa.tensor_tensor(dst=b, data1=x1, data2=s, op=nl.multiply)
            nisa.tensor_tensor(dst=y2, data1=a, data2=b, op=nl.add)
            nisa.dma_copy(dst=out[rows, lo:lo + half], src=y1)
            nisa.dma_copy(dst=out[rows, lo + half:lo + HEAD_DIM], src=y2)
    return out
