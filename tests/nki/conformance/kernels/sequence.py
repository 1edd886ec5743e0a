"""Kernels along a sequence axis: Mamba-style selective scan, cumulative sums and a causal
depthwise conv1d (legacy NKI dialect). Channels ride the partitions, time the free axis."""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def selective_scan(delta, u, A, B, C):
    """y[c, t] = sum_n C[n, t] h_n[c, t], with h_n[c, t] = exp(delta A[c, n]) h_n[c, t-1] + delta B[n, t] u[c, t].

    delta, u: [channels, L]; A: [channels, N]; B, C: [N, L]. Time runs in chunks of T and
    the state of each chunk's last step seeds the next chunk's scan.
    """
    CH, L = u.shape
    N = A.shape[1]
    T = 128
    out = nl.ndarray((CH, L), dtype=u.dtype, buffer=nl.shared_hbm)
    for c in nl.affine_range(CH // 128):
        rows = nl.ds(c * 128, 128)
        d_t = nl.load(delta[rows, :], dtype=nl.float32)
        u_t = nl.load(u[rows, :], dtype=nl.float32)
        a_t = nl.load(A[rows, :], dtype=nl.float32)
        du = nl.multiply(d_t, u_t)
        y = nl.zeros((128, L), dtype=nl.float32, buffer=nl.sbuf)
        for n in nl.affine_range(N):
            b_row = nl.load(B[n:n + 1, :], dtype=nl.float32)
            c_row = nl.load(C[n:n + 1, :], dtype=nl.float32)
            carry = nl.zeros((128, 1), dtype=nl.float32, buffer=nl.sbuf)
            for k in nl.sequential_range(L // T):
                cols = nl.ds(k * T, T)
                decay = nisa.activation(op=nl.exp, data=d_t[:, cols], scale=a_t[:, n:n + 1])
                drive = nl.multiply(du[:, cols], b_row[:, cols])  # B's row broadcasts over the channels
                h = nisa.tensor_tensor_scan(decay, drive, initial=carry, op0=nl.multiply, op1=nl.add)
                carry[...] = nl.copy(h[:, T - 1:T])
                y[:, cols] += nl.multiply(h, c_row[:, cols])
        nl.store(out[rows, :], value=nl.copy(y, dtype=u.dtype))
    return out


@nki.jit
def cumsum_free(x):
    """Running sum along each row (the free axis) with one tensor_tensor_scan per tile."""
    R, L = x.shape
    out = nl.ndarray((R, L), dtype=x.dtype, buffer=nl.shared_hbm)
    ones = nl.ones((128, L), dtype=nl.float32)
    for r in nl.affine_range(R // 128):
        x_t = nl.load(x[r * 128:(r + 1) * 128, :])
        s = nisa.tensor_tensor_scan(ones, x_t, initial=0.0, op0=nl.multiply, op1=nl.add, dtype=x.dtype)
        nl.store(out[r * 128:(r + 1) * 128, :], value=s)
    return out


@nki.jit
def cumsum_rows(x):
    """Running sum down the rows (the partition axis) on the Tensor engine.

    Tile j of the result is tri^T x_j + sum_{i<j} ones^T x_i, where tri[k, m] = (m >= k)
    comes from affine_select; everything accumulates in one PSUM tile per output tile.
    """
    S, D = x.shape
    tiles = S // 128
    out = nl.ndarray((S, D), dtype=x.dtype, buffer=nl.shared_hbm)
    i_p = nl.arange(128)[:, None]
    i_f = nl.arange(128)[None, :]
    ones = nl.ones((128, 128), dtype=x.dtype)
    tri = nisa.affine_select(pred=(i_f - i_p >= 0), on_true_tile=ones, on_false_value=0.0)
    x_sb = nl.ndarray((tiles, nl.par_dim(128), D), dtype=x.dtype, buffer=nl.sbuf)
    for j in nl.static_range(tiles):
        x_sb[j] = nl.load(x[j * 128:(j + 1) * 128, :])
    for j in nl.static_range(tiles):
        acc = nl.zeros((128, D), nl.float32, buffer=nl.psum)
        acc += nisa.nc_matmul(tri, x_sb[j])
        for i in nl.static_range(j):
            acc += nisa.nc_matmul(ones, x_sb[i])
        nl.store(out[j * 128:(j + 1) * 128, :], value=nl.copy(acc, dtype=x.dtype))
    return out


@nki.jit
def depthwise_conv1d_causal(x, w):
    """y[c, t] = sum_k w[c, k] x[c, t - (K-1) + k], zero left padding (the Mamba conv)."""
    CH, L = x.shape
    K = w.shape[1]
    out = nl.ndarray((CH, L), dtype=x.dtype, buffer=nl.shared_hbm)
    for c in nl.affine_range(CH // 128):
        rows = nl.ds(c * 128, 128)
        padded = nl.zeros((128, K - 1 + L), dtype=nl.float32, buffer=nl.sbuf)
        padded[:, K - 1:K - 1 + L] = nl.load(x[rows, :], dtype=nl.float32)
        w_t = nl.load(w[rows, :], dtype=nl.float32)
        acc = nl.multiply(padded[:, 0:L], w_t[:, 0:1])
        for k in nl.static_range(1, K):
            # acc[...] = keeps one tensor; rebinding acc would leave it scoped to the loop body.
            acc[...] = nisa.scalar_tensor_tensor(data=padded[:, k:k + L], op0=nl.multiply, operand0=w_t[:, k:k + 1],
                                                 op1=nl.add, operand1=acc)
        nl.store(out[rows, :], value=nl.copy(acc, dtype=x.dtype))
    return out
