"""Instruction cost formulas (docs/cost-model.md#mechanisms-and-their-sources), pinned in engine cycles."""

from __future__ import annotations

import pytest

from autocomp.perf import get_target, profile
from autocomp.perf.costs import engine_cycles, engine_timing, instruction_flops, load_stationary_cycles, matmul_cycles
from tests.fakes.perf_trace_builder import TraceBuilder

T1 = get_target("trn1")
T2 = get_target("trn2")


def _mm(m=128, n=512, k=128, dtype="bfloat16", **attrs):
    b = TraceBuilder()
    st = b.sbuf(k, m, dtype)
    mv = b.sbuf(k, n, dtype)
    ps = b.psum(m, n)
    return b.matmul(b.on(ps), b.on(st), b.on(mv), fp32=dtype == "float32", **attrs)


@pytest.mark.parametrize("m,n,expected", [(128, 512, 512), (128, 32, 64), (16, 8, 16), (128, 64, 64)])
def test_matmul_is_max_of_min64_stationary_and_moving(m, n, expected):
    assert matmul_cycles(_mm(m, n), T1) == expected


def test_fp32_matmul_is_4x_and_onezero_halves_it():
    assert matmul_cycles(_mm(dtype="float32"), T1) == 4 * 512
    assert matmul_cycles(_mm(dtype="float32", onezero=True), T1) == 2 * 512


def test_load_stationary_is_4x_faster_than_moving_of_same_size():
    assert load_stationary_cycles(_mm(m=128), T1) == 32


@pytest.mark.parametrize("p,f,expected", [(128, 128, 128), (32, 128, 64), (32, 16, 32)])
def test_pe_transpose_is_max_p_min64_f(p, f, expected):
    b = TraceBuilder()
    src = b.sbuf(p, f)
    dst = b.psum(f, p, "bfloat16")
    ins = b.pe_transpose(b.on(dst), b.on(src))
    assert engine_cycles(ins, T1) == (expected, True)


def _vec(opcode, engine="dve", n=1024, dtypes=("float32", "float32", "float32"), bufs=("sbuf", "sbuf", "sbuf"),
         **attrs):
    b = TraceBuilder()
    tensors = [b.tensor((128, n), dt, buf) for dt, buf in zip(dtypes, bufs)]
    return b.op(opcode, engine, b.on(tensors[0]), *(b.on(t) for t in tensors[1:]), **attrs)


def test_tensor_tensor_is_2n_unless_psum_operand_or_bf16_add():
    assert engine_cycles(_vec("TENSOR_TENSOR", op="multiply"), T1)[0] == 2048
    psum = _vec("TENSOR_TENSOR", bufs=("sbuf", "psum", "sbuf"), op="multiply")
    assert engine_cycles(psum, T1)[0] == 1024
    bf16 = _vec("TENSOR_TENSOR", dtypes=("bfloat16",) * 3, op="add")
    assert engine_cycles(bf16, T1)[0] == 1024
    bf16_max = _vec("TENSOR_TENSOR", dtypes=("bfloat16",) * 3, op="maximum")
    assert engine_cycles(bf16_max, T1)[0] == 2048


@pytest.mark.parametrize("opcode,factor", [
    ("TENSOR_SCALAR", 1), ("TENSOR_COPY", 1), ("BN_STATS", 1), ("RECIPROCAL", 8), ("TENSOR_TENSOR_SCAN", 2),
])
def test_vector_rules_in_n(opcode, factor):
    ins = _vec(opcode, dtypes=("float32", "float32"), bufs=("sbuf", "sbuf"))
    assert engine_cycles(ins, T1)[0] == factor * 1024


def test_bn_aggr_is_13n_over_3():
    ins = _vec("BN_AGGR", n=96 * 3, dtypes=("float32", "float32"), bufs=("sbuf", "sbuf"))
    assert engine_cycles(ins, T1)[0] == pytest.approx(13 * 288 / 3)


def test_tensor_reduce_is_half_n_for_bf16_add_or_max_only():
    b = TraceBuilder()
    src_bf, dst_bf = b.sbuf(128, 1024), b.sbuf(128, 1)
    fast = b.add("TENSOR_REDUCE", "dve", [b.on(dst_bf)], [b.on(src_bf)], 128, 1024, {"op": "add"})
    src32, dst32 = b.sbuf(128, 1024, "float32"), b.sbuf(128, 1, "float32")
    slow = b.add("TENSOR_REDUCE", "dve", [b.on(dst32)], [b.on(src32)], 128, 1024, {"op": "add"})
    assert engine_cycles(fast, T1)[0] == 512
    assert engine_cycles(slow, T1)[0] == 1024


