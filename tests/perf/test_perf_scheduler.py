"""Scheduling: overlap across engines, dependencies, buffering, PSUM chains, capacity, SPMD."""

from __future__ import annotations

import dataclasses

import pytest

from autocomp.perf import get_target, profile
from autocomp.perf.scheduler import CAPACITY, DEPENDENCY, schedule
from tests.fakes.perf_trace_builder import TraceBuilder

T1 = get_target("trn1")
ACT_NS = 1 / 1.4  # ns per Scalar-engine cycle on trn1
DVE_NS = 1 / 1.12


def test_independent_vector_and_scalar_work_overlaps():
    b = TraceBuilder()
    a, a2 = b.sbuf(128, 4096, "float32"), b.sbuf(128, 4096, "float32")
    c, c2 = b.sbuf(128, 4096, "float32"), b.sbuf(128, 4096, "float32")
    b.op("TENSOR_SCALAR", "dve", b.on(a2), b.on(a))
    b.op("ACTIVATE", "act", b.on(c2), b.on(c))
    p = profile(b.trace)
    assert p.makespan_ns == pytest.approx(max(4096 * DVE_NS, 4096 * ACT_NS))


def test_dependent_vector_then_scalar_serialises_with_latency_and_semaphore():
    b = TraceBuilder()
    a, m, o = (b.sbuf(128, 4096, "float32") for _ in range(3))
    b.op("TENSOR_SCALAR", "dve", b.on(m), b.on(a))
    b.op("ACTIVATE", "act", b.on(o), b.on(m))
    s = schedule(b.trace, T1)
    gap = s.start[1] - s.end[0]
    assert gap == pytest.approx(100 * DVE_NS + 50)  # result latency + cross-engine semaphore
    assert s.pred[1] == 0


def test_dependent_tiny_scalar_ops_issue_every_264_cycles():
    b = TraceBuilder()
    tiles = [b.sbuf(128, 1, "float32") for _ in range(11)]
    for i in range(10):
        b.op("ACTIVATE", "act", b.on(tiles[i + 1]), b.on(tiles[i]))
    s = schedule(b.trace, T1)
    spacing = (s.start[9] - s.start[0]) / 9
    assert spacing == pytest.approx(264 * ACT_NS)  # the measured ~189 ns on NC-v2 [M] PERF


def _pipeline(double_buffer: bool):
    """8 iterations: load a tile, then vector work of about the same length; one tile reused
    vs a fresh tile per iteration."""
    b = TraceBuilder()
    h = b.hbm(128 * 8, 2048, "float32")
    shared = b.sbuf(128, 2048, "float32")
    out = b.sbuf(128, 2048, "float32")
    for i in range(8):
        t = b.sbuf(128, 2048, "float32") if double_buffer else shared
        b.dma(b.on(t), b.rows(h, 128 * i, 128, 0, 2048))
        for _ in range(2):
            b.op("TENSOR_TENSOR", "dve", b.on(out), b.on(t), b.on(out), op="multiply")
    return profile(b.trace)


def test_double_buffering_overlaps_loads_with_compute():
    single, double = _pipeline(False), _pipeline(True)
    assert double.makespan_ns < 0.75 * single.makespan_ns


def test_war_dependency_makes_a_load_wait_for_the_reader_of_its_tile():
    b = TraceBuilder()
    h = b.hbm(256, 512, "float32")
    t, u = b.sbuf(128, 512, "float32"), b.sbuf(128, 512, "float32")
    b.dma(b.on(t), b.rows(h, 0, 128, 0, 512))
    b.op("TENSOR_SCALAR", "dve", b.on(u), b.on(t))
    b.dma(b.on(t), b.rows(h, 128, 128, 0, 512))
    s = schedule(b.trace, T1)
    assert s.issue[2] >= s.end[1]


def test_psum_accumulation_group_chains_matmuls_without_semaphore_round_trips():
    b = TraceBuilder()
    ps = b.psum(128, 512)
    tiles = [(b.sbuf(128, 128), b.sbuf(128, 512)) for _ in range(16)]
    for k, (st, mv) in enumerate(tiles):
        b.matmul(b.on(ps), b.on(st), b.on(mv), accumulate=k > 0)
    s = schedule(b.trace, T1)
    mm_ns = 512 / 2.8
    assert s.end[-1] - s.start[1] == pytest.approx(15 * mm_ns)  # back to back, LoadStationary hidden
    assert all(s.start[k] == pytest.approx(s.end[k - 1]) for k in range(1, 16))


def test_non_accumulating_dependent_matmul_waits_for_the_result_latency():
    b = TraceBuilder()
    ps = b.psum(128, 512)
    st, mv = b.sbuf(128, 128), b.sbuf(128, 512)
    b.matmul(b.on(ps), b.on(st), b.on(mv))
    b.matmul(b.on(ps), b.on(st), b.on(mv))  # overwrites: WAW, not an accumulation chain
    s = schedule(b.trace, T1)
    assert s.start[1] - s.end[0] == pytest.approx(64 / 2.8)


