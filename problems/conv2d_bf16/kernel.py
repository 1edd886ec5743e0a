"""3x3 convolution as nine shifted matmuls per block of output rows, input channels on the partitions.

Baseline: ROWS = 1, so each output row is its own PSUM accumulation group of nine [Cin, W]
matmuls and every matmul streams only W = 28 columns through the Tensor engine.
"""

import nki
import nki.isa as nisa
import nki.language as nl

ROWS = 1  # output rows per accumulation group (ROWS * W fp32 must fit one PSUM bank)


@nki.jit
def conv2d(x, w):
    N, CIN, H, W = x.shape
    KH, KW, _, COUT = w.shape
    assert CIN <= 128 and COUT <= 128 and KH == 3 and KW == 3 and H % ROWS == 0
    out = nl.ndarray((N, COUT, H, W), dtype=x.dtype, buffer=nl.shared_hbm)

    for n in range(N):
        w_taps = nl.ndarray((CIN, KH, KW, COUT), dtype=w.dtype, buffer=nl.sbuf)  # every tap, Cin on partitions
        for kh in range(KH):
            for kw in range(KW):
                nisa.dma_copy(dst=w_taps[:, kh, kw, :], src=w[kh, kw])
        padded = nl.ndarray((CIN, H + 2, W + 2), dtype=x.dtype, buffer=nl.sbuf)
        nisa.memset(dst=padded, value=0.0)
        nisa.dma_copy(dst=padded[:, 1:H + 1, 1:W + 1], src=x[n])

        for r in range(H // ROWS):
            r0 = r * ROWS
            acc = nl.ndarray((COUT, ROWS, W), dtype=nl.float32, buffer=nl.psum)
            for kh in range(KH):
                for kw in range(KW):
                    nisa.nc_matmul(dst=acc, stationary=w_taps[:, kh, kw, :],
                                   moving=padded[:, r0 + kh:r0 + kh + ROWS, kw:kw + W])
            res = nl.ndarray((COUT, ROWS, W), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=res, src=acc)
            nisa.dma_copy(dst=out[n, :, r0:r0 + ROWS, :], src=res)
    return out
