"""Device loops of the current dialect: fori_loop, while_loop, and (NKI 0.6 pinned) dynamic_range and `while reg:`."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from tests.fakes.v2_support import assert_close, f64, sample


def _count_register(count_hbm):
    """A register loaded from a [1, 1] int32 HBM tensor."""
    c = nl.ndarray((1, 1), dtype=nl.int32)
    nisa.dma_copy(dst=c, src=count_hbm)
    reg = nisa.register_alloc()
    nisa.register_load(reg, c)
    return reg


@nki.jit
def scale_first_tiles(a, count):
    """Doubles the first `count` 128-row tiles; the trip count is only known on the device."""
    N, D = a.shape
    out = nl.ndarray((N, D), dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray((128, D), dtype=a.dtype)
    for i in range(N // 128):  # copy everything once (unrolled)
        nisa.dma_copy(dst=t, src=a[i * 128:(i + 1) * 128])
        nisa.dma_copy(dst=out[i * 128:(i + 1) * 128], src=t)
    for i in nl.dynamic_range(_count_register(count)):
        tile = nl.ndarray((128, D), dtype=a.dtype)
        nisa.dma_copy(dst=tile, src=a.ap([[D, 128], [1, D]], scalar_offset=i * 128))
        nisa.tensor_scalar(dst=tile, data=tile, op0=nl.multiply, operand0=2.0)
        nisa.dma_copy(dst=out.ap([[D, 128], [1, D]], scalar_offset=i * 128), src=tile)
    return out


@nki.jit
def fori_sum(a, lo, hi):
    """Sums rows lo..hi-1 of a with nl.fori_loop (register bounds), accumulating in SBUF."""
    N, D = a.shape
    out = nl.ndarray((1, D), dtype=nl.float32, buffer=nl.shared_hbm)
    acc = nl.zeros((1, D), dtype=nl.float32)

    def body(i):
        row = nl.ndarray((1, D), dtype=nl.float32)
        nisa.dma_copy(dst=row, src=a.ap([[D, 1], [1, D]], scalar_offset=i))
        nisa.tensor_tensor(dst=acc, data1=acc, data2=row, op=nl.add)

    nl.fori_loop(_count_register(lo), _count_register(hi), body)
    nisa.dma_copy(dst=out, src=acc)
    return out


@nki.jit
def fori_carried(a):
    """The JAX form: a value carried through body(i, val) (here a Python count of iterations)."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(a.shape, dtype=a.dtype)
    nisa.dma_copy(dst=t, src=a)

    def body(i, n):
        nisa.tensor_scalar(dst=t, data=t, op0=nl.add, operand0=1.0)
        return n + 1

    n = nl.fori_loop(0, 3, body, 0.0)
    assert n == 3
    nisa.dma_copy(dst=out, src=t)
    return out