def test_stationary_reuse_skips_load_stationary():
    def isolated(reuse: bool):
        b = TraceBuilder()
        st, mv = b.sbuf(128, 128), b.sbuf(128, 64)
        for i in range(4):
            ps = b.psum(128, 64)
            b.matmul(b.on(ps), b.on(st), b.on(mv), key="W" if reuse else i)
            mv = b.sbuf(128, 64)
            b.op("TENSOR_COPY", "dve", b.on(mv), b.on(ps))  # next matmul waits: the PE idles in between
        return profile(b.trace)

    reused, fresh = isolated(True), isolated(False)
    assert reused.load_stationary_count == 1 and reused.stationary_reused_count == 3
    assert fresh.load_stationary_count == 4
    assert fresh.engines["pe"].active_ns - reused.engines["pe"].active_ns == pytest.approx(3 * 32 / 2.8)


def test_psum_capacity_bounds_how_far_the_tensor_engine_runs_ahead():
    b = TraceBuilder()
    st, mv = b.sbuf(128, 128), b.sbuf(128, 512)
    out = b.sbuf(128, 512, "float32")
    for _ in range(8):  # 4 banks per iteration, 8 banks in all: matmuls wait for drains to free banks
        banks = [b.psum(128, 512) for _ in range(4)]
        for ps in banks:
            b.matmul(b.on(ps), b.on(st), b.on(mv))
        for ps in banks:
            b.op("TENSOR_TENSOR", "dve", b.on(out), b.on(ps), b.on(out), op="multiply")  # slow drain
    s = schedule(b.trace, T1)
    assert CAPACITY in s.reason
    assert s.liveness.psum_peak <= T1.psum_bytes_per_partition


def test_sbuf_spill_is_accounted_when_live_data_exceeds_capacity():
    b = TraceBuilder()
    tiles = [b.sbuf(128, 50 * 1024, "bfloat16") for _ in range(3)]  # 100 KiB/partition each, all live
    for t in tiles:
        b.op("MEMSET", "dve", b.on(t), value=0)
    out = b.sbuf(128, 1, "float32")
    for t in tiles:
        b.op("TENSOR_REDUCE", "dve", b.on(out), b.on(t), op="add")
    p = profile(b.trace)
    over = 3 * 100 * 1024 - T1.sbuf_usable_bytes  # the tiny output reuses the first tile's space
    assert p.spill_save_bytes == over * 128 == p.spill_reload_bytes
    assert p.sbuf_peak_bytes_per_partition == 300 * 1024
    assert any(h.code == "spill" for h in p.hints)
    assert p.hbm_read_bytes == p.spill_reload_bytes


def test_block_tensor_liveness_counts_blocks_not_the_whole_declaration():
    b = TraceBuilder()
    blocks = b.sbuf(128, 512, "float32", blocks=64)  # 64 x 2 KiB per partition declared
    out = b.sbuf(128, 512, "float32")
    for k in range(64):
        blk = b.on(blocks, offset=512 * k)
        b.op("MEMSET", "dve", blk, value=0)
        b.op("TENSOR_SCALAR", "dve", b.on(out), blk)
    p = profile(b.trace)
    assert p.sbuf_peak_bytes_per_partition == 2 * 2048  # one live block plus the output
    assert p.spill_save_bytes == 0


def _spmd(dialect: str, instances: int = 2):
    b = TraceBuilder(dialect=dialect, grid=(instances,) if instances > 1 else ())
    h = b.hbm(256, 2048, "float32")
    for inst in range(instances):
        b.instance = inst
        t, u = b.sbuf(128, 2048, "float32"), b.sbuf(128, 2048, "float32")
        b.dma(b.on(t), b.rows(h, 128 * inst, 128, 0, 2048))
        for _ in range(4):
            b.op("TENSOR_TENSOR", "dve", b.on(u), b.on(t), b.on(u), op="multiply")
    return profile(b.trace)


def test_legacy_spmd_instances_run_one_after_another_and_v2_cores_overlap():
    one, v1, v2 = _spmd("v1", 1), _spmd("v1"), _spmd("v2")
    assert v1.makespan_ns == pytest.approx(2 * one.makespan_ns, rel=0.01)
    assert one.makespan_ns <= v2.makespan_ns < 0.75 * v1.makespan_ns  # two cores, one shared HBM stack


def test_critical_path_is_a_dependency_chain_ending_at_the_last_instruction():
    p = _pipeline(False)
    path = p.critical_path
    assert path[-1] == max(range(len(p.end_ns)), key=p.end_ns.__getitem__)
    assert path == sorted(path)
    assert p.critical_breakdown["dma"] > 0


