"""3x3 / stride 2 max pooling with channels on the partitions, ROWS output rows per instruction.

Baseline: ROWS = 1; each image's channels fill only 64 of the 128 partitions, and every output
row takes nine separate [C, 56] maximum operations over strided views of the padded image.
"""

import nki
import nki.isa as nisa
import nki.language as nl

POOL = 3
STRIDE = 2
ROWS = 1  # output rows per maximum instruction
PAD_VALUE = -1.0e30  # below any input; every window holds at least one real pixel


@nki.jit
def maxpool2d(x):
    N, C, H, W = x.shape
    HO, WO = H // STRIDE, W // STRIDE
    assert C <= 128 and H % STRIDE == 0 and W % STRIDE == 0 and HO % ROWS == 0
    out = nl.ndarray((N, C, HO, WO), dtype=x.dtype, buffer=nl.shared_hbm)

    for n in range(N):
        padded = nl.ndarray((C, H + 2, W + 2), dtype=x.dtype, buffer=nl.sbuf)
        nisa.memset(dst=padded, value=PAD_VALUE)
        nisa.dma_copy(dst=padded[:, 1:H + 1, 1:W + 1], src=x[n])
        for i in range(HO // ROWS):
            top = STRIDE * ROWS * i  # first padded row of this block's windows
            block = nl.ndarray((C, ROWS, WO), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=block, src=padded[:, top:top + STRIDE * ROWS:STRIDE, 0:STRIDE * WO:STRIDE])
            for kh in range(POOL):
                for kw in range(POOL):
                    if kh + kw > 0:
                        window = padded[:, top + kh:top + kh + STRIDE * ROWS:STRIDE, kw:kw + STRIDE * WO:STRIDE]
                        nisa.tensor_tensor(dst=block, data1=block, data2=window, op=nl.maximum)
            nisa.dma_copy(dst=out[n, :, ROWS * i:ROWS * (i + 1), :], src=block)
    return out