@nki.jit
def halve_until_small(a, steps_out):
    """`while reg:` halves a tile until its max is below 1, counting iterations into a register."""
    P, D = a.shape
    out = nl.ndarray((P, D), dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.ndarray((P, D), dtype=nl.float32)
    nisa.dma_copy(dst=t, src=a)
    flag = nl.ndarray((1, 1), dtype=nl.int32)
    mx = nl.ndarray((P, 1), dtype=nl.float32)
    big = nl.ndarray((P, 1), dtype=nl.float32)
    any_big = nl.ndarray((1, 1), dtype=nl.float32)

    def update_flag():
        nisa.tensor_reduce(dst=mx, op=nl.maximum, data=t, axis=1)
        nisa.tensor_scalar(dst=big, data=mx, op0=nl.greater_equal, operand0=1.0)
        nisa.tensor_partition_reduce(dst=any_big, op=nl.maximum, data=big)
        nisa.tensor_copy(dst=flag, src=any_big)

    update_flag()
    reg = nisa.register_alloc(0)
    nisa.register_load(reg, flag)
    steps = nisa.register_alloc(0)
    one = nisa.register_alloc(1)
    count = nl.ndarray((1, 1), dtype=nl.int32)
    while reg:
        nisa.tensor_scalar(dst=t, data=t, op0=nl.multiply, operand0=0.5)
        update_flag()
        nisa.register_load(reg, flag)
        nisa.register_store(count, steps)
        nisa.tensor_scalar(dst=count, data=count, op0=nl.add, operand0=1, engine=nisa.gpsimd_engine)
        nisa.register_load(steps, count)
    nisa.register_move(one, steps)
    nisa.register_store(count, one)
    nisa.dma_copy(dst=steps_out, src=count)
    nisa.dma_copy(dst=out, src=t)
    return out


@nki.jit
def countdown(a):
    """nl.while_loop: the body returns the next condition register (a decreasing counter)."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(a.shape, dtype=a.dtype)
    nisa.dma_copy(dst=t, src=a)
    n = nl.ndarray((1, 1), dtype=nl.int32)

    def body(r):
        nisa.tensor_scalar(dst=t, data=t, op0=nl.multiply, operand0=3.0)
        nisa.register_store(n, r)
        nisa.tensor_scalar(dst=n, data=n, op0=nl.subtract, operand0=1, engine=nisa.gpsimd_engine)
        nxt = nisa.register_alloc()
        nisa.register_load(nxt, n)
        return nxt

    nl.while_loop(nisa.register_alloc(4), body)
    nisa.dma_copy(dst=out, src=t)
    return out


def test_dynamic_range_with_register_bound_and_scalar_offsets(nki_06):
    rng = np.random.default_rng(0)
    a = sample(rng, (512, 64))
    out = scale_first_tiles(a, np.array([[3]], dtype=np.int32))
    ref = f64(a)
    ref[:384] *= 2
    assert_close(out, ref)
    trace = scale_first_tiles.last_result.trace
    dyn = [f for f in trace.loops if f.kind == "dynamic"]
    assert [f.iteration for f in dyn] == [0, 1, 2] and all(f.trip_count == 3 for f in dyn)
    assert sum(1 for i in trace.instructions if i.opcode == "REGISTER" and i.attrs["op"] == "branch") == 3
    assert [trace.loops[i.loop].kind for i in trace.instructions if i.opcode == "TENSOR_SCALAR"] == ["dynamic"] * 3


@pytest.mark.parametrize("lo,hi", [(2, 7), (5, 5)])
def test_fori_loop_with_register_bounds(lo, hi):
    rng = np.random.default_rng(lo)
    a = sample(rng, (8, 32))
    out = fori_sum(a, np.array([[lo]], np.int32), np.array([[hi]], np.int32))
    assert_close(out, f64(a)[lo:hi].sum(axis=0, keepdims=True), tol=1e-5)


def test_fori_loop_carries_a_value():
    a = np.zeros((4, 8), np.float32)
    np.testing.assert_array_equal(fori_carried(a), a + 3)


def test_while_register_loop(nki_06):
    a = np.full((16, 8), 5.0, np.float32)
    a[3, 2] = 40.0
    steps = np.zeros((1, 1), np.int32)
    out = halve_until_small(a, steps)
    assert steps[0, 0] == 6  # 40 / 2**6 < 1 <= 40 / 2**5
    np.testing.assert_allclose(out, a / 64)


def test_while_loop_function():
    a = np.ones((4, 4), np.float32)
    np.testing.assert_array_equal(countdown(a), a * 81)
    assert sum(f.kind == "dynamic" for f in countdown.last_result.trace.loops) == 4


@nki.jit
def writes_induction_variable(a):
    for i in nl.dynamic_range(2):
        nisa.register_move(i, 5)
    return a


@nki.jit
def dynamic_in_no_reorder(a):
    with nl.no_reorder():
        for _ in nl.dynamic_range(2):
            pass
    return a


@nki.jit
def register_step(a):
    for _ in nl.dynamic_range(0, 4, nisa.register_alloc(2)):
        pass
    return a


@pytest.mark.parametrize("kernel,match", [(writes_induction_variable, "read-only"),
                                          (dynamic_in_no_reorder, "no_reorder"),
                                          (register_step, "step")])
def test_dynamic_loop_misuse(kernel, match, nki_06):
    with pytest.raises(NkiError, match=match):
        kernel(np.zeros((2, 2), np.float32))
