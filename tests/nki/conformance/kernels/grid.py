"""SPMD grid kernels and ragged (masked) edge tiles (legacy NKI dialect)."""

import math

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def spmd_scaled_add(a, b):
    """out = 2a + b on a 2-D launch grid: instance (x, y) owns block (x, y) of the output."""
    M, N = a.shape
    gx, gy = nl.num_programs(0), nl.num_programs(1)
    bm, bn = M // gx, N // gy
    px, py = nl.program_id(0), nl.program_id(1)
    out = nl.ndarray((M, N), dtype=a.dtype, buffer=nl.shared_hbm)
    i_p = nl.arange(128)[:, None]
    i_f = nl.arange(bn)[None, :]
    for t in nl.affine_range(bm // 128):
        row0 = px * bm + t * 128
        a_t = nl.load(a[row0 + i_p, py * bn + i_f])
        b_t = nl.load(b[row0 + i_p, py * bn + i_f])
        nl.store(out[row0 + i_p, py * bn + i_f], value=nl.add(nl.multiply(a_t, 2.0), b_t))
    return out


@nki.jit
def spmd_matmul(lhsT, rhs):
    """out = lhsT.T @ rhs where instance (x, y) computes the (x, y) block of [128 x 512] tiles."""
    K, M = lhsT.shape
    _, N = rhs.shape
    m, n = nl.program_id(0), nl.program_id(1)
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
    for k in nl.affine_range(K // 128):
        a = nl.load(lhsT[nl.ds(k * 128, 128), nl.ds(m * 128, 128)])
        b = nl.load(rhs[nl.ds(k * 128, 128), nl.ds(n * 512, 512)])
        acc += nisa.nc_matmul(a, b)
    nl.store(out[nl.ds(m * 128, 128), nl.ds(n * 512, 512)], value=acc)
    return out


@nki.jit
def masked_gelu_bias(x, bias):
    """out = gelu(x + bias) over x [M, N] in 128 x 512 tiles; the edge tiles are masked on both axes."""
    M, N = x.shape
    out = nl.ndarray((M, N), dtype=x.dtype, buffer=nl.shared_hbm)
    i_p = nl.arange(128)[:, None]
    i_f = nl.arange(512)[None, :]
    i_one = nl.arange(1)[:, None]
    for c in nl.affine_range(math.ceil(N / 512)):
        cols = c * 512 + i_f < N
        b_row = nl.load(bias[i_one, c * 512 + i_f], mask=cols)
        for r in nl.affine_range(math.ceil(M / 128)):
            inside = (r * 128 + i_p < M) & (c * 512 + i_f < N)
            x_t = nl.load(x[r * 128 + i_p, c * 512 + i_f], mask=inside)
            y = nl.gelu(nl.add(x_t, b_row, mask=inside), mask=inside)
            nl.store(out[r * 128 + i_p, c * 512 + i_f], value=y, mask=inside)
    return out


@nki.jit
def masked_matmul(a, b):
    """out = a @ b for shapes that are not multiples of the tile sizes: edge tiles of both operands
    are loaded under masks into zero-filled tiles, so the padding contributes nothing."""
    M, K = a.shape
    _, N = b.shape
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    i_p = nl.arange(128)[:, None]
    i_k = nl.arange(128)[None, :]
    i_n = nl.arange(512)[None, :]
    for m in nl.affine_range(math.ceil(M / 128)):
        for n in nl.affine_range(math.ceil(N / 512)):
            acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(math.ceil(K / 128)):
                a_t = nl.zeros((128, 128), dtype=a.dtype, buffer=nl.sbuf)
                a_t[i_p, i_k] = nl.load(a[m * 128 + i_p, k * 128 + i_k],
                                        mask=(m * 128 + i_p < M) & (k * 128 + i_k < K))
                b_t = nl.zeros((128, 512), dtype=b.dtype, buffer=nl.sbuf)
                b_t[i_p, i_n] = nl.load(b[k * 128 + i_p, n * 512 + i_n],
                                        mask=(k * 128 + i_p < K) & (n * 512 + i_n < N))
                acc += nl.matmul(a_t, b_t, transpose_x=False)
            nl.store(out[m * 128 + i_p, n * 512 + i_n], value=acc, mask=(m * 128 + i_p < M) & (n * 512 + i_n < N))
    return out
