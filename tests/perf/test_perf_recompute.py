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


def _broadcast(dialect: str, width: int):
    """The trace of one partition broadcast of an SBUF row of ``width`` floats, stored."""
    import numpy as np

    import autocomp.nki
    from autocomp.nki import run_kernel

    autocomp.nki.install()
    if dialect == "v1":
        import neuronxcc.nki.language as nl

        def kernel(row):
            out = nl.ndarray((128, width), dtype=row.dtype, buffer=nl.shared_hbm)
            nl.store(out, value=nl.broadcast_to(nl.load(row), shape=(128, width)))
            return out
    else:
        import nki
        import nki.isa as nisa
        import nki.language as nl

        @nki.jit
        def kernel(row):
            out = nl.ndarray((128, width), dtype=row.dtype, buffer=nl.shared_hbm)
            r = nl.ndarray((1, width), dtype=row.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=r, src=row)
            nisa.dma_copy(dst=out, src=nl.broadcast_to(r, (128, width)))
            return out

    row = np.arange(width, dtype=np.float32).reshape(1, width)
    result = run_kernel(kernel, [row], target="trn1", dialect=dialect)
    np.testing.assert_array_equal(np.asarray(result.outputs), np.broadcast_to(row, (128, width)))
    return result.trace


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_every_chunk_of_a_wide_partition_broadcast_is_charged(dialect):
    """A row wider than one PSUM bank is broadcast in 512-element chunks; each chunk reads a different slice
    of the row, so none repeats another and Tensor-engine time grows with the number of chunks."""
    one = schedule(_broadcast(dialect, 512), T1)
    wide_trace = _broadcast(dialect, 2048)
    assert recomputed(wide_trace) == {}
    wide = schedule(wide_trace, T1)
    assert (one.count["pe"], wide.count["pe"]) == (1, 4)
    # Back-to-back chunks share the ones vector (LoadStationary reuse), so a little under four times.
    assert 3.5 * one.busy_ns["pe"] < wide.busy_ns["pe"] <= 4 * one.busy_ns["pe"]
    assert wide.busy_ns["act"] == pytest.approx(4 * one.busy_ns["act"])


def test_broadcasting_the_same_wide_row_again_is_a_repeat_chunk_by_chunk():
    """The chunk regions keep real repeats visible: a second broadcast of the unchanged row with the same ones
    vector repeats the first one chunk by chunk (its copies out of PSUM still run), while no chunk of one
    broadcast repeats another. Built by hand: the simulator gives every nl.broadcast_to call its own ones
    vector, so in a kernel the second call's matmuls read another tensor and are charged again."""
    b = TraceBuilder()
    row, ones = b.sbuf(1, 2048, "float32"), b.sbuf(1, 128, "float32")
    charged = []
    for rep in range(2):
        out = b.sbuf(128, 2048, "float32")
        for start in range(0, 2048, 512):
            acc = b.psum(128, 512)
            ins = b.matmul(b.on(acc), b.on(ones), b.on(row, offset=start, f=512), fp32=True, key=(ones, 0),
                           onezero=True, broadcast=True)
            charged.append((rep, start, ins.seq))
            b.op("TENSOR_COPY", "act", b.on(out, offset=start, f=512), b.on(acc), broadcast=True)
    shared = recomputed(b.trace)
    first = {start: seq for rep, start, seq in charged if rep == 0}
    assert shared == {seq: first[start] for rep, start, seq in charged if rep == 1}
    s = schedule(b.trace, T1)
    assert (s.count["pe"], s.count["act"]) == (4, 8)
