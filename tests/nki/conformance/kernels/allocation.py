"""Direct allocation: SBUF buffers placed by the kernel with ncc.sbuf.mod_alloc (legacy NKI dialect)."""

import neuronxcc.nki as nki
import neuronxcc.nki.compiler as ncc
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def residual_gelu(x, skip):
    """out = gelu(x) + skip over [N, 512] row tiles, every buffer double-buffered at a fixed address."""
    N, F = x.shape
    tiles = N // 128
    row_bytes = F * 4
    out = nl.ndarray((N, F), dtype=x.dtype, buffer=nl.shared_hbm)
    zero = nl.ndarray((nl.par_dim(128), 1), dtype=nl.float32, buffer=ncc.sbuf.mod_alloc(base_addr=0))
    x_buf = nl.ndarray((tiles, nl.par_dim(128), F), dtype=nl.float32,
                       buffer=ncc.sbuf.mod_alloc(base_addr=64, num_free_tiles=(2,)))
    s_buf = nl.ndarray((tiles, nl.par_dim(128), F), dtype=nl.float32,
                       buffer=ncc.sbuf.mod_alloc(base_addr=64 + 2 * row_bytes, num_free_tiles=(2,)))
    y_buf = nl.ndarray((tiles, nl.par_dim(128), F), dtype=nl.float32,
                       buffer=ncc.sbuf.mod_alloc(base_addr=64 + 4 * row_bytes, num_free_tiles=(2,)))
    zero[...] = nisa.memset((128, 1), 0.0, dtype=nl.float32)
    for t in nl.affine_range(tiles):
        x_buf[t] = nl.load(x[t * 128:(t + 1) * 128, :], dtype=nl.float32)
        s_buf[t] = nl.load(skip[t * 128:(t + 1) * 128, :], dtype=nl.float32)
        y_buf[t] = nisa.activation(op=nl.gelu, data=x_buf[t], bias=zero)
        y_buf[t] = nisa.tensor_tensor(y_buf[t], s_buf[t], op=nl.add)
        nl.store(out[t * 128:(t + 1) * 128, :], value=y_buf[t])
    return out
