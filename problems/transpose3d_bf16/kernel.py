"""[S, H, D] -> [H, D, S]: for each head and 128-token block, load, transpose on the Tensor engine, store.

Baseline: 128 x 128 blocks, each with its own small load, transpose, PSUM copy and store.
"""

import nki
import nki.isa as nisa
import nki.language as nl

P = 128


@nki.jit
def transpose3d(x):
    S, H, D = x.shape
    assert S % P == 0 and D <= P
    out = nl.ndarray((H, D, S), dtype=x.dtype, buffer=nl.shared_hbm)

    for h in range(H):
        for s in range(S // P):
            block = nl.ndarray((P, D), dtype=x.dtype, buffer=nl.sbuf)  # [tokens, D]
            nisa.dma_copy(dst=block, src=x[s * P:(s + 1) * P, h, :])
            flipped_ps = nl.ndarray((D, P), dtype=x.dtype, buffer=nl.psum)
            nisa.nc_transpose(dst=flipped_ps, data=block)
            flipped = nl.ndarray((D, P), dtype=x.dtype, buffer=nl.sbuf)  # [D, tokens]
            nisa.tensor_copy(dst=flipped, src=flipped_ps)
            nisa.dma_copy(dst=out[h, :, s * P:(s + 1) * P], src=flipped)
    return out
