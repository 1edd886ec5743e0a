"""The hw backend on a fake current Neuron SDK (tests/fakes/fake_hw_sdk.py): detection, compile in the sandbox,
outputs from the device compared in the parent, timing, profiles, and every misbehaviour of the toolchain."""

from __future__ import annotations

import ast

import pytest

from autocomp.evaluate import Evaluator, EvaluatorError
from autocomp.evaluate.backends import get_backend
from autocomp.evaluate.backends.hw import HwBackend, tukey_kept
from autocomp.evaluate.backends.sdk import SdkError, version_tuple
from autocomp.evaluate.device_fleet import DeviceToolError, discover_cores
from tests.fakes.eval_support import problem
from tests.fakes.fake_hw_sdk import device_log, make_fake_sdk, write_sdk_config

ADD = problem("v2_add")
BASELINE = ADD.baseline_source


@pytest.fixture(scope="module")
def sdk(tmp_path_factory):
    root = tmp_path_factory.mktemp("sdk")
    return root, make_fake_sdk(root, cores=4)


@pytest.fixture(scope="module")
def ev(sdk, tmp_path_factory):
    evaluator = Evaluator(get_backend("hw", **sdk[1], profile=True), workers=2, cache=False, timeout_s=120)
    yield evaluator
    evaluator.close()


def test_detection_finds_the_current_sdk_and_every_result_records_its_versions(ev):
    r = ev.evaluate(ADD, BASELINE + "\n# a copy\n")
    assert r.status == "correct" and r.evidence == "hw" and r.backend == "hw", r.reason
    assert r.tool_version.startswith("nki-0.7.0+nrtpy-0.7.0+autocomp-")
    assert r.profile["sdk"] == {"nki": "0.7.0", "nrtpy": "0.7.0"}
    assert r.latency_us == pytest.approx(r.profile["total_time"] * 1e6)
    assert r.max_abs is not None and r.max_abs < 1e-5  # compared in the parent against the references


def test_neuron_explorer_profile_is_mapped_into_the_result(ev):
    r = ev.evaluate(ADD, BASELINE + "\n# profiled\n")
    assert r.status == "correct", r.reason
    assert r.profile_id and r.profile["explorer_total_time"] > 0
    assert "dma_active_time_percent" in r.profile  # the explorer summary's own fields
    assert r.profile["profiled_cores"] == str(r.profile["neuron_core"])  # captured on the core that ran it


def test_all_zero_outputs_are_a_runtime_error_not_a_wrong_answer(ev):
    r = ev.evaluate(ADD, BASELINE + "\nFAKE_ZERO_OUTPUTS = True\n")
    assert r.status == "runtime_error" and "all-zero outputs" in r.reason


def test_a_device_fault_is_the_candidates_runtime_error(ev):
    r = ev.evaluate(ADD, BASELINE + "\nFAKE_DEVICE_FAULT = True\n")
    assert r.status == "runtime_error" and "NRT_EXEC" in r.reason and "tool_error" not in r.flags


def test_wrong_outputs_from_the_device_are_incorrect(ev):
    r = ev.evaluate(ADD, BASELINE.replace("nl.add", "nl.subtract"))
    assert r.status == "incorrect" and "on the device" in r.reason


def test_compile_errors_are_compile_errors_and_never_reach_the_device(ev, sdk):
    before = len(device_log(sdk[0]))
    r = ev.evaluate(ADD, BASELINE.replace("nisa.tensor_tensor(dst=z, data1=x, data2=y, op=nl.add)",
                                          "nisa.tensor_tensor(dst=z, data1=x, data2=y[0:64, :], op=nl.add)"))
    assert r.status == "compile_error" and "compiling failed" in r.reason
    assert len(device_log(sdk[0])) == before


def test_noisy_timings_are_re_measured_and_flagged(ev):
    r = ev.evaluate(ADD, BASELINE + "\nFAKE_NOISE = 0.2\n")
    assert r.status == "correct", r.reason
    assert r.timing_rounds == 3 and r.timing_spread > 0.01 and "noisy_timing" in r.flags
    quiet = ev.evaluate(ADD, BASELINE + "\n# quiet\n")
    assert quiet.timing_rounds == 1 and quiet.timing_spread == 0.0 and "noisy_timing" not in quiet.flags


def test_the_work_spreads_over_the_cores_each_worker_pinned_to_its_own(ev, sdk):
    sources = [BASELINE + f"\n# variant {i}\n" for i in range(6)]
    results = ev.evaluate_many(ADD, sources)
    assert all(r.status == "correct" for r in results)
    log = device_log(sdk[0])
    by_pid = {}
    for rec in log:
        by_pid.setdefault(rec["pid"], set()).add(rec["cores"])
    assert all(len(cores) == 1 for cores in by_pid.values())  # one process per NeuronCore
    assert len({rec["cores"] for rec in log if rec["event"] == "benchmark"}) > 1


def test_too_old_nki_is_refused_with_what_to_install(tmp_path):
    opts = make_fake_sdk(tmp_path, nki_version="0.6.2")
    with pytest.raises(SdkError, match=r"nki 0\.6\.2 is too old.*NKI 0\.7"):
        get_backend("hw", **opts)