def test_trn1_vector_and_gpsimd_share_the_sbuf_port_but_not_on_trn2():
    def run(target):
        b = TraceBuilder(target)
        a, c, d, e = (b.sbuf(128, 4096, "float32") for _ in range(4))
        b.op("TENSOR_SCALAR", "dve", b.on(c), b.on(a))
        b.op("TENSOR_SCALAR", "pool", b.on(e), b.on(d))
        return schedule(b.trace, get_target(target))

    s1, s2 = run("trn1"), run("trn2")
    assert s1.start[1] >= s1.end[0]  # serialised on NC-v2
    assert s2.start[1] == pytest.approx(s2.start[0])  # parallel on NC-v3


def test_tensor_engine_throttle_slows_a_cold_start_on_trn2_only():
    def pe_time(target):
        b = TraceBuilder()
        st, mv = b.sbuf(128, 128), b.sbuf(128, 512)
        for _ in range(20):
            ps = b.psum(128, 512)
            b.matmul(b.on(ps), b.on(st), b.on(mv), key="W")
        return profile(b.trace, target)

    t2 = get_target("trn2")
    throttled = pe_time(t2)
    unthrottled = pe_time(dataclasses.replace(t2, pe_throttle=False))
    assert throttled.throttle_extra_ns > 0
    assert throttled.engines["pe"].active_ns > 1.2 * unthrottled.engines["pe"].active_ns
    assert pe_time(get_target("trn1")).throttle_extra_ns == 0


def test_gap_filling_lets_a_later_independent_instruction_use_an_idle_engine():
    b = TraceBuilder()
    h = b.hbm(128, 8192, "float32")
    t, u = b.sbuf(128, 8192, "float32"), b.sbuf(128, 8192, "float32")
    x, y = b.sbuf(128, 64, "float32"), b.sbuf(128, 64, "float32")
    b.dma(b.on(t), b.rows(h, 0, 128, 0, 8192))
    b.op("TENSOR_SCALAR", "dve", b.on(u), b.on(t))  # waits for the load
    b.op("TENSOR_SCALAR", "dve", b.on(y), b.on(x))  # independent: runs while the load is in flight
    s = schedule(b.trace, T1)
    assert s.end[2] <= s.start[1]


def test_schedule_invariants_on_a_mixed_trace():
    b = TraceBuilder("trn2")
    h = b.hbm(512, 1024, "float32")
    h2 = b.hbm(512, 1024, "float32")
    b.dma(b.rows(h2, 0, 128, 0, 1024), b.rows(h, 0, 128, 0, 1024))  # HBM -> HBM
    tiles = []
    for i in range(6):
        t = b.sbuf(128, 1024, "float32")
        b.dma(b.on(t), b.rows(h, 128 * (i % 4), 128, 0, 1024))
        tiles.append(t)
    copy = b.sbuf(128, 1024, "float32")
    b.dma(b.on(copy), b.on(tiles[0]))  # SBUF -> SBUF
    b.add("REGISTER", "sp", [], [], 1, 1)
    for i, t in enumerate(tiles):
        engine = ("dve", "act", "pool")[i % 3]
        b.op("TENSOR_SCALAR", engine, b.on(tiles[(i + 1) % 6]), b.on(t))
    ps = b.psum(128, 512)
    b.matmul(b.on(ps), b.on(copy, f=128), b.on(tiles[2], f=512))
    s = schedule(b.trace, get_target("trn2"))
    instrs = b.trace.instructions
    for engine in ("pe", "dve", "act", "pool"):
        spans = sorted((s.start[i], s.end[i]) for i, ins in enumerate(instrs) if ins.engine == engine)
        assert all(a[1] <= c[0] + 1e-6 for a, c in zip(spans, spans[1:])), engine
    for i in range(len(instrs)):
        assert s.end[i] >= s.start[i] >= 0
        if s.pred[i] >= 0 and s.reason[i] == DEPENDENCY:  # starts after its producer finished
            assert s.start[i] >= s.end[s.pred[i]] - 1e-6
    assert s.makespan_ns == max(s.end)


def test_throttle_never_speeds_up_an_instruction_placed_before_the_ramp():
    """Regression: a PE instruction gap-filled before the ramp start got a negative stretch."""
    from autocomp.perf.resources import TensorThrottle

    thr = TensorThrottle(3000.0, 0.5)
    thr.commit(10_000.0, 100.0, thr.stretch(10_000.0, 100.0))
    assert thr.stretch(2_000.0, 100.0) >= 100.0
    thr.commit(2_000.0, 100.0, thr.stretch(2_000.0, 100.0))
    assert thr.extra_ns >= 0
