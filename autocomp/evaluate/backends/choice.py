"""``--backend auto``: which backend this machine can measure with, and why (docs/evaluation.md#choosing-a-backend).

In order: no Neuron compiler package anywhere on the import path: ``sim`` (decided without starting a process,
so the default costs nothing where there is no SDK). The current SDK (NKI 0.7+ with nrtpy) and a NeuronCore
(``[evaluation] cores``, else ``neuron-ls``): ``hw``, exactly as ``--backend hw``. An SDK with only the old
compiler ``neuronxcc``: the legacy ``neuron`` backend when it is usable here (a device node and neuron-profile).
Anything else: ``sim``, with the reason hardware was not chosen, so a user who expected the device reads what
is missing. The choice is made once per run and recorded (search/runner.py).
"""

from __future__ import annotations

import importlib.machinery
import sys
from dataclasses import dataclass, field
from typing import Any

# HwBackend's keyword options (evaluate/backends/__init__.py HW_OPTIONS); the legacy backend's, when given to
# auto, name its device node and the old compiler's import path.
LEGACY_ONLY = ("device", "method", "repeats", "profiler", "pythonpath")


@dataclass(frozen=True)
class BackendChoice:
    """What ``auto`` resolved to: ``name`` ("sim", "hw" or "neuron"), a one-line ``reason``, the SDK versions
    found (``sdk``) and the options to create that backend with."""

    name: str
    reason: str
    sdk: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"--backend auto chose {self.name}: {self.reason}"

    @property
    def notable(self) -> bool:
        """Worth a note on screen: hardware was chosen, or some of the SDK is here and could not be used (the
        simulator on a machine without any Neuron SDK, the common case of the default, goes unannounced)."""
        return self.name != "sim" or bool(self.sdk)


def _compiler_on_path(paths: list[str]) -> bool:
    """Whether ``nki`` or ``neuronxcc`` could be imported from ``paths`` or this interpreter's path, found without
    importing anything (autocomp's simulator registers its facades in sys.modules, never on the path)."""
    search = list(paths) + sys.path
    return any(importlib.machinery.PathFinder.find_spec(name, search) is not None for name in ("nki", "neuronxcc"))


def choose_backend(**options: Any) -> BackendChoice:
    """Resolve ``auto`` from HwBackend's options (``compile_pythonpath``, ``runtime_python``, ``path``, ``cores``,
    ...) or the legacy backend's (``device``, ``pythonpath``, ``path``)."""
    from autocomp.evaluate.backends import HW_OPTIONS
    from autocomp.evaluate.backends.hw import HwBackend
    from autocomp.evaluate.backends.neuron import NeuronBackend
    from autocomp.evaluate.backends.sdk import SdkError, require_current
    from autocomp.evaluate.device_fleet import DeviceToolError, discover_cores

    unknown = sorted(set(options) - set(HW_OPTIONS) - set(LEGACY_ONLY))
    if unknown:
        raise ValueError(f"backend auto: unknown option(s) {', '.join(unknown)}")
    hw_options = {k: v for k, v in options.items() if k in HW_OPTIONS}
    if "pythonpath" in options and "compile_pythonpath" not in options:  # the legacy name of the compiler's path
        hw_options["compile_pythonpath"] = options["pythonpath"]
    compile_path = list(hw_options.get("compile_pythonpath") or [])
    if not _compiler_on_path(compile_path):
        return BackendChoice("sim", "no Neuron SDK here (neither nki nor neuronxcc can be imported); the simulator "
                                    "and cost model estimate")
    hw = HwBackend(**hw_options)
    info = hw.sdk()
    sdk = info.record()
    if info.current:
        try:
            require_current(info)
        except SdkError as e:
            return BackendChoice("sim", f"found nki {info.nki}, but {e}", sdk)
        if hw.cores:
            cores, source = hw.cores, "[evaluation] cores"
        else:
            neuron_ls = info.tools.get("neuron-ls")
            if neuron_ls is None:
                return BackendChoice("sim", f"found nki {info.nki} and nrtpy {info.nrtpy}, but no NeuronCore: "
                                            "neuron-ls is not on PATH to list them (install aws-neuronx-tools, "
                                            "or list them with [evaluation] cores)", sdk)
            try:
                cores, source = discover_cores(neuron_ls, {"PATH": hw.search_path()}), "neuron-ls"
            except DeviceToolError as e:
                return BackendChoice("sim", f"found nki {info.nki} and nrtpy {info.nrtpy}, but no NeuronCore: {e}",
                                     sdk)
        return BackendChoice("hw", f"Neuron SDK found (nki {info.nki}, nrtpy {info.nrtpy}) with {len(cores)} "
                                   f"NeuronCore(s) ({source}); measuring on hardware", sdk, hw_options)
    if info.neuronxcc is not None:
        legacy_options = {"device": options.get("device", "/dev/neuron0"), "pythonpath": compile_path,
                          "path": list(hw_options.get("path") or []), "cores": hw_options.get("cores")}
        for key in ("method", "repeats", "profiler"):
            if key in options:
                legacy_options[key] = options[key]
        ok, why = NeuronBackend(**legacy_options).available()
        if ok:
            return BackendChoice("neuron", f"only the old compiler neuronxcc {info.neuronxcc} (an SDK before 2.28) "
                                           "with a NeuronCore and neuron-profile: the legacy path (nki.baremetal + "
                                           "neuron-profile)", sdk, legacy_options)
        return BackendChoice("sim", f"found only the old compiler neuronxcc {info.neuronxcc}, whose legacy path is "
                                    f"unusable here ({why}); install Neuron SDK 2.33+ to measure on hardware", sdk)
    if info.nki is not None:
        try:
            require_current(info)
        except SdkError as e:
            return BackendChoice("sim", str(e), sdk)
    broken = info.problems.get("nki") or info.problems.get("neuronxcc")
    return BackendChoice("sim", f"the Neuron compiler does not import ({broken})" if broken
                         else "no usable Neuron compiler found", sdk)