def test_min_ii_and_static_overhead_for_tiny_instructions():
    small = _vec("TENSOR_SCALAR", n=100, dtypes=("float32", "float32"), bufs=("sbuf", "sbuf"))
    assert engine_cycles(small, T1)[0] == 100  # above MIN_II, not tiny
    tiny = _vec("TENSOR_SCALAR", n=1, dtypes=("float32", "float32"), bufs=("sbuf", "sbuf"))
    # MIN_II of engine time; ARCH1's static overhead delays only a dependent instruction
    assert engine_cycles(tiny, T1)[0] == 64
    assert engine_timing(tiny, T1) == (64, 100, True)
    assert engine_timing(small, T1) == (100, 0.0, True)
    busy = T1.with_calibration(static_overhead_occupancy=1.0)
    assert engine_timing(tiny, busy) == (164, 0.0, True)


def test_activation_costs_max_min_ii_n_on_scalar_engine_and_reduce_adds_read_accumulator():
    act = _vec("ACTIVATE", engine="act", n=512, dtypes=("float32", "float32"), bufs=("sbuf", "sbuf"))
    assert engine_cycles(act, T1)[0] == 512
    red = _vec("ACTIVATE", engine="act", n=512, dtypes=("float32", "float32"), bufs=("sbuf", "sbuf"), reduce=True)
    assert engine_cycles(red, T1)[0] == 512 + 64


def test_gpsimd_iota_has_150_cycle_startup():
    b = TraceBuilder()
    t = b.sbuf(128, 256, "float32")
    assert engine_cycles(b.op("IOTA", "pool", b.on(t)), T1)[0] == 150 + 256


def test_memset_zero_bf16_is_half_n():
    b = TraceBuilder()
    t = b.sbuf(128, 1024)
    assert engine_cycles(b.op("MEMSET", "dve", b.on(t), value=0), T1)[0] == 512
    assert engine_cycles(b.op("MEMSET", "dve", b.on(t), value=1.0), T1)[0] == 1024


def test_minor_stride_over_16_bytes_halves_bandwidth():
    b = TraceBuilder()
    src = b.sbuf(128, 4096, "float32")
    dst = b.sbuf(128, 512, "float32")
    dense = b.op("TENSOR_SCALAR", "dve", b.on(dst), b.on(src, f=512))
    strided = b.op("TENSOR_SCALAR", "dve", b.on(dst), b.on(src, f=512, stride=8))  # 32 B stride
    assert engine_cycles(strided, T1)[0] == 2 * engine_cycles(dense, T1)[0]


def test_trn2_vector_performance_modes():
    copy16 = _vec("TENSOR_COPY", dtypes=("bfloat16", "bfloat16"), bufs=("sbuf", "sbuf"))
    from_psum = _vec("TENSOR_COPY", dtypes=("bfloat16", "bfloat16"), bufs=("sbuf", "psum"))
    copy32 = _vec("TENSOR_COPY", dtypes=("float32", "float32"), bufs=("sbuf", "sbuf"))
    assert engine_cycles(copy16, T2)[0] == 1024 / 4
    assert engine_cycles(from_psum, T2)[0] == 1024 / 2
    assert engine_cycles(copy32, T2)[0] == 1024
    assert engine_cycles(copy16, T1)[0] == 1024  # no performance modes on NC-v2


def test_engine_clocks_turn_cycles_into_different_ns_per_target():
    def vector_ns(target):
        b = TraceBuilder(target)
        t = b.sbuf(128, 4096, "float32")
        u = b.sbuf(128, 4096, "float32")
        b.op("TENSOR_SCALAR", "dve", b.on(u), b.on(t))
        p = profile(b.trace)
        return p.engines["dve"].active_ns

    assert vector_ns("trn1") == pytest.approx(4096 / 1.12)
    assert vector_ns("trn2") == pytest.approx(4096 / 0.96)


def test_unknown_opcode_gets_a_default_and_is_counted():
    b = TraceBuilder()
    t = b.sbuf(128, 64, "float32")
    b.op("FANCY_NEW_OP", "dve", b.on(t))
    p = profile(b.trace)
    assert p.unknown_opcodes == {"FANCY_NEW_OP@dve": 1}
    assert p.engines["dve"].active_ns >= get_target("trn1").cal.unknown_opcode_cycles / 1.12
    assert any(h.code == "unknown-opcode" for h in p.hints)


def test_matmul_flops_and_double_row():
    assert instruction_flops(_mm())[0] == 2 * 128 * 128 * 512
    assert instruction_flops(_mm(perf_mode="double_row"))[0] == 2 * 2 * 128 * 128 * 512


def test_calibration_is_data_not_code():
    slow = T1.with_calibration(dma_descriptor_ns=100.0)
    b = TraceBuilder()
    h = b.hbm(128, 512)
    t = b.sbuf(128, 512)
    b.dma(b.on(t), b.rows(h, 0, 128, 0, 512))
    assert profile(b.trace, slow).latency_ns > profile(b.trace, T1).latency_ns