@pytest.mark.parametrize("missing, words", [
    ("nki", "`nki` is not installed"),
    ("nrtpy", "`nrtpy` is not installed"),
    ("neuron-ls", "neuron-ls is not on PATH"),
])
def test_a_missing_tool_is_a_clear_error(tmp_path, missing, words):
    opts = make_fake_sdk(tmp_path, missing=(missing,))
    with pytest.raises(SdkError, match=words):
        get_backend("hw", **opts)


def test_profiling_without_neuron_explorer_is_refused(tmp_path):
    opts = make_fake_sdk(tmp_path, missing=("neuron-explorer",))
    assert isinstance(get_backend("hw", **opts), HwBackend)  # fine without --hw-profile
    with pytest.raises(SdkError, match="neuron-explorer"):
        get_backend("hw", **opts, profile=True)


def test_neuron_is_an_alias_that_detects_the_sdk(sdk):
    assert isinstance(get_backend("neuron", **sdk[1]), HwBackend)


def test_a_v1_kernel_cannot_compile_on_the_current_sdk(ev):
    with pytest.raises(EvaluatorError, match=r"no neuronxcc\.nki \(v1 dialect"):
        ev.baseline(problem("ew_muladd"))


def test_cores_come_from_neuron_ls(sdk):
    root, opts = sdk
    assert discover_cores(str(root / "bin" / "neuron-ls"), {"PATH": "/usr/bin:/bin"}) == [0, 1, 2, 3]
    with pytest.raises(DeviceToolError, match="neuron-ls could not be run"):
        discover_cores(str(root / "bin" / "no-such-tool"), {})


def test_lnc_reaches_the_device_workers(sdk, tmp_path):
    root, opts = sdk
    backend = get_backend("hw", **opts, cores=[2], lnc=1)
    evaluator = Evaluator(backend, workers=1, cache=False, timeout_s=120)
    try:
        assert evaluator.evaluate(ADD, BASELINE + "\n# lnc\n").status == "correct"
    finally:
        evaluator.close()
    last = [r for r in device_log(root) if r["event"] == "benchmark"][-1]
    assert last["cores"] == "2" and last["lnc"] == "1"


def test_outliers_above_the_tukey_fence_are_dropped():
    assert tukey_kept([10.0, 10.1, 10.0, 10.2, 10.1, 30.0]) == [10.0, 10.1, 10.0, 10.2, 10.1]
    assert tukey_kept([1.0, 2.0]) == [1.0, 2.0]


def test_version_parsing():
    assert version_tuple("0.7.1+abc") == (0, 7, 1) and version_tuple("2.33.0.dev4") == (2, 33, 0)
    assert version_tuple("unknown") == ()


def test_the_device_worker_never_imports_autocomp():
    from autocomp.evaluate.device_fleet import WORKER_SCRIPT
    from autocomp.pyparse import parse_python

    tree = parse_python(WORKER_SCRIPT.read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert names <= {"json", "sys", "numpy", "nrtpy", "ml_dtypes"}, names


def test_an_old_sdk_without_neuron_profile_gets_the_upgrade_error(tmp_path):
    from tests.fakes.fake_neuron import make_fake_toolchain

    legacy = make_fake_toolchain(tmp_path / "old")  # neuronxcc only (a pre-2.28 SDK), and no device here
    with pytest.raises(SdkError, match=r"found only the old compiler neuronxcc 2\.99\.0\+fake.*Neuron SDK 2\.33"):
        get_backend("hw", compile_pythonpath=legacy["pythonpath"], path=legacy["path"])


def test_an_nrtpy_that_does_not_import_says_why_and_what_to_install(tmp_path):
    opts = make_fake_sdk(tmp_path, nrtpy_import_error="libnrt.so.1: cannot open shared object file")
    with pytest.raises(SdkError, match=r"`nrtpy` does not import \(ImportError: libnrt\.so\.1.*"
                                       r"aws-neuronx-runtime-lib"):
        get_backend("hw", **opts)


def test_a_runtime_python_that_is_not_there_is_named(tmp_path):
    opts = make_fake_sdk(tmp_path)
    with pytest.raises(SdkError, match=r"runtime_python = '/no/such/python' is not an interpreter"):
        get_backend("hw", **opts, runtime_python="/no/such/python")


def test_a_missing_nki_names_where_it_was_looked_for(tmp_path):
    opts = make_fake_sdk(tmp_path, missing=("nki",))
    with pytest.raises(SdkError, match=r"`nki` is not installed \(looked on .*nki-site and the site-packages of"):
        get_backend("hw", **opts)


@pytest.mark.parametrize("sdk, flags, words", [
    ({"missing": ("neuron-explorer",)}, ["--hw-profile"], "--hw-profile needs neuron-explorer"),
    ({"cores": 0}, [], "neuron-ls lists no NeuronCores"),
])
def test_optimize_on_hw_stops_before_the_run_with_what_is_missing(tmp_path, sdk, flags, words):

    from typer.testing import CliRunner

    from autocomp.cli import app

    opts = make_fake_sdk(tmp_path / "sdk", **sdk)
    cfg = tmp_path / "hw.toml"
    write_sdk_config(cfg, opts)
    runs = tmp_path / "runs"
    res = CliRunner().invoke(app, ["optimize", "silu_bf16", "--agent", "knobs", "--backend", "hw", "--config", str(cfg),
                                   "--runs-dir", str(runs), *flags])
    assert res.exit_code != 0 and words in res.output, res.output
    assert not runs.exists() or not any(runs.iterdir())  # no run was left behind
