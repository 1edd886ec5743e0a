"""The neuron backend against a fake neuronxcc package and a fake neuron-profile executable
(tests/fakes/fake_neuron.py)."""

from __future__ import annotations

import os

import pytest

from autocomp.evaluate import Evaluator
from autocomp.evaluate.backends import SimBackend, get_backend
from autocomp.evaluate.backends.neuron import NeuronBackend, ToolError, find_neuronxcc, parse_summary
from tests.fakes.eval_support import kernel_source, problem
from tests.fakes.fake_neuron import make_fake_toolchain

BASELINE = problem("ew_muladd").baseline_source


@pytest.fixture(scope="module")
def toolchain(tmp_path_factory) -> dict:
    return make_fake_toolchain(tmp_path_factory.mktemp("neuron"))


@pytest.fixture(scope="module")
def ev(toolchain, tmp_path_factory) -> Evaluator:
    return Evaluator(NeuronBackend(**toolchain, cores=[4, 5]), workers=2, cache_dir=tmp_path_factory.mktemp("cache"),
                     timeout_s=120)


def test_auto_picks_neuron_only_with_compiler_and_device(toolchain, tmp_path):
    assert isinstance(get_backend("auto", **toolchain), NeuronBackend)
    assert isinstance(get_backend("auto", **{**toolchain, "device": str(tmp_path / "no-device")}), SimBackend)
    assert isinstance(get_backend("auto"), SimBackend)  # here: no neuronxcc on sys.path, no /dev/neuron0
    ok, why = NeuronBackend(device=str(tmp_path / "none")).available()
    assert not ok and ("neuronxcc" in why or "device" in why)


def test_autocomp_simulator_facade_is_not_the_compiler(toolchain):
    import autocomp.nki

    autocomp.nki.install()  # neuronxcc in sys.modules is now our facade, not a real package
    assert find_neuronxcc() is None
    ok, why = NeuronBackend(device=toolchain["device"], path=toolchain["path"]).available()
    assert not ok and "neuronxcc" in why


def test_a_correct_kernel_is_measured_on_hardware(ev):
    r = ev.evaluate(problem("ew_muladd"), kernel_source("honest/muladd_reformatted.py"))
    assert r.status == "correct" and r.evidence == "hw" and r.backend == "neuron"
    assert r.tool_version.startswith("neuronxcc-2.99.0+fake+profile")
    assert len(r.timing_samples_us) == 5 and r.timing_spread == 0.0 and r.timing_rounds == 1
    assert r.latency_us == pytest.approx(r.profile["total_time"] * 1e6)
    assert r.profile["evidence"] == "hw" and r.profile["visible_cores"] in ("4", "5")


def test_the_neff_is_profiled_by_the_parent_on_the_workers_core(ev):
    """The sandboxed worker compiles and runs; the profiler is started by the evaluator itself (a process that
    never imported candidate code), on the NeuronCore of the slot the worker used."""
    r = ev.evaluate(problem("ew_muladd"), BASELINE + "\n# profiled by the parent\n")
    assert r.status == "correct", r.reason
    assert r.profile["profiler_parent"] == os.getpid()
    assert r.profile["profiled_cores"] == r.profile["visible_cores"]


def test_timing_inside_the_candidates_process_is_not_offered(toolchain):
    with pytest.raises(ValueError, match="only 'profile'"):
        NeuronBackend(**toolchain, method="benchmark")


def test_noisy_samples_are_re_measured_and_the_p50_kept(ev):
    noisy = BASELINE + "\nFAKE_PROFILE_NOISE = (1.0, 1.2, 0.9, 1.05, 1.0) + (1.0,) * 20\n"
    r = ev.evaluate(problem("ew_muladd"), noisy)
    assert r.status == "correct", r.reason
    assert r.timing_rounds == 2 and r.timing_spread == 0.0
    assert r.latency_us == pytest.approx(ev.baseline(problem("ew_muladd")).latency_us)


def test_still_noisy_timing_is_flagged(ev):
    noisy = BASELINE + "\nFAKE_PROFILE_NOISE = (1.0, 1.03) * 20\n"
    r = ev.evaluate(problem("ew_muladd"), noisy)
    assert r.status == "correct" and r.timing_rounds == 3 and "noisy_timing" in r.flags


def test_compile_errors_are_compile_errors(ev):
    r = ev.evaluate(problem("ew_muladd"), kernel_source("kernels/nki_compile_error.py"))
    assert r.status == "compile_error" and "compiling failed" in r.reason
    assert "err_num_partition_exceed_arch_limit" in r.reason and "/tmp/" not in r.reason


def test_failures_after_compilation_are_runtime_errors(ev):
    r = ev.evaluate(problem("ew_muladd"), BASELINE + "\nFAKE_DEVICE_FAULT = True\n")
    assert r.status == "runtime_error" and "running on the NeuronCore failed" in r.reason
    assert "NRT_EXEC_HW_ERR" in r.reason


def test_timeouts_on_the_neuron_backend(ev, monkeypatch):
    monkeypatch.setattr(ev, "timeout_s", 2.0)
    r = ev.evaluate(problem("ew_muladd"), kernel_source("kernels/sleep_forever.py"))
    assert r.status == "timeout" and "within 2 s" in r.reason


def test_unreadable_profiler_output_is_a_tool_error_and_not_cached(ev):
    broken = BASELINE + "\nFAKE_PROFILE_BROKEN = True\n"
    r = ev.evaluate(problem("ew_muladd"), broken)
    assert r.status == "runtime_error" and "neuron-profile view printed no JSON" in r.reason
    assert "tool_error" in r.flags
    assert not ev.evaluate(problem("ew_muladd"), broken).cache_hit


def test_the_static_gate_applies_to_hardware_too(ev):
    r = ev.evaluate(problem("ew_muladd"), kernel_source("kernels/reads_env.py"))
    assert r.status == "rejected" and r.evidence == "hw"


def test_check_shapes_compiles_a_full_size_neff_for_timing(ev):
    r = ev.baseline(problem("ew_check"))
    assert r.status == "correct" and r.profile["hbm_write_bytes"] == 2048 * 512 * 4


def test_summary_parsing():
    text = 'level=info msg="x"\n{"abc": {"total_time": 1.5e-05, "hbm_read_bytes": 4}}\nlevel=info msg="done"\n'
    assert parse_summary(text) == ("abc", {"total_time": 1.5e-05, "hbm_read_bytes": 4})
    for bad in ("no json here", '{"abc": {"total_time": 0}}', "{not json", "{}"):
        with pytest.raises(ToolError):
            parse_summary(bad)
