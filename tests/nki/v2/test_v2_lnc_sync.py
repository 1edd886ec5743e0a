"""The two logical cores of kernel[2] synchronising: nisa.core_barrier and nisa.sendrecv.

Instances that synchronise run taking turns (autocomp/nki/lnc.py): each must see the other core's
writes made before the barrier, and the trace must order them so."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from autocomp.perf import profile
from tests.fakes.v2_support import target


@nki.jit
def swap_halves(x):
    """Each core exponentiates its half into a shared tensor, then (after the barrier) copies the other half."""
    shared = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    half = x.shape[0] // 2
    c = nl.program_id(0)
    t = nl.ndarray((half, x.shape[1]), dtype=x.dtype)
    nisa.dma_copy(dst=t, src=x[c * half:(c + 1) * half, :])
    nisa.activation(dst=t, op=nl.exp, data=t)
    nisa.dma_copy(dst=shared[c * half:(c + 1) * half, :], src=t)
    nisa.core_barrier(data=shared, cores=(0, 1))
    other = 1 - c
    u = nl.ndarray((half, x.shape[1]), dtype=x.dtype)
    nisa.dma_copy(dst=u, src=shared[other * half:(other + 1) * half, :])
    nisa.dma_copy(dst=out[c * half:(c + 1) * half, :], src=u)
    return out


def test_core_barrier_makes_each_cores_writes_visible_to_the_other():
    x = np.random.default_rng(0).random((256, 32), dtype=np.float32)
    kernel = swap_halves[2]
    with target("trn2"):
        out = kernel(x)
    np.testing.assert_allclose(out, np.exp(np.concatenate([x[128:], x[:128]])), rtol=1e-6)
    trace = kernel.last_result.trace
    order = [(i.opcode, i.instance) for i in trace.instructions]
    barriers = [k for k, op in enumerate(order) if op[0] == "BARRIER"]
    assert [order[k][1] for k in barriers] == [0, 1]
    # everything before either barrier comes before everything after both
    after = [k for k, (_, inst) in enumerate(order) if k > barriers[1]]
    assert all(order[k][0] != "BARRIER" for k in after) and len(after) == 4
    p = profile(trace, "trn2")
    assert p.unknown_opcodes == {}


def test_core_barrier_needs_two_logical_cores():
    x = np.ones((256, 8), np.float32)
    with target("trn2"), pytest.raises(NkiError) as err:
        swap_halves(x)
    assert err.value.code == "err_unsupported_operation" and "kernel[2]" in str(err.value)


@nki.jit
def exchange(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    half = x.shape[0] // 2
    c = nl.program_id(0)
    mine = nl.ndarray((half, x.shape[1]), dtype=x.dtype)
    nisa.dma_copy(dst=mine, src=x[c * half:(c + 1) * half, :])
    theirs = nl.ndarray((half, x.shape[1]), dtype=x.dtype)
    nisa.sendrecv(src=mine, dst=theirs, send_to_rank=1 - c, recv_from_rank=1 - c, pipe_id=0)
    nisa.tensor_scalar(dst=mine, data=theirs, op0=nl.multiply, operand0=float(c + 2))  # after the exchange
    nisa.dma_copy(dst=out[c * half:(c + 1) * half, :], src=mine)
    return out


def test_sendrecv_swaps_tiles_between_the_cores():
    x = np.random.default_rng(1).random((64, 16), dtype=np.float32)
    kernel = exchange[2]
    with target("trn3"):
        out = kernel(x)
    np.testing.assert_allclose(out[:32], 2.0 * x[32:], rtol=1e-6)
    np.testing.assert_allclose(out[32:], 3.0 * x[:32], rtol=1e-6)
    assert profile(kernel.last_result.trace, "trn3").unknown_opcodes == {}


@nki.jit
def unmatched(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(x.shape, dtype=x.dtype)
    nisa.dma_copy(dst=t, src=x)
    if nl.program_id(0) == 0:
        nisa.core_barrier(data=out, cores=(0, 1))
    nisa.dma_copy(dst=out, src=t)
    return out


def test_a_barrier_only_one_core_reaches_is_an_error_not_a_hang():
    with target("trn2"), pytest.raises(NkiError) as err:
        unmatched[2](np.ones((128, 4), np.float32))
    assert "never reaches" in str(err.value)
