"""3x3 convolution as nine shifted matmuls per block of output rows, input channels on the partitions.

Baseline: ROWS = 1, so each output row is its own PSUM accumulation group of nine [Cin, W]
matmuls and every matmul streams only W = 28 columns through the Tensor engine.
"""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl

ROWS = 1  # output rows per accumulation group (ROWS * W fp32 must fit one PSUM bank)


@nki.jit
def conv2d(x, w):
    N, CIN, H, W = x.shape
    KH, KW, _, COUT = w.shape
    assert CIN <= 128 and COUT <= 128 and KH == 3 and KW == 3 and H % ROWS == 0
    out = nl.ndarray((N, COUT, H, W), dtype=x.dtype, buffer=nl.shared_hbm)

    for n in nl.affine_range(N):
        w_taps = nl.ndarray((KH, KW, nl.par_dim(CIN), COUT), dtype=w.dtype, buffer=nl.sbuf)
        for kh in nl.affine_range(KH):
            for kw in nl.affine_range(KW):
                w_taps[kh, kw] = nl.load(w[kh, kw])
        padded = nl.zeros((CIN, H + 2, W + 2), dtype=x.dtype, buffer=nl.sbuf)
        padded[:, 1:H + 1, 1:W + 1] = nl.load(x[n])

        for r in nl.affine_range(H // ROWS):
            r0 = r * ROWS
            acc = nl.zeros((COUT, ROWS, W), nl.float32, buffer=nl.psum)
            for kh in nl.affine_range(KH):
                for kw in nl.affine_range(KW):
                    acc += nisa.nc_matmul(w_taps[kh, kw], padded[:, r0 + kh:r0 + kh + ROWS, kw:kw + W])
            nl.store(out[n, :, r0:r0 + ROWS, :], value=nl.copy(acc, dtype=x.dtype))
    return out
