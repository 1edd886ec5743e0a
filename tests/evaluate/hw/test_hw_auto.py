"""`--backend auto` (evaluate/backends/choice.py): the current SDK with NeuronCores gives hw, an old SDK the legacy
path, nothing the simulator, and every choice says why (docs/evaluation.md#choosing-a-backend)."""

from __future__ import annotations

import re
import subprocess

import pytest

from autocomp.evaluate.backends import SimBackend, auto_backend, get_backend
from autocomp.evaluate.backends.choice import choose_backend
from autocomp.evaluate.backends.hw import HwBackend
from autocomp.evaluate.backends.neuron import NeuronBackend
from autocomp.evaluate.backends.sdk import SdkError
from autocomp.search.config import SearchConfig
from autocomp.search.runner import resolve_auto_backend
from tests.fakes.fake_hw_sdk import make_fake_sdk
from tests.fakes.fake_neuron import make_fake_toolchain


def test_the_current_sdk_with_neuroncores_is_hw(tmp_path):
    opts = make_fake_sdk(tmp_path, cores=4)
    backend, choice = auto_backend(**opts)
    assert isinstance(backend, HwBackend) and choice.name == "hw"
    assert "nki 0.7.0" in choice.reason and "nrtpy 0.7.0" in choice.reason and "4 NeuronCore(s)" in choice.reason
    assert choice.sdk == {"nki": "0.7.0", "nrtpy": "0.7.0"}
    listed = choose_backend(**opts, cores=[1])
    assert listed.name == "hw" and "1 NeuronCore(s) ([evaluation] cores)" in listed.reason


def test_auto_then_behaves_like_hw_its_errors_included(tmp_path):
    opts = make_fake_sdk(tmp_path, missing=("neuron-explorer",))
    assert choose_backend(**opts, profile=True).name == "hw"  # the SDK and the cores are there ...
    with pytest.raises(SdkError, match="--hw-profile needs neuron-explorer"):  # ... and --hw-profile cannot work
        get_backend("auto", **opts, profile=True)


def test_an_old_sdk_takes_the_legacy_path_only_where_it_works(tmp_path):
    legacy = make_fake_toolchain(tmp_path / "old")  # neuronxcc only, a device node and neuron-profile
    backend, choice = auto_backend(**legacy)
    assert isinstance(backend, NeuronBackend) and choice.name == "neuron"
    assert "neuronxcc 2.99.0+fake" in choice.reason and "legacy path" in choice.reason
    no_device = choose_backend(**{**legacy, "device": str(tmp_path / "no-device")})
    assert no_device.name == "sim" and "no NeuronCore device at" in no_device.reason
    assert "Neuron SDK 2.33" in no_device.reason


def test_without_any_sdk_it_is_sim_decided_without_starting_a_process(monkeypatch):
    def no_process(*args, **kwargs):
        raise AssertionError(f"auto started a process: {args[0]}")

    monkeypatch.setattr(subprocess, "run", no_process)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    backend, choice = auto_backend()
    assert isinstance(backend, SimBackend) and choice.name == "sim"
    assert "no Neuron SDK here" in choice.reason


@pytest.mark.parametrize("sdk, words", [
    ({"cores": 0}, "no NeuronCore: neuron-ls lists no NeuronCores"),
    ({"missing": ("neuron-ls",)}, "no NeuronCore: neuron-ls is not on PATH"),
    ({"missing": ("nrtpy",)}, "`nrtpy` is not installed"),
    ({"nki_version": "0.6.2"}, r"nki 0\.6\.2 is too old"),
])
def test_a_current_sdk_that_cannot_measure_here_is_sim_naming_why(tmp_path, sdk, words):
    choice = choose_backend(**make_fake_sdk(tmp_path, **sdk))
    assert choice.name == "sim"
    assert re.search(words, choice.reason), choice.reason
    assert choice.line().startswith("--backend auto chose sim: ") and choice.notable  # shown: the SDK is here


def test_a_run_resolves_auto_once_and_a_resumed_run_keeps_what_it_chose(tmp_path):
    opts = make_fake_sdk(tmp_path, cores=2)
    config = SearchConfig(evaluation={"backend": "auto", "sdk_pythonpath": opts["compile_pythonpath"],
                                      "runtime_pythonpath": opts["runtime_pythonpath"], "sdk_path": opts["path"]})
    resolved, line, announce = resolve_auto_backend(config)
    assert resolved.evaluation.backend == "hw" and resolved.evaluation.hardware and announce
    assert line.startswith("--backend auto chose hw") and config.evaluation.backend == "auto"  # a copy
    kept, why, _ = resolve_auto_backend(config, recorded="sim")  # resumed: whatever this machine has now
    assert kept.evaluation.backend == "sim" and "keeping sim" in why
    same, nothing, _ = resolve_auto_backend(resolved)
    assert same is resolved and nothing == ""  # a named backend is not re-chosen
    here, said, announce = resolve_auto_backend(SearchConfig())  # this machine: no Neuron SDK at all
    assert here.evaluation.backend == "sim" and "no Neuron SDK here" in said and not announce  # recorded, not shown
    _, said, announce = resolve_auto_backend(SearchConfig(evaluation={"hw_profile": True}))
    assert said.endswith("(--hw-profile has no hardware to profile)") and announce
