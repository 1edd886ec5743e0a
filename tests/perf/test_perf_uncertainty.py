"""The error bar: estimate classes, intervals on every Profile, and whether a win is beyond the model's error."""

from __future__ import annotations

import math

import pytest

from autocomp import targets
from autocomp.perf import profile
from autocomp.perf.uncertainty import (
    PRIOR_MEASUREMENTS,
    UNMEASURED,
    Band,
    band_for,
    bands_from_residuals,
    estimate_class,
    win_is_certain,
)
from tests.fakes.perf_trace_builder import TraceBuilder


def _copy(tiles: int, cols: int = 4096, dtype: str = "float32"):
    """A DMA-bound kernel: ``tiles`` loads and stores of [128, cols]."""
    b = TraceBuilder("trn1")
    src = b.hbm(128 * tiles, cols, dtype)
    dst = b.hbm(128 * tiles, cols, dtype, kind="output")
    for i in range(tiles):
        t = b.sbuf(128, cols, dtype)
        b.dma(b.on(t), b.rows(src, 128 * i, 128, 0, cols))
        b.dma(b.rows(dst, 128 * i, 128, 0, cols), b.on(t))
    return b.trace


def _vector(ops: int, n: int = 2048):
    """A Vector-bound kernel: ``ops`` independent tensor_tensor instructions of one loaded tile and another
    (each a different value: a repeated one would be charged once)."""
    b = TraceBuilder("trn1")
    src = b.hbm(128, n, "float32")
    t = b.sbuf(128, n, "float32")
    b.dma(b.on(t), b.rows(src, 0, 128, 0, n))
    for _ in range(ops):
        u, other = b.sbuf(128, n, "float32"), b.sbuf(128, n, "float32")
        b.op("TENSOR_TENSOR", "dve", b.on(u), b.on(t), b.on(other), op="multiply")
    return b.trace


def test_estimate_class_follows_the_critical_path_and_launch_overhead():
    assert estimate_class({"dma": 90.0, "dve": 10.0, "waiting": 500.0}, 1000.0, 5.0) == "dma"
    assert estimate_class({"pe": 5.0, "dve": 900.0}, 1000.0, 5.0) == "vector"
    assert estimate_class({"act": 80.0}, 100.0, 30.0) == "overhead"  # launch overhead >= 25% of latency
    assert estimate_class({"waiting": 10.0}, 1000.0, 5.0) == "overhead"


def test_every_profile_carries_an_interval_around_its_estimate():
    p = profile(_copy(16), "trn1")
    assert p.estimate_class == "dma"
    assert 0 < p.latency_low_us < p.latency_us < p.latency_high_us
    band = p.uncertainty
    low, high = band.interval(p.latency_ns)
    assert (p.latency_low_ns, p.latency_high_ns) == pytest.approx((low, high))
    s = next(iter(p.summary().values()))
    assert s["total_time_low"] == pytest.approx(p.latency_low_ns * 1e-9)
    assert s["estimate_class"] == "dma" and s["uncertainty"]["log_sigma"] == band.log_sigma
    assert "likely" in p.describe().splitlines()[1]


def test_a_class_without_measurements_gets_a_factor_of_about_two():
    p = profile(_copy(4), "trn3")  # no public trn3 measurements at all
    assert p.uncertainty == UNMEASURED
    assert p.latency_high_us / p.latency_us == pytest.approx(2.0, rel=1e-6)
    assert p.latency_us / p.latency_low_us == pytest.approx(2.0, rel=1e-6)
    assert band_for("tensor", {"tensor": Band(2, 0.0, 0.1, 0.1)}) == UNMEASURED  # too few to trust


