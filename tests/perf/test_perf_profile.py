"""Profile reporting: summary JSON, text, timeline, FLOPs, roofline, hints, targets."""

from __future__ import annotations

import json

import pytest

from autocomp.perf import TARGETS, Profile, get_target, profile
from tests.fakes.perf_trace_builder import TraceBuilder

SUMMARY_FIELDS = [
    "total_time", "total_active_time_percent",
    *(f"{e}_engine_{f}" for e in ("tensor", "vector", "scalar", "gpsimd", "sync")
      for f in ("active_time", "active_time_percent", "instruction_count", "instruction_time")),
    "matmul_instruction_count", "model_flops", "hardware_flops", "transpose_flops", "hfu_estimated_percent",
    "mfu_estimated_percent", "mm_arithmetic_intensity", "peak_flops_bandwidth_ratio", "mbu_estimated_percent",
    "dma_active_time", "dma_active_time_percent", "dma_transfer_count", "dma_transfer_total_bytes",
    "dma_transfer_average_bytes", "hbm_read_bytes", "hbm_write_bytes", "sbuf_read_bytes", "sbuf_write_bytes",
    "psum_read_bytes", "psum_write_bytes", "spill_save_bytes", "spill_reload_bytes",
]


def _tiled_matmul(target="trn1", m_tiles=2, n_tiles=2, k_tiles=4, transpose=False) -> Profile:
    b = TraceBuilder(target, kernel="tiled_matmul")
    a = b.hbm(128 * k_tiles, 128 * m_tiles)
    w = b.hbm(128 * k_tiles, 512 * n_tiles)
    c = b.hbm(128 * m_tiles, 512 * n_tiles, "float32", kind="output")
    for m in range(m_tiles):
        for n in range(n_tiles):
            ps = b.psum(128, 512)
            for k in range(k_tiles):
                st, mv = b.sbuf(128, 128), b.sbuf(128, 512)
                b.dma(b.on(st), b.rows(a, 128 * k, 128, 128 * m, 128))
                b.dma(b.on(mv), b.rows(w, 128 * k, 128, 512 * n, 512))
                if transpose:
                    tp = b.psum(128, 128, "bfloat16")
                    b.pe_transpose(b.on(tp), b.on(st))
                    st = b.sbuf(128, 128)
                    b.op("TENSOR_COPY", "dve", b.on(st), b.on(tp))
                b.matmul(b.on(ps), b.on(st), b.on(mv), accumulate=k > 0)
            out = b.sbuf(128, 512, "float32")
            b.op("TENSOR_COPY", "dve", b.on(out), b.on(ps))
            b.dma(b.rows(c, 128 * m, 128, 512 * n, 512), b.on(out))
    return profile(b.trace)


def test_summary_is_keyed_by_one_profile_id_with_neuron_profile_field_names():
    p = _tiled_matmul()
    summary = p.summary()
    assert len(summary) == 1
    (pid, fields), = summary.items()
    assert pid == "autocomp_tiled_matmul_trn1"
    missing = [f for f in SUMMARY_FIELDS if f not in fields]
    assert not missing
    json.dumps(summary)  # serialisable


def test_summary_units_follow_the_real_tool_seconds_and_fractions():
    p = _tiled_matmul()
    s = next(iter(p.summary().values()))
    assert s["total_time"] == pytest.approx(p.latency_us * 1e-6)
    for key, value in s.items():
        if key.endswith("_percent"):
            assert 0.0 <= value <= 1.0, key
    assert s["tensor_engine_active_time_percent"] == pytest.approx(p.engines["pe"].utilisation / 100)
    assert s["dma_transfer_average_bytes"] == pytest.approx(s["dma_transfer_total_bytes"] / s["dma_transfer_count"])
    assert s["matmul_instruction_count"] == 2 * 2 * 4


def test_byte_counters():
    p = _tiled_matmul()
    loads = 2 * 2 * 4 * (128 * 128 * 2 + 128 * 512 * 2)
    stores = 2 * 2 * 128 * 512 * 4
    assert p.hbm_read_bytes == loads
    assert p.hbm_write_bytes == stores
    assert p.dma_bytes == loads + stores
    assert p.psum_write_bytes == 16 * 128 * 512 * 4
    assert p.sbuf_write_bytes == loads + 4 * 128 * 512 * 4


