"""Hardware targets are data: a new target is one record, names resolve through one registry, records agree.

The hypothetical target ``trnx`` is trn2's record with a faster Vector engine, a longer launch
overhead, less usable SBUF and no ``range_select``. Registered and nothing else, it must run kernels
of both dialects, be profiled by the cost model, and change exactly what its numbers say.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from pydantic import ValidationError

import autocomp.nki
from autocomp import targets
from autocomp.nki import NkiError, run_kernel
from autocomp.nki.runtime import normalize_target
from autocomp.nki.trace import Trace
from autocomp.perf import get_target, profile
from autocomp.problem import ProblemSpec
from autocomp.search.config import SearchConfig
from autocomp.targets import CAPABILITIES, DEFAULT_TARGET, Target, UnknownTargetError

autocomp.nki.install()
import neuronxcc.nki.isa as nisa1  # noqa: E402 - the simulator is installed above
import neuronxcc.nki.language as nl1  # noqa: E402
import nki as nki2  # noqa: E402
import nki.isa as nisa2  # noqa: E402
import nki.language as nl2  # noqa: E402

BASE = "trn2"
FASTER_DVE = 2.0  # trnx's Vector engine clock over trn2's
LAUNCH_NS = 7000.0
SBUF_KIB = 100


@pytest.fixture
def trnx():
    base = targets.get(BASE)
    record = dataclasses.replace(
        base, name="trnx", aliases=("genx",), dve_ghz=base.dve_ghz * FASTER_DVE,
        tile=dataclasses.replace(base.tile, sbuf_fmax_bytes=SBUF_KIB * 1024, total_available_sbuf_size=SBUF_KIB * 1024),
        range_select=False, cal=dataclasses.replace(base.cal, launch_overhead_ns=LAUNCH_NS))
    targets.register(record)
    try:
        yield record
    finally:
        targets.unregister("trnx")
        autocomp.nki.install()  # frontends back to the environment's default target


# v1 (neuronxcc.nki): Vector-engine work scaled by a tile limit the kernel reads.
def scale_v1(a):
    out = nl1.ndarray(a.shape, dtype=a.dtype, buffer=nl1.shared_hbm)
    t = nl1.load(a)
    for _ in range(8):
        t = nisa1.tensor_scalar(t, nl1.multiply, 1.0)
    nl1.store(out, nl1.multiply(t, float(nl1.tile_size.sbuf_fmax_bytes // 1024)))
    return out


def range_v1(a, lo, hi):
    out = nl1.ndarray(a.shape, dtype=a.dtype, buffer=nl1.shared_hbm)
    r = nisa1.range_select(on_true_tile=nl1.load(a), comp_op0=nl1.greater_equal, comp_op1=nl1.less,
                           bound0=nl1.load(lo), bound1=nl1.load(hi))
    nl1.store(out, r)
    return out


# v2 (nki): the same kernels in the current dialect.
def _load2(a):
    t = nl2.ndarray(a.shape, dtype=a.dtype, buffer=nl2.sbuf)
    nisa2.dma_copy(dst=t, src=a)
    return t


def _out2(t):
    o = nl2.ndarray(t.shape, dtype=t.dtype, buffer=nl2.shared_hbm)
    nisa2.dma_copy(dst=o, src=t)
    return o


@nki2.jit
def scale_v2(a):
    t = _load2(a)
    for _ in range(8):
        nisa2.tensor_scalar(dst=t, data=t, op0=nl2.multiply, operand0=1.0)
    nisa2.tensor_scalar(dst=t, data=t, op0=nl2.multiply, operand0=float(nl2.tile_size.sbuf_fmax_bytes // 1024))
    return _out2(t)


@nki2.jit
def range_v2(a, lo, hi):
    t, b0, b1 = _load2(a), _load2(lo), _load2(hi)
    r = nl2.ndarray(t.shape, dtype=t.dtype, buffer=nl2.sbuf)
    nisa2.range_select(dst=r, on_true_tile=t, comp_op0=nl2.greater_equal, comp_op1=nl2.less, bound0=b0, bound1=b1)
    return _out2(r)


def _inputs():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((128, 2048)).astype(np.float32)
    return a, np.full((128, 1), 3, np.float32), np.full((128, 1), 40, np.float32)


def _run(dialect: str, kernel: str, target: str, *args):
    """Simulate a kernel: v1 through run_kernel(target=), v2 through the frontend after install(target=)."""
    if dialect == "v1":
        fn = {"scale": scale_v1, "range": range_v1}[kernel]
        result = run_kernel(fn, args, target=target, dialect="v1")
        return result.outputs, result.trace
    autocomp.nki.install(target)
    fn = {"scale": scale_v2, "range": range_v2}[kernel]
    return fn(*args), fn.last_result.trace


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_a_target_registered_as_a_record_simulates_and_profiles_by_its_numbers(trnx, dialect):
    a, _, _ = _inputs()
    out_base, trace_base = _run(dialect, "scale", BASE, a)
    out_x, trace_x = _run(dialect, "scale", "trnx", a)
    assert trace_x.target == "trnx" and trace_base.target == BASE
    # Kernels read the record's tile limits (nl.tile_size), inside the kernel and outside it.
    np.testing.assert_allclose(out_base, a * 208, rtol=1e-6)
    np.testing.assert_allclose(out_x, a * SBUF_KIB, rtol=1e-6)
    if dialect == "v2":
        assert nl2.tile_size.sbuf_fmax_bytes == SBUF_KIB * 1024  # install(target="trnx") set the default
    # The cost model takes trnx by name from the trace: the Vector engine runs FASTER_DVE times faster, the
    # launch costs LAUNCH_NS, and the kernel (Vector-bound) gets faster.
    p_base, p_x = profile(trace_base), profile(trace_x)
    assert p_x.target == "trnx"
    assert p_x.engines["dve"].active_ns == pytest.approx(p_base.engines["dve"].active_ns / FASTER_DVE)
    assert p_x.launch_overhead_ns == LAUNCH_NS and p_x.latency_ns - p_x.makespan_ns == pytest.approx(LAUNCH_NS)
    assert p_base.estimate_class == "vector" and p_x.makespan_ns < 0.75 * p_base.makespan_ns


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_a_capability_the_record_lacks_is_refused_naming_the_targets_that_have_it(trnx, dialect):
    a, lo, hi = _inputs()
    out, _ = _run(dialect, "range", BASE, a, lo, hi)
    cols = np.arange(a.shape[1])
    np.testing.assert_array_equal(np.asarray(out)[:, (cols >= 3) & (cols < 40)], a[:, (cols >= 3) & (cols < 40)])
    with pytest.raises(NkiError, match=r"range_select needs .*\(trn2/trn3\); on trnx use"):
        _run(dialect, "range", "trnx", a, lo, hi)


def test_a_registered_target_resolves_everywhere_a_name_is_accepted(trnx):
    assert targets.names()[-1] == "trnx" and "trnx" in targets.choices()
    assert targets.get("GENX") is trnx and get_target("genx") is trnx and normalize_target(" trnx ") == "trnx"
    assert ProblemSpec(name="p", function="f", target="genx").target == "trnx"
    assert SearchConfig(target="trnx").evaluation.target == "trnx"
    assert "trnx" not in targets.names_with("range_select") and "trnx" in targets.names_with("logical_core_pairs")
    with pytest.raises(ValueError, match="already names target trnx"):
        targets.register(dataclasses.replace(trnx, name="trny"))  # its alias genx is taken


def test_unregistering_removes_the_name_and_its_aliases(trnx):
    targets.unregister("genx")
    try:
        for name in ("trnx", "genx"):
            with pytest.raises(UnknownTargetError):
                targets.get(name)
    finally:
        targets.register(trnx)  # the fixture unregisters it


@pytest.mark.parametrize(("alias", "name"), [("inf2", "trn1"), ("gen2", "trn1"), ("gen3", "trn2"), ("gen4", "trn3"),
                                             (" TRN2 ", "trn2"), ("Gen4", "trn3")])
def test_aliases_resolve_to_one_record(alias, name):
    assert targets.resolve(alias) == name and targets.get(alias) is targets.get(name)
    assert get_target(alias) is targets.get(name) and normalize_target(alias) == name
    assert ProblemSpec(name="p", function="f", target=alias).target == name
    assert SearchConfig(target=alias).evaluation.target == name


def test_the_default_target_is_named_once():
    assert targets.get() is targets.get(DEFAULT_TARGET) and get_target(None).name == DEFAULT_TARGET
    assert Trace().target == DEFAULT_TARGET and ProblemSpec(name="p", function="f").target == DEFAULT_TARGET
    assert run_kernel(scale_v1, (_inputs()[0],), dialect="v1", numerics=False).trace.target == normalize_target(None)


def test_unknown_names_are_errors_that_list_the_known_targets():
    known = "use trn1, trn2 or trn3 (aliases: inf2, gen2, gen3, gen4)"
    for lookup in (targets.get, targets.resolve, get_target, normalize_target):
        with pytest.raises(UnknownTargetError) as e:
            lookup("trn9")
        assert str(e.value) == f"unknown target 'trn9'; did you mean trn3? {known}"
        with pytest.raises(UnknownTargetError) as e:  # nothing close: no suggestion
            lookup("zzzz")
        assert str(e.value) == f"unknown target 'zzzz'; {known}"
    with pytest.raises(ValidationError, match=re.escape(f"unknown target 'trn9'; did you mean trn3? {known}")):
        ProblemSpec(name="p", function="f", target="trn9")
    with pytest.raises(ValidationError, match=re.escape(f"unknown target 'trn9'; did you mean trn3? {known}")):
        SearchConfig(target="trn9")
    with pytest.raises(ValueError, match="unknown target 'trn9'"):
        autocomp.nki.install("trn9")
    with pytest.raises(ValueError, match="unknown target 'trn9'"):
        run_kernel(scale_v1, (_inputs()[0],), target="trn9", dialect="v1", numerics=False)
    with pytest.raises(KeyError, match="unknown capability 'range_selects'"):
        targets.names_with("range_selects")


def test_every_record_sets_every_capability_and_agrees_with_itself():
    assert {"range_select", "matmul_bf16_result", "act_tensor_scalar_any_op", "logical_core_pairs"} <= set(CAPABILITIES)
    records = list(targets.RECORDS.values())
    assert [r.name for r in records] == list(targets.names()) and len(records) >= 3
    for r in records:
        for cap in CAPABILITIES:
            assert isinstance(getattr(r, cap), bool), (r.name, cap)
        tile = r.tile
        assert tile.sbuf_fmax_bytes == tile.total_available_sbuf_size == r.sbuf_usable_bytes, r.name
        assert tile.psum_num_banks == r.psum_banks and tile.psum_bank_fmax_bytes == r.psum_bank_bytes, r.name
        assert tile.pmax == r.sbuf_partitions == r.pe_rows and tile.gemm_stationary_fmax == r.pe_cols, r.name
        assert r.matmul_moving_limit(False) >= tile.gemm_moving_fmax, r.name
        assert r.matmul_moving_limit(True) >= r.matmul_moving_limit(False), r.name
        assert r.hbm_bytes > 0 and r.name == r.name.strip().lower(), r.name
        for band in r.error_bands.values():
            assert band.n >= 3 and band.log_sigma > 0, r.name
    versions = [r.nc_version for r in records]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)  # oldest generation first
    spellings = [s for r in records for s in (r.name, *r.aliases)]
    assert len(spellings) == len(set(spellings))


def test_a_record_without_a_capability_cannot_be_made():
    trn2 = targets.get("trn2")
    fields = {f.name: getattr(trn2, f.name) for f in dataclasses.fields(Target)}
    del fields["hardware_dge"]
    with pytest.raises(TypeError, match="hardware_dge"):
        Target(**fields)