def test_bands_from_residuals_shrink_few_measurements_towards_the_unmeasured_band():
    rows = [("dma", math.log(1.2), "a"), ("dma", math.log(1.0), "a"), ("dma", math.log(0.8), "b"),
            ("dma", math.log(1.1), "b"), ("vector", math.log(2.0), None)]
    bands = bands_from_residuals(rows, "test")
    d = bands["dma"]
    errs = [math.log(x) for x in (1.2, 1.0, 0.8, 1.1)]
    mean, k = sum(errs) / 4, PRIOR_MEASUREMENTS
    assert d.n == 4 and d.log_bias == pytest.approx(sum(errs) / (4 + k))
    scatter = sum((e - mean) ** 2 for e in errs)
    assert d.log_sigma == pytest.approx(math.sqrt((scatter + k * UNMEASURED.log_sigma ** 2) / (3 + k)))
    # pairs within chains: (1.2 vs 1.0) and (0.8 vs 1.1)
    pairs = (errs[0] - errs[1]) ** 2 + (errs[2] - errs[3]) ** 2
    assert d.pair_sigma == pytest.approx(math.sqrt((pairs + k * UNMEASURED.pair_sigma ** 2) / (2 + k)))
    assert bands["vector"].n == 1
    many = bands_from_residuals([("dma", 0.01 * (i % 3), "c") for i in range(300)], "many")["dma"]
    assert many.log_sigma < 0.1 < d.log_sigma < UNMEASURED.log_sigma  # more measurements, tighter band


def test_default_bands_are_valid_and_only_for_measured_classes():
    for target, record in targets.RECORDS.items():
        for cls, band in record.error_bands.items():
            assert band.n >= 3 and band.log_sigma > 0 and band.pair_sigma > 0, (target, cls)


def test_a_large_win_is_certain_and_a_small_one_needs_hardware_confirmation():
    slow, fast = profile(_copy(32), "trn1"), profile(_copy(4), "trn1")
    big = win_is_certain(slow, fast)
    assert big.certain and big.label == "certain win" and big.low > 1.0 and big.speedup > 7
    near = profile(_copy(31), "trn1")
    small = win_is_certain(slow, near)
    assert not small.certain and small.label == "needs hardware confirmation"
    assert small.low < 1.0 < small.high
    loss = win_is_certain(fast, slow)
    assert not loss and loss.label == "certain loss"


def test_same_class_pairs_use_the_within_chain_error_and_mixed_pairs_combine_both():
    a, b = profile(_copy(8), "trn1"), profile(_copy(4), "trn1")
    same = win_is_certain(a, b)
    sigma = a.uncertainty.pair_sigma
    assert same.high / same.low == pytest.approx(math.exp(2 * 1.645 * sigma))
    v = profile(_vector(40), "trn1")
    assert v.estimate_class == "vector"
    mixed = win_is_certain(a, v)
    combined = math.hypot(a.uncertainty.log_sigma, v.uncertainty.log_sigma)
    assert mixed.high / mixed.low == pytest.approx(math.exp(2 * 1.645 * combined))
    assert "independent" in mixed.reason


def test_win_is_certain_reads_stored_summaries_as_well_as_profiles():
    slow, fast = profile(_copy(32), "trn1"), profile(_copy(4), "trn1")
    from_profiles = win_is_certain(slow, fast)
    from_summaries = win_is_certain(slow.summary(), next(iter(fast.summary().values())))
    assert from_summaries.certain == from_profiles.certain
    assert from_summaries.low == pytest.approx(from_profiles.low)
    with pytest.raises(ValueError):
        win_is_certain({"total_time": 0.0}, fast)


def test_report_page_shows_the_interval_and_labels_an_uncertain_win():
    from autocomp.report.page import _interval, _win_note

    slow, near = profile(_copy(32), "trn1"), profile(_copy(31), "trn1")
    record = {"summary": next(iter(slow.summary().values()))}
    text = _interval(record)
    assert "likely" in text and "on hardware (90%)" in text
    assert _interval({"summary": {}}) == ""  # records written before the error bar

    class _Cand:
        def __init__(self, cid):
            self.id = cid

    class _Data:
        evidence = "sim"
        baseline, best = _Cand(0), _Cand(1)
        profiles = {"baseline": record, "best": {"summary": next(iter(near.summary().values()))}}

    assert "needs hardware confirmation" in _win_note(_Data())
    fast = next(iter(profile(_copy(2), "trn1").summary().values()))
    _Data.profiles = {"baseline": record, "best": {"summary": fast}}
    assert "beyond the model&#x27;s error" in _win_note(_Data())  # HTML-escaped
