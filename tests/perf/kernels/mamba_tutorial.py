"""The first two Mamba (selective scan) kernels of AWS's NKI tutorial, rewritten for
cost-model calibration.

Inputs: delta, u [batch, channels, seq]; A [channels, state]; B, C [batch, state, seq].
Channels go on partitions in tiles of 128. v1 loops state-then-channel-tile and reloads
delta/u for every state; v2 swaps the loops and loads delta/u once per channel tile.
"""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl
import numpy as np

P = 128


def _one_state(delta_t, u_t, A, B, C, batch, state, c0, seq):
    """Steps 1-5 of the scan for one (state, channel tile); returns scan * C."""
    a_col = nl.load(A[c0:c0 + P, state:state + 1])
    decay = nisa.activation(op=nl.exp, data=delta_t, scale=a_col)
    b_row = nl.load(B[batch, state:state + 1, 0:seq])
    drive = nisa.tensor_tensor(nisa.tensor_tensor(delta_t, u_t, op=nl.multiply),
                               b_row.broadcast_to((P, seq)), op=nl.multiply)
    scan = nisa.tensor_tensor_scan(decay, drive, initial=0, op0=np.multiply, op1=np.add)
    c_row = nl.load(C[batch, state:state + 1, 0:seq])
    return nisa.tensor_tensor(scan, c_row.broadcast_to((P, seq)), op=nl.multiply)


@nki.jit
def mamba_v1(delta, u, A, B, C):
    batch, channels, seq = delta.shape
    states = A.shape[1]
    out = nl.ndarray((batch, channels, seq), dtype=delta.dtype, buffer=nl.shared_hbm)
    tiles = channels // P
    for bi in nl.affine_range(batch):
        acc = nl.zeros((tiles, nl.par_dim(P), seq), dtype=delta.dtype)
        for s in nl.affine_range(states):
            for t in nl.affine_range(tiles):
                c0 = t * P
                delta_t = nl.load(delta[bi, c0:c0 + P, 0:seq])
                u_t = nl.load(u[bi, c0:c0 + P, 0:seq])
                acc[t, 0:P, 0:seq] += _one_state(delta_t, u_t, A, B, C, bi, s, c0, seq)
        for t in nl.affine_range(tiles):
            nl.store(out[bi, t * P:(t + 1) * P, 0:seq], acc[t, 0:P, 0:seq])
    return out


@nki.jit
def mamba_v2(delta, u, A, B, C):
    batch, channels, seq = delta.shape
    states = A.shape[1]
    out = nl.ndarray((batch, channels, seq), dtype=delta.dtype, buffer=nl.shared_hbm)
    for bi in nl.affine_range(batch):
        for t in nl.affine_range(channels // P):
            c0 = t * P
            acc = nl.zeros((nl.par_dim(P), seq), dtype=delta.dtype)
            delta_t = nl.load(delta[bi, c0:c0 + P, 0:seq])
            u_t = nl.load(u[bi, c0:c0 + P, 0:seq])
            for s in nl.affine_range(states):
                acc[0:P, 0:seq] += _one_state(delta_t, u_t, A, B, C, bi, s, c0, seq)
            nl.store(out[bi, c0:c0 + P, 0:seq], acc[0:P, 0:seq])
    return out
