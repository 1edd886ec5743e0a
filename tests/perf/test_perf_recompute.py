"""Recomputed values: an instruction repeating an intact earlier result costs no engine time."""

from __future__ import annotations

import pytest

from autocomp.perf import get_target, profile
from autocomp.perf.recompute import recomputed
from autocomp.perf.scheduler import schedule
from tests.fakes.perf_trace_builder import TraceBuilder

T1 = get_target("trn1")
DVE_NS = 1 / 1.12
N = 2048  # fp32 tensor_tensor: 2N Vector cycles


def _loop_invariant(trips: int = 8, reload: bool = False):
    """``prod = a * b`` then ``out_i = prod * c_i`` per iteration; ``a``/``b`` loaded once (or per trip)."""
    b = TraceBuilder()
    h = b.hbm(128, N, "float32")
    a, bb = b.sbuf(128, N, "float32"), b.sbuf(128, N, "float32")
    b.dma(b.on(a), b.rows(h, 0, 128, 0, N))
    b.dma(b.on(bb), b.rows(h, 0, 128, 0, N))
    for _ in range(trips):
        if reload:
            a = b.sbuf(128, N, "float32")
            b.dma(b.on(a), b.rows(h, 0, 128, 0, N))
        prod, c, out = (b.sbuf(128, N, "float32") for _ in range(3))
        b.op("TENSOR_TENSOR", "dve", b.on(prod), b.on(a), b.on(bb), op="multiply")
        b.op("TENSOR_TENSOR", "dve", b.on(out), b.on(prod), b.on(c), op="multiply")
    return b.trace


def test_loop_invariant_instruction_is_charged_once():
    trace = _loop_invariant()
    shared = recomputed(trace)
    assert len(shared) == 7  # every trip after the first repeats a * b
    first = min(shared.values())
    assert all(orig == first for orig in shared.values())
    s = schedule(trace, T1)
    assert s.recomputed == 7
    assert s.busy_ns["dve"] == pytest.approx((8 + 1) * 2 * N * DVE_NS)  # one a*b, eight prod*c
    assert s.count["dve"] == 9
    for dup, orig in shared.items():  # still ordered after the result it repeats
        assert s.end[dup] >= s.end[orig]


def test_reloaded_input_is_a_new_value_and_is_recomputed():
    trace = _loop_invariant(reload=True)
    assert recomputed(trace) == {}
    assert profile(trace).latency_ns > profile(_loop_invariant()).latency_ns


def test_input_written_in_between_is_not_shared():
    b = TraceBuilder()
    a, c, x, y = (b.sbuf(128, N, "float32") for _ in range(4))
    b.op("TENSOR_TENSOR", "dve", b.on(x), b.on(a), b.on(c), op="add")
    b.op("TENSOR_SCALAR", "act", b.on(a), b.on(x), ops=("multiply",))  # a changes
    b.op("TENSOR_TENSOR", "dve", b.on(y), b.on(a), b.on(c), op="add")
    assert recomputed(b.trace) == {}


def test_different_attributes_or_regions_are_different_values():
    b = TraceBuilder()
    a, c, x, y, z = (b.sbuf(128, N, "float32") for _ in range(5))
    b.op("TENSOR_TENSOR", "dve", b.on(x), b.on(a), b.on(c), op="add")
    b.op("TENSOR_TENSOR", "dve", b.on(y), b.on(a), b.on(c), op="multiply")
    b.op("TENSOR_TENSOR", "dve", b.on(z), b.on(a, f=N // 2), b.on(c, f=N // 2), op="add")
    assert recomputed(b.trace) == {}


def test_scalar_operand_instructions_are_never_shared():
    """A tensor_scalar's constant is not in the trace: two of them may compute different values."""
    b = TraceBuilder()
    a, x, y = (b.sbuf(128, N, "float32") for _ in range(3))
    b.op("TENSOR_SCALAR", "dve", b.on(x), b.on(a), ops=("multiply",))
    b.op("TENSOR_SCALAR", "dve", b.on(y), b.on(a), ops=("multiply",))
    assert recomputed(b.trace) == {}


def test_copy_updated_in_place_keeps_its_own_computation():
    """An accumulator initialised from a repeated value needs its own buffer: no sharing."""
    b = TraceBuilder()
    a, c, d = (b.sbuf(128, N, "float32") for _ in range(3))
    x, acc = b.sbuf(128, N, "float32"), b.sbuf(128, N, "float32")
    b.op("TENSOR_TENSOR", "dve", b.on(x), b.on(a), b.on(c), op="add")
    b.op("TENSOR_TENSOR", "dve", b.on(acc), b.on(a), b.on(c), op="add")
    b.op("TENSOR_TENSOR", "dve", b.on(acc), b.on(acc), b.on(d), op="add")
    assert recomputed(b.trace) == {}


def test_original_overwritten_while_the_copy_is_read_is_not_shared():
    b = TraceBuilder()
    a, c, d, x, y, out = (b.sbuf(128, N, "float32") for _ in range(6))
    b.op("TENSOR_TENSOR", "dve", b.on(x), b.on(a), b.on(c), op="add")
    b.op("TENSOR_TENSOR", "dve", b.on(y), b.on(a), b.on(c), op="add")
    b.op("TENSOR_COPY", "act", b.on(x), b.on(d))  # the original's buffer gets new data
    b.op("TENSOR_TENSOR", "dve", b.on(out), b.on(y), b.on(d), op="add")  # the copy is still needed
    assert recomputed(b.trace) == {}


def test_accumulating_matmul_is_never_shared():
    b = TraceBuilder()
    st, mv = b.sbuf(128, 128), b.sbuf(128, 512)
    acc = b.psum(128, 512)
    for _ in range(4):
        b.matmul(b.on(acc), b.on(st), b.on(mv), accumulate=True)
    assert recomputed(b.trace) == {}


def test_repeated_transpose_in_a_kernel_is_shared_end_to_end():
    """A real v1 kernel: the same tile transposed in every iteration of an affine_range loop."""
    import numpy as np

    from autocomp.nki import run_kernel
    from autocomp.nki.v1 import isa as nisa
    from autocomp.nki.v1 import language as nl

    def kernel(x):
        out = nl.ndarray((4, 128, 128), dtype=x.dtype, buffer=nl.shared_hbm)
        t = nl.load(x)
        for i in nl.affine_range(4):
            tt = nisa.nc_transpose(t)
            r = nl.multiply(tt, 2.0)
            nl.store(out[i], value=r)
        return out

    x = np.arange(128 * 128, dtype=np.float32).reshape(128, 128)
    result = run_kernel(kernel, [x], target="trn1")
    np.testing.assert_array_equal(np.asarray(result.outputs)[3], 2 * x.T)
    p = profile(result.trace, "trn1")
    assert p.recomputed_instructions == 3
    assert "recompute a value the kernel already holds" in p.describe()
