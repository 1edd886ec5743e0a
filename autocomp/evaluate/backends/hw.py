"""The hardware backend on the current Neuron SDK (NKI 0.7+, nrtpy, Neuron Explorer); evidence ``hw``.

- Compile, in the sandboxed CPU worker (compiling runs candidate code): the documented standalone NKI path. With
  ``NKI_ARTIFACTS_DIR`` set before ``nki`` is imported, calling the ``@nki.jit`` kernel on numpy arrays compiles
  it and leaves ``kernel.neff`` there; on a host without a NeuronCore (the sandbox never sees one) the execution
  that follows fails and the NEFF stays. A fresh ``kernel.neff`` after the call means it compiled; none means a
  compile error. The docs document no compile-only call for standalone NKI: this is the small adapter.
- Run and time, in the trusted parent, through the device fleet (``device_fleet.py``: one nrtpy process per
  NeuronCore, never any candidate code): the check NEFF on every seed's inputs (outputs come back as data and are
  compared in the parent, as for ``sim``), then ``NrtpyModel.benchmark(mode="device")`` on the timing NEFF:
  warm-up, rounds of iterations until the spread of the kept samples is under the limit, outliers (above the
  upper Tukey fence) dropped, the median reported.
- Profile, when asked: ``neuron-explorer capture`` + ``view --output-format summary-json`` on the timing NEFF,
  on the same core (its worker releases the runtime first); the summary's fields go into the result's profile,
  and the capture (NTFF, NEFF, summary: device_capture.py) is staged for the run store to keep. A
  capture that fails leaves the measurement standing, with a warning.
- On a Ray cluster (``use_devices``) each run and each benchmark is a task on a free NeuronCore of any node, which
  runs this same device path on its core (executors/devices.py); outputs, timings and captures come back as data.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from autocomp.evaluate.backends.base import generic_error
from autocomp.evaluate.backends.sdk import SdkError, SdkInfo, detect, require_current
from autocomp.evaluate.device_capture import NEFF_FILE, NTFF_FILE, PROFILE_FILES, STAGED_MARKER, SUMMARY_FILE
from autocomp.evaluate.protocol import (
    ErrorInfo,
    Job,
    KernelFault,
    Timing,
    TimingRequest,
    dtype_from_name,
    save_array,
)

CHECK_NEFF_NAME = "check.neff"  # compiled at the check (seeded) shapes
TIMING_NEFF = "timing.neff"  # compiled at the timed shapes (the same file when they are the check shapes)
MAX_NEFF_BYTES = 2 << 30
EXPLORER_TIMEOUT_S = 600
_CAPTURE_LOCK = threading.Lock()


class ToolError(RuntimeError):
    """The toolchain failed (not the candidate's fault)."""


def tukey_kept(samples: list[float]) -> list[float]:
    """Samples without the high outliers (above Q3 + 1.5 IQR): a preempted or throttled run, not the kernel."""
    if len(samples) < 4:
        return list(samples)
    q1, _, q3 = statistics.quantiles(samples, n=4)
    fence = q3 + 1.5 * (q3 - q1)
    return [s for s in samples if s <= fence]


class HwBackend:
    """Compile in the sandbox, run and time on a NeuronCore from the trusted parent."""

    name = "hw"
    evidence = "hw"

    def __init__(self, *, compile_pythonpath: list[str] | None = None, runtime_pythonpath: list[str] | None = None,
                 runtime_python: str | None = None, path: list[str] | None = None, cores: list[int] | None = None,
                 lnc: int | None = None, warmup: int = 5, iterations: int = 20, max_rounds: int = 3,
                 spread_limit: float = 0.01, profile: bool = False, explorer: str = "neuron-explorer"):
        self.compile_pythonpath = list(compile_pythonpath or [])
        self.runtime_pythonpath = list(runtime_pythonpath or [])
        self.runtime_python = runtime_python
        self.extra_path = list(path or [])
        self.cores = list(cores) if cores else None
        self.lnc = lnc
        self.warmup, self.iterations = max(0, warmup), max(1, iterations)
        self.max_rounds, self.spread_limit = max(1, max_rounds), spread_limit
        self.profile, self.explorer = profile, explorer
        self._sdk: SdkInfo | None = None
        self._fleet = None
        self._captures: Path | None = None  # parent side: Neuron Explorer captures waiting for the run store
        # Where the NEFFs run: None, this host's fleet; else a dispatcher (use_devices: a Ray cluster's cores).
        self._devices = None
        # Worker half: the NEFFs compiled so far. One container made here, never replaced (the tamper check).
        self._neffs: dict[str, Path] = {}

    # ------------------------------------------------------------------ parent side
    def options(self) -> dict[str, Any]:
        return {"compile_pythonpath": self.compile_pythonpath, "runtime_pythonpath": self.runtime_pythonpath,
                "runtime_python": self.runtime_python, "path": self.extra_path, "cores": self.cores,
                "lnc": self.lnc, "warmup": self.warmup, "iterations": self.iterations,
                "max_rounds": self.max_rounds, "spread_limit": self.spread_limit, "profile": self.profile,
                "explorer": self.explorer}

    def search_path(self) -> str:
        return os.pathsep.join(self.extra_path + [os.environ.get("PATH", "/usr/bin:/bin"), "/opt/aws/neuron/bin"])

    def sdk(self) -> SdkInfo:
        if self._sdk is None:
            self._sdk = detect(compile_pythonpath=self.compile_pythonpath, runtime_pythonpath=self.runtime_pythonpath,
                               runtime_python=self.runtime_python, search_path=self.search_path())
        return self._sdk

    def available(self) -> tuple[bool, str]:
        try:
            require_current(self.sdk())
        except SdkError as e:
            return False, str(e)
        if self.profile and "neuron-explorer" not in self.sdk().tools:
            return False, ("--hw-profile needs neuron-explorer on PATH (install aws-neuronx-tools from Neuron SDK "
                           "2.29+; neuron-profile is retired)")
        if self.cores is None and self._devices is None and "neuron-ls" not in self.sdk().tools:
            return False, "neuron-ls is not on PATH to find the NeuronCores; install aws-neuronx-tools or set cores"
        return True, ""

    def tool_version(self) -> str:
        from autocomp.evaluate.backends.sim import code_fingerprint

        return f"{self.sdk().label()}+autocomp-{code_fingerprint()}"

    def sandbox_env(self, slot: int) -> dict[str, str]:
        return {}  # compiling needs no NeuronCore: every CPU slot is alike, and spares can be spawned ahead

    def pythonpath(self) -> list[str]:
        return list(self.compile_pythonpath)

    def drop_privileges(self) -> bool:
        return True  # the sandbox compiles only: no device files

    def fleet(self):
        """The device workers, one per NeuronCore (started on first use)."""
        if self._fleet is None:
            from autocomp.evaluate.device_fleet import DeviceFleet, discover_cores

            env = {"PATH": self.search_path()}
            cores = self.cores or discover_cores(self.sdk().tools.get("neuron-ls", "neuron-ls"), env)
            self._fleet = DeviceFleet(cores, python=self.runtime_python or sys.executable,
                                      pythonpath=self.runtime_pythonpath, search_path=self.search_path(),
                                      lnc=self.lnc)
        return self._fleet

    def use_devices(self, devices) -> None:
        """Run and time the NEFFs through ``devices`` (executors/devices.py ``ClusterDevices``: a task per device step
        on a free NeuronCore of a Ray cluster) instead of this host's fleet. The NEFF is checked here either way."""
        self._devices = devices

    def on_core(self, core: int) -> HwBackend:
        """This backend on NeuronCore ``core`` alone (the one a Ray task holds), sharing its SDK detection."""
        twin = HwBackend(**{**self.options(), "cores": [core]})
        twin._sdk = self.sdk()
        return twin

    def stage_capture(self, files: dict[str, bytes]) -> Path:
        """A Neuron Explorer capture made on another host (a cluster node's task), staged here like one of this
        host's for the run store to keep; only the capture's known file names are written."""
        capture = Path(tempfile.mkdtemp(prefix="capture-", dir=self._capture_root()))
        for name in PROFILE_FILES:
            if name in files:
                (capture / name).write_bytes(files[name])
        (capture / STAGED_MARKER).write_text("")
        return capture

    def close(self) -> None:
        if self._fleet is not None:
            self._fleet.close()
            self._fleet = None
        if self._captures is not None:  # captures no run store took (an Evaluator used without a run)
            shutil.rmtree(self._captures, ignore_errors=True)
            self._captures = None

    # ------------------------------------------------------------------ worker side (sandboxed)
    def prepare(self) -> None:
        pass  # nki reads NKI_ARTIFACTS_DIR when imported, which must wait for the job's directory (load)

    def load(self, kernel_path: Path, job: Job) -> Any:
        if job.dialect != "v2":
            raise ToolError("the current Neuron SDK has no neuronxcc.nki (v1 dialect, retired in 2.28): port the "
                            "kernel to `import nki`, or evaluate it with the sim backend")
        artifacts = Path(job.work_dir) / "nki-artifacts"
        artifacts.mkdir(exist_ok=True)
        os.environ["NKI_ARTIFACTS_DIR"] = str(artifacts)
        # The NEFF must be for the job's NeuronCore generation (a NEFF for another one fails to load: nrtpy's
        # troubleshooting page). NKI reads the platform from this variable (the adapter's assumption).
        os.environ["NEURON_PLATFORM_TARGET_OVERRIDE"] = job.target
        self._neffs["artifacts"] = artifacts
        spec = importlib.util.spec_from_file_location("autocomp_candidate", kernel_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        if getattr(sys.modules.get("nki"), "__autocomp_simulator__", False):
            raise ToolError("the hw backend found autocomp's simulator instead of the NKI compiler")
        fn = getattr(module, job.function, None)
        if fn is None:
            raise AttributeError(f"no function named {job.function!r}")
        return fn

    def _compile(self, kernel, args: list[np.ndarray], dest: Path) -> None:
        neff = self._neffs["artifacts"] / "kernel.neff"
        neff.unlink(missing_ok=True)
        try:
            kernel(*args)
        except Exception:
            if not neff.is_file():
                raise  # no NEFF: it failed to compile
            # Compiled; executing on this device-less host failed, as expected.
        if not neff.is_file():
            raise ToolError("nki compiled the kernel but left no kernel.neff in NKI_ARTIFACTS_DIR")
        shutil.move(str(neff), dest)

    def run(self, handle: Any, args: list[np.ndarray], seed: int, job: Job) -> list[np.ndarray]:
        if "check" not in self._neffs:  # every seed has the same shapes: one compile
            dest = Path(job.work_dir) / CHECK_NEFF_NAME
            self._compile(handle, args, dest)
            self._neffs["check"] = dest
        return []  # outputs come from the device, run by the parent

    def record(self, handle: Any, job: Job, out_dir: Path) -> None:
        check = self._neffs.get("check")
        if check is None:
            raise ToolError("no NEFF was compiled")
        shutil.copyfile(check, out_dir / CHECK_NEFF_NAME)
        if job.timing_specs:
            rng = np.random.default_rng(0)
            args = [rng.standard_normal(s.shape).astype(dtype_from_name(s.dtype)) for s in job.timing_specs]
            self._compile(handle, args, out_dir / TIMING_NEFF)

    def classify(self, exc: BaseException, job: Job, kernel_path: Path) -> ErrorInfo:
        if isinstance(exc, ToolError):
            return ErrorInfo(status="runtime_error", code="tool_error", message=str(exc))
        info = generic_error(exc, job, kernel_path, compile_time=True)
        if info.code not in ("out_of_memory", "recursion", "exit"):
            info.message = f"compiling failed: {info.message}"
        return info

    # ------------------------------------------------------------------ trusted half (parent, device fleet)
    def _neff(self, artifacts: str, name: str) -> Path:
        path = Path(artifacts) / name
        if path.is_symlink() or not path.is_file():
            raise ToolError(f"the worker left no {name}")
        if path.stat().st_size > MAX_NEFF_BYTES:
            raise KernelFault(f"the compiled kernel is {path.stat().st_size >> 20} MiB, over the "
                              f"{MAX_NEFF_BYTES >> 30} GiB the runtime is given")
        return path

    def run_on_device(self, request: TimingRequest, inputs: dict[int, tuple[np.ndarray, ...]],
                      expected: list[tuple[tuple[int, ...], list[str]]]) -> dict[int, list[np.ndarray | None]]:
        """Each seed's outputs from running the check NEFF on a free NeuronCore. ``expected`` gives each output's
        shape and the dtypes it may have, most likely first: the runtime hands back raw bytes and does not always
        know their dtype (nrtpy's docs), so a reported numeric dtype wins, else the first hint of the output's
        item size. An output whose bytes fit no reading is None (the parent calls it incorrect)."""
        from autocomp.evaluate.device_fleet import DeviceRunError

        neff = self._neff(request.artifacts, CHECK_NEFF_NAME)
        if self._devices is not None:
            return self._devices.run_on_device(self, request, {CHECK_NEFF_NAME: neff}, inputs, expected)
        out: dict[int, list[np.ndarray]] = {}
        with tempfile.TemporaryDirectory(prefix="autocomp-device-") as tmp, self.fleet().core() as core:
            os.chmod(tmp, 0o755)
            for seed, arrays in inputs.items():
                paths = [_save_input(Path(tmp), f"seed{seed}_in{i}", a) for i, a in enumerate(arrays)]
                try:
                    answer = core.request({"op": "run", "neff": str(neff), "inputs": paths, "out_dir": tmp})
                except DeviceRunError as e:
                    raise KernelFault(f"running on NeuronCore {core.core} failed: {e}") from None
                reported = answer.get("dtypes") or [None] * len(answer["outputs"])
                out[seed] = [_reinterpret(Path(f), shape, [d] if d else hints)
                             for f, d, (shape, hints) in zip(answer["outputs"], reported, expected)]
                if len(answer["outputs"]) != len(expected):
                    out[seed] += [None] * (len(expected) - len(answer["outputs"]))
        return out

    def measure(self, request: TimingRequest) -> Timing:
        from autocomp.evaluate.device_fleet import DeviceRunError

        name = TIMING_NEFF if (Path(request.artifacts) / TIMING_NEFF).is_file() else CHECK_NEFF_NAME
        neff = self._neff(request.artifacts, name)
        if self._devices is not None:
            return self._devices.measure(self, request, {name: neff})
        specs = request.timing_inputs or request.inputs
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        rounds: list[tuple[float, list[float], list[float]]] = []
        with tempfile.TemporaryDirectory(prefix="autocomp-bench-") as tmp, self.fleet().core() as core:
            os.chmod(tmp, 0o755)
            paths = [_save_input(Path(tmp), f"in{i}", rng.standard_normal(s.shape).astype(dtype_from_name(s.dtype)))
                     for i, s in enumerate(specs)]
            for _ in range(self.max_rounds):
                try:
                    answer = core.request({"op": "benchmark", "neff": str(neff), "inputs": paths,
                                           "warmup": self.warmup, "iterations": self.iterations})
                except DeviceRunError as e:
                    raise KernelFault(f"benchmarking on NeuronCore {core.core} failed: {e}") from None
                samples = [d * 1e3 for d in answer["durations_ms"]]
                if not samples or min(samples) <= 0:
                    raise ToolError(f"nrtpy benchmark returned no positive durations: {samples[:5]}")
                kept = tukey_kept(samples)
                rounds.append(((max(kept) - min(kept)) / min(kept), kept, samples))
                if rounds[-1][0] <= self.spread_limit:
                    break
            spread, kept, samples = min(rounds, key=lambda r: r[0])
            p50 = statistics.median(kept)
            summary: dict[str, Any] = {}
            profile_id = ""
            device_profile: dict[str, Any] = {}
            if self.profile:
                core.request({"op": "release"})
                profile_id, summary, device_profile = self._explore(neff, core.core)
            summary.update({"total_time": p50 * 1e-6, "evidence": "hw", "neuron_core": core.core,
                            "sdk": self.sdk().record(), "outliers_dropped": len(samples) - len(kept)})
        return Timing(latency_us=p50, evidence="hw", summary=summary, profile_id=profile_id, samples_us=kept,
                      spread=spread, rounds=len(rounds), profile_s=time.perf_counter() - start,
                      device_profile=device_profile)

    def _capture_root(self) -> Path:
        """Where captures wait for the run store (store/device_profiles.py); removed with the backend (close)."""
        with _CAPTURE_LOCK:
            if self._captures is None or not self._captures.is_dir():
                self._captures = Path(tempfile.mkdtemp(prefix="autocomp-explorer-"))
            return self._captures

    def _explore(self, neff: Path, core: int) -> tuple[str, dict, dict]:
        """Neuron Explorer's device profile of ``neff`` on ``core``: (profile id, summary fields, the staged capture
        for the run store). A capture that fails costs the profile, never the measurement: ("", {}, {"error"})."""
        from autocomp.evaluate.backends.neuron import parse_summary

        tool = self.sdk().tools.get("neuron-explorer") or self.explorer
        env = {**os.environ, "PATH": self.search_path(), "NEURON_RT_VISIBLE_CORES": str(core)}
        capture = Path(tempfile.mkdtemp(prefix="capture-", dir=self._capture_root()))
        ntff = capture / NTFF_FILE
        try:
            for argv in (["capture", "-n", str(neff), "-s", str(ntff)],
                         ["view", "-n", str(neff), "-s", str(ntff), "--output-format", "summary-json"]):
                try:
                    r = subprocess.run([tool, *argv], capture_output=True, text=True, env=env,
                                       timeout=EXPLORER_TIMEOUT_S)
                except (OSError, subprocess.SubprocessError) as e:
                    raise ToolError(f"neuron-explorer {argv[0]} could not run: {e}") from None
                if r.returncode != 0:
                    raise ToolError(f"neuron-explorer {argv[0]} failed (exit {r.returncode}): "
                                    f"{(r.stderr or r.stdout).strip()[-300:]}")
            pid, summary = parse_summary(r.stdout)
            (capture / SUMMARY_FILE).write_text(json.dumps({pid: summary}, indent=1))
            shutil.copyfile(neff, capture / NEFF_FILE)  # Neuron Explorer reads an NTFF only with its NEFF
            (capture / STAGED_MARKER).write_text("")
        except (RuntimeError, OSError) as e:  # ToolError of either backend module, a full disk
            shutil.rmtree(capture, ignore_errors=True)
            return "", {}, {"error": str(e)[:400] or type(e).__name__, "neuron_core": core}
        # The latency of record is nrtpy's benchmark; the capture's own total_time is kept beside it.
        summary = dict(summary)
        summary["explorer_total_time"] = summary.pop("total_time")
        return pid, summary, {"staged": str(capture), "profile_id": pid, "neuron_core": core}


def _save_input(directory: Path, name: str, array: np.ndarray) -> list[str]:
    """[path, dtype name] of ``array`` saved for the device worker (bfloat16 and float8 as same-width uints)."""
    ref = save_array(directory, name, array)
    return [str(directory / ref.file), ref.dtype]


def _reinterpret(path: Path, shape: tuple[int, ...], dtypes: list[str]) -> np.ndarray | None:
    """The device's raw output bytes as ``shape`` of the first of ``dtypes`` whose size fits; None if none does."""
    raw = np.load(path, allow_pickle=False)
    elems = int(np.prod(shape))
    if raw.dtype != np.uint8 or elems == 0 or raw.size % elems:
        return None
    for name in dtypes:
        dtype = dtype_from_name(name)
        if dtype.itemsize * elems == raw.size:
            return raw.view(dtype).reshape(shape)
    return None