def test_flops_mfu_hfu_and_transposes():
    plain, with_t = _tiled_matmul(), _tiled_matmul(transpose=True)
    useful = 2.0 * 128 * 128 * 512 * 16
    assert plain.model_flops == plain.hardware_flops == useful
    assert with_t.model_flops == useful
    assert with_t.transpose_flops == 16 * 2.0 * 128 * 128 * 128
    assert with_t.hardware_flops == useful + with_t.transpose_flops
    peak = get_target("trn1").peak_flops()
    assert plain.mfu == pytest.approx(100 * useful / (plain.latency_ns * 1e-9 * peak))
    assert with_t.hfu > with_t.mfu
    assert any(h.code == "transpose-flops" for h in with_t.hints)


def test_roofline_is_the_largest_bound_and_at_most_the_latency():
    p = _tiled_matmul()
    r = p.roofline
    assert r.work_bound_ns == max(r.pe_ns, r.vector_ns, r.scalar_ns, r.gpsimd_ns, r.hbm_ns)
    assert r.work_bound_by == "hbm"
    assert r.bound_ns == max(r.ideal_pe_ns, r.ideal_hbm_ns)
    # The essential bound counts each input/output once: the tiled kernel re-loads its operands.
    # On trn1 a bf16 element takes a 4-byte lane of the DMA datapath.
    t1 = get_target("trn1")
    stream_bytes = (512 * 256 + 512 * 1024) * 2 * t1.dma_lane_factor(2) + 256 * 1024 * 4
    assert t1.dma_lane_factor(2) == 2 and t1.dma_lane_factor(4) == 1
    assert r.ideal_hbm_ns == pytest.approx(stream_bytes / (16 * t1.dma_engine_rate))
    assert r.ideal_hbm_ns < r.hbm_ns
    assert 0 < r.percent <= r.work_percent <= 100


def test_a_kernel_that_reloads_operands_sits_further_below_the_ideal_roofline():
    reloads = _tiled_matmul(m_tiles=4, n_tiles=4, k_tiles=4)
    assert reloads.roofline.percent < reloads.roofline.work_percent


def test_describe_names_engines_roofline_critical_path_and_hints():
    text = _tiled_matmul().describe()
    for word in ("tensor", "vector", "dma", "Roofline", "Critical path", "Hints", "kernel.py:1"):
        assert word in text


def test_timeline_html_is_self_contained():
    html = _tiled_matmul().timeline_html()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert "<script" not in html


def test_instruction_table_has_explorer_fields():
    rows = _tiled_matmul().instruction_table(limit=5)
    assert len(rows) == 5
    assert {"start_ts", "end_ts", "duration_ns", "engine", "opcode", "nki_source_location",
            "stall_reason"} <= set(rows[0])


def test_targets_differ_and_are_ordered_for_a_dma_bound_kernel():
    lat = {t: _tiled_matmul(t).latency_us for t in TARGETS}
    assert lat["trn1"] > lat["trn2"] > lat["trn3"]


def test_get_target_aliases_and_errors():
    assert get_target("gen3").name == "trn2"
    assert get_target(None).name == "trn1"
    with pytest.raises(ValueError, match="unknown target"):
        get_target("trn9")


def test_documented_hardware_numbers():
    t1, t2, t3 = (get_target(n) for n in ("trn1", "trn2", "trn3"))
    assert t1.peak_flops() == pytest.approx(91.75e12, rel=1e-3)
    assert t1.peak_flops("float32") == pytest.approx(22.9e12, rel=1e-2)
    assert t2.peak_flops("float8_e4m3") == pytest.approx(2 * t2.peak_flops())
    assert (t1.sbuf_usable_bytes, t1.psum_banks) == (176 * 1024, 8)
    assert t3.sbuf_bytes_per_partition > t2.sbuf_bytes_per_partition > t1.sbuf_bytes_per_partition


def test_hints_for_dma_transpose_and_thin_stationary():
    b = TraceBuilder()
    h = b.hbm(128, 128)
    t = b.sbuf(128, 128)
    b.dma(b.on(t), b.rows(h, 0, 128, 0, 128), transpose=True)
    st, mv = b.sbuf(128, 8), b.sbuf(128, 512)
    ps = b.psum(8, 512)
    b.matmul(b.on(ps), b.on(st), b.on(mv))
    codes = {h.code for h in profile(b.trace).hints}
    assert {"dma-transpose", "moving-operand"} <= codes


def test_empty_trace_profiles_to_the_launch_overhead():
    p = profile(TraceBuilder().trace)
    assert p.makespan_ns == 0 and p.latency_ns == get_target("trn1").cal.launch_overhead_ns
    assert p.critical_path == []
