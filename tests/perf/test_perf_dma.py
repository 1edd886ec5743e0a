"""DMA transfer costs: descriptors, engines, efficiency vs size, pipelining, HBM limits."""

from __future__ import annotations

import pytest

from autocomp.perf import get_target, profile
from autocomp.perf.dma import dma_cost, efficiency
from tests.fakes.perf_trace_builder import TraceBuilder

T1, T2 = get_target("trn1"), get_target("trn2")


@pytest.mark.parametrize("size,expected", [(256, 0.32), (2048, 0.79), (4096, 0.88), (8192, 0.94)])
def test_trn2_efficiency_curve_matches_dmabw(size, expected):
    assert efficiency(size, T2) == pytest.approx(expected, abs=0.01)


def test_efficiency_is_monotone_overhead_bound_when_small_and_near_peak_when_large():
    sizes = [2**k for k in range(2, 17)]
    effs = [efficiency(s, T2) for s in sizes]
    assert effs == sorted(effs)
    assert efficiency(64, T2) < 0.15
    assert efficiency(32768, T2) > 0.98


def _load(rows, cols, dtype="float32", target="trn2", col_stride=1, **attrs):
    b = TraceBuilder(target)
    h = b.hbm(max(rows, 128), cols * col_stride, dtype)
    t = b.sbuf(rows, cols, dtype)
    return b, b.dma(b.on(t), b.rows(h, 0, rows, 0, cols, col_stride=col_stride), **attrs)


def test_128_partition_load_uses_16_engines_with_one_descriptor_per_row():
    _, ins = _load(128, 512)
    cost = dma_cost(ins, T2)
    assert (cost.engines, cost.descriptors, cost.nbytes) == (16, 128, 128 * 2048)
    assert cost.engine_ns == pytest.approx(100 + 8 * (24 + 2048 / 23))  # transfer + 8 rows
    assert cost.hbm_read == 128 * 2048 and cost.hbm_write == 0


@pytest.mark.parametrize("p,engines", [(8, 1), (20, 3), (64, 8), (128, 16)])
def test_p_partitions_use_ceil_p_over_8_engines(p, engines):
    _, ins = _load(p, 256)
    assert dma_cost(ins, T2).engines == engines


def test_strided_source_needs_a_piece_per_element_each_costing_a_burst():
    _, ins = _load(128, 64, col_stride=4)
    cost = dma_cost(ins, T2)
    assert cost.descriptors == 128 * 64
    assert cost.engine_ns == pytest.approx(100 + 8 * 24 + 8 * 64 * T2.cal.dma_burst_bytes / 23)


def test_indirect_gather_is_one_descriptor_per_row():
    b = TraceBuilder("trn2")
    h = b.hbm(1024, 1, "float32")
    t = b.sbuf(128, 1, "float32")
    src = b.rows(h, 0, 128, 0, 1)
    src.indirect = True
    ins = b.dma(b.on(t), src)
    assert dma_cost(ins, T2).descriptors == 128


def test_transpose_dma_is_element_wise_on_trn1_and_90_percent_on_trn2():
    _, ins1 = _load(128, 128, "bfloat16", "trn1", transpose=True)
    _, plain1 = _load(128, 128, "bfloat16", "trn1")
    cost = dma_cost(ins1, T1)
    assert cost.descriptors == 128 * 128  # contiguous pieces: one per element
    # every element costs a whole memory burst on its engine, plus one descriptor per partition row
    per_engine = 128 * 128 // 16
    assert cost.engine_ns == pytest.approx(100 + 8 * 24 + per_engine * T1.cal.dma_burst_bytes / 17)
    assert cost.engine_ns > 5 * dma_cost(plain1, T1).engine_ns
    _, ins2 = _load(128, 128, "bfloat16", "trn2", transpose=True)
    _, plain2 = _load(128, 128, "bfloat16", "trn2")
    assert dma_cost(ins2, T2).engine_ns == pytest.approx(dma_cost(plain2, T2).engine_ns / 0.9)


def test_trn1_moves_narrow_elements_at_the_rate_of_4_byte_lanes():
    _, bf16 = _load(128, 2048, "bfloat16", "trn1")
    _, fp32 = _load(128, 1024, "float32", "trn1")  # the same bytes
    assert dma_cost(bf16, T1).engine_ns == pytest.approx(100 + 8 * 24 + 8 * 2048 * 4 / 17)
    assert dma_cost(fp32, T1).engine_ns == pytest.approx(100 + 8 * 24 + 8 * 4096 / 17)
    _, bf16_t2 = _load(128, 2048, "bfloat16", "trn2")
    assert dma_cost(bf16_t2, T2).engine_ns == pytest.approx(100 + 8 * 24 + 8 * 4096 / 23)  # no lanes


def test_hwdge_trigger_costs_600ns_on_the_issuing_engine():
    _, ins = _load(128, 512, dge="hwdge", queue="act")
    cost = dma_cost(ins, T2)
    assert (cost.trigger_engine, cost.trigger_ns) == ("act", 600.0)


def _many_loads(count, cols, dtype="bfloat16", target="trn2"):
    b = TraceBuilder(target)
    h = b.hbm(128 * count, cols, dtype)
    for i in range(count):
        t = b.sbuf(128, cols, dtype)
        b.dma(b.on(t), b.rows(h, 128 * i, 128, 0, cols))
    return profile(b.trace)


def test_small_transfers_come_out_overhead_bound_in_the_schedule():
    total = 8 * 1024 * 1024
    small = _many_loads(total // (128 * 256), 128)  # 256 B rows
    big = _many_loads(total // (128 * 8192), 4096)  # 8 KiB rows
    assert small.makespan_ns > 2.5 * big.makespan_ns
    assert any(h.code == "small-dma" for h in small.hints)


def test_fixed_dma_latency_is_pipelined_across_outstanding_transfers():
    p = _many_loads(10, 512)
    one = dma_cost(_load(128, 512, "bfloat16")[1], T2).engine_ns
    assert p.makespan_ns < 1300 + 10 * one + 1000  # not 10 x (1.3 us + transfer)
    assert p.makespan_ns > 1300 + 10 * one * 0.9


def test_dma_throughput_is_capped_by_hbm_share():
    p = _many_loads(64, 8192, "float32")
    hbm_bound = p.hbm_read_bytes / T2.hbm_gbps_per_nc
    assert p.makespan_ns >= hbm_bound
    assert T2.dma_peak_bytes_per_ns == min(16 * 23, 362)


def test_trn3_dma_is_faster_than_trn2_and_trn1():
    times = [_many_loads(16, 2048, target=t).makespan_ns for t in ("trn1", "trn2", "trn3")]
    assert times[0] > times[1] > times[2]


def test_hbm_to_hbm_copies_are_split_across_engines():
    b = TraceBuilder("trn2")
    src, dst = b.hbm(512, 1024, "float32"), b.hbm(512, 1024, "float32")
    ins = b.dma(b.rows(dst, 0, 512, 0, 1024), b.rows(src, 0, 512, 0, 1024))
    cost = dma_cost(ins, T2)
    assert cost.engines == 16 and cost.descriptors == 2 * 1024 * 1024 // (64 * 1024)
    assert cost.hbm_read == cost.hbm_write == 2 * 1024 * 1024
