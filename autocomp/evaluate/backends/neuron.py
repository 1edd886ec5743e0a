"""The hardware backend: neuronx-cc compiles, a NeuronCore runs, the device profiler times (evidence ``hw``).

Inside the sandboxed worker, each candidate is compiled and run with
``nki.baremetal`` (numpy in, numpy out), and the NEFF to time (the first seed's,
or a full-size compile for check_shapes problems) is left in the output
directory as ``timing.neff``. The parent then times that file, outside the
sandbox and without importing candidate code, with ``neuron-profile capture`` +
``neuron-profile view --output-format summary-json`` (latency =
``[first_key]["total_time"]``). Samples are repeated and re-measured while
(max - min) / min exceeds the spread limit; the p50 is reported. One NeuronCore
per pool slot via NEURON_RT_VISIBLE_CORES, for the worker and the profiler alike.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from autocomp.evaluate.backends.base import flatten_outputs, generic_error
from autocomp.evaluate.protocol import (
    TIMING_NEFF_NAME,
    ErrorInfo,
    Job,
    KernelFault,
    Timing,
    TimingRequest,
    dtype_from_name,
)

MAX_NEFF_BYTES = 2 << 30
PROFILER_TIMEOUT_S = 600


class ToolError(RuntimeError):
    """The profiler failed or printed something unreadable: not the candidate's fault."""


class DeviceError(KernelFault):
    """The kernel failed on the device while being profiled."""


def find_neuronxcc(extra_paths: list[str] | None = None) -> Path | None:
    """The directory of a real ``neuronxcc`` package with an ``nki`` subpackage (never autocomp's facade)."""
    spec = importlib.machinery.PathFinder.find_spec("neuronxcc", list(extra_paths or []) + sys.path)
    if spec is None or not spec.submodule_search_locations:
        return None
    if importlib.machinery.PathFinder.find_spec("nki", list(spec.submodule_search_locations)) is None:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def parse_summary(text: str) -> tuple[str, dict]:
    """(profile id, summary) from ``neuron-profile view --output-format summary-json`` output (log lines allowed)."""
    start = text.find("{")
    if start < 0:
        raise ToolError(f"neuron-profile view printed no JSON: {text.strip()[:200]!r}")
    try:
        data, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as e:
        raise ToolError(f"neuron-profile view printed invalid JSON ({e.msg})") from None
    if not isinstance(data, dict) or not data:
        raise ToolError("neuron-profile view printed an empty summary")
    key = next(iter(data))
    summary = data[key]
    total = summary.get("total_time") if isinstance(summary, dict) else None
    if not isinstance(total, (int, float)) or not total > 0:
        raise ToolError(f"neuron-profile summary has no positive total_time (got {total!r})")
    return str(key), summary


class NeuronBackend:
    """Compile with neuronx-cc and run on a NeuronCore in the worker; time the NEFF with neuron-profile outside it."""

    name = "neuron"
    evidence = "hw"

    def __init__(self, device: str = "/dev/neuron0", method: str = "profile", warmup: int = 2, repeats: int = 5,
                 max_rounds: int = 3, spread_limit: float = 0.01,
                 profiler: str = "neuron-profile", pythonpath: list[str] | None = None, path: list[str] | None = None,
                 cores: list[int] | None = None):
        if method != "profile":
            # nki.benchmark times the kernel inside the process that runs candidate code, where the candidate can
            # change the numbers; the profiler times the compiled NEFF from outside.
            raise ValueError(f"method {method!r}: only 'profile' (neuron-profile on the compiled NEFF, outside the "
                             "sandbox) is supported")
        self.device, self.method, self.warmup, self.repeats = device, method, warmup, max(1, repeats)
        self.max_rounds, self.spread_limit = max(1, max_rounds), spread_limit
        self.profiler = profiler
        self.extra_pythonpath = list(pythonpath or [])
        self.extra_path = list(path or [])
        self.cores = list(cores) if cores else None
        self._version: str | None = None
        # Worker half: the NEFF being built (once it exists, failures are runtime errors) and the one to time.
        # One container made here and never replaced, so the tamper check sees any attribute the candidate swaps.
        self._neffs: dict[str, Path] = {}

    # ------------------------------------------------------------------ parent side
    def options(self) -> dict[str, Any]:
        return {"device": self.device, "method": self.method, "warmup": self.warmup, "repeats": self.repeats,
                "max_rounds": self.max_rounds, "spread_limit": self.spread_limit,
                "profiler": self.profiler,
                "pythonpath": self.extra_pythonpath, "path": self.extra_path, "cores": self.cores}

    def _search_path(self) -> str:
        return os.pathsep.join(self.extra_path + [os.environ.get("PATH", "/usr/bin:/bin"), "/opt/aws/neuron/bin"])

    def available(self) -> tuple[bool, str]:
        if find_neuronxcc(self.extra_pythonpath) is None:
            return False, "the Neuron compiler package neuronxcc (with nki) is not installed"
        if not os.path.exists(self.device):
            return False, f"no NeuronCore device at {self.device}"
        if shutil.which(self.profiler, path=self._search_path()) is None:
            return False, f"{self.profiler} is not on PATH (install aws-neuronx-tools)"
        return True, ""

    def tool_version(self) -> str:
        if self._version is None:
            from autocomp.evaluate.backends.sim import code_fingerprint

            env = {"PATH": self._search_path(), "PYTHONPATH": os.pathsep.join(self.extra_pythonpath)}
            try:
                r = subprocess.run([sys.executable, "-c", "import neuronxcc; print(neuronxcc.__version__)"],
                                   capture_output=True, text=True, timeout=120, env=env)
                cc = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else "unknown"
            except (OSError, subprocess.SubprocessError):
                cc = "unknown"
            self._version = f"neuronxcc-{cc}+{self.method}+autocomp-{code_fingerprint()}"
        return self._version

    def sandbox_env(self, slot: int) -> dict[str, str]:
        core = self.cores[slot % len(self.cores)] if self.cores else slot
        return {"NEURON_RT_VISIBLE_CORES": str(core), "PATH": self._search_path()}

    def pythonpath(self) -> list[str]:
        return list(self.extra_pythonpath)

    def drop_privileges(self) -> bool:
        return False  # the runtime opens /dev/neuron*

    # ------------------------------------------------------------------ worker side
    def prepare(self) -> None:
        import neuronxcc.nki  # noqa: F401 - the real toolchain, imported before limits apply

        if getattr(sys.modules["neuronxcc"], "__autocomp_simulator__", False):
            raise ToolError("the neuron backend found autocomp's simulator instead of the Neuron compiler")

    def load(self, kernel_path: Path, job: Job) -> Any:
        spec = importlib.util.spec_from_file_location("autocomp_candidate", kernel_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        fn = getattr(module, job.function, None)
        if fn is None:
            raise AttributeError(f"no function named {job.function!r}")
        (Path(job.work_dir) / "neff").mkdir(exist_ok=True)
        return getattr(fn, "func", fn)

    def _compile_and_run(self, raw, args: list[np.ndarray], neff: Path, job: Job):
        import neuronxcc.nki as nki

        self._neffs["building"] = neff
        run = nki.baremetal(raw, save_neff_name=str(neff), artifacts_dir=str(neff.parent / f"{neff.stem}-artifacts"))
        return run(*args)

    def run(self, handle: Any, args: list[np.ndarray], seed: int, job: Job) -> list[np.ndarray]:
        neff = Path(job.work_dir) / "neff" / f"seed{seed}.neff"
        outputs = self._compile_and_run(handle, args, neff, job)
        self._neffs.setdefault("timed", neff)  # the first seed's
        return flatten_outputs(outputs)

    def record(self, handle: Any, job: Job, out_dir: Path) -> None:
        neff = self._neffs.get("timed")
        if job.timing_specs:  # compile the full-size kernel; its values only need to be finite
            rng = np.random.default_rng(0)
            args = [rng.standard_normal(s.shape).astype(dtype_from_name(s.dtype)) for s in job.timing_specs]
            neff = Path(job.work_dir) / "neff" / "timing.neff"
            self._compile_and_run(handle, args, neff, job)
        if neff is None or not neff.is_file():
            raise ToolError("no NEFF was saved to profile")
        shutil.copyfile(neff, out_dir / TIMING_NEFF_NAME)

    # ------------------------------------------------------------------ trusted measuring half
    def measure(self, request: TimingRequest) -> Timing:
        neff = Path(request.artifacts) / TIMING_NEFF_NAME
        if neff.is_symlink() or not neff.is_file():
            raise ToolError("the worker left no NEFF to profile")
        if neff.stat().st_size > MAX_NEFF_BYTES:
            raise KernelFault(f"the compiled kernel is {neff.stat().st_size >> 20} MiB, over the "
                              f"{MAX_NEFF_BYTES >> 30} GiB the profiler is given")
        env = {**os.environ, **request.env, "PATH": self._search_path()}
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="autocomp-profile-") as captures:
            timing = self._profile(neff, Path(captures), env)
        timing.profile_s = time.perf_counter() - start
        return timing

    def _run_tool(self, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
        try:
            return subprocess.run([self.profiler, *argv], capture_output=True, text=True, env=env,
                                  timeout=PROFILER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise ToolError(f"{self.profiler} {argv[0]} did not finish within {PROFILER_TIMEOUT_S} s") from None
        except OSError as e:
            raise ToolError(f"{self.profiler} could not be started: {e}") from None

    def _profile(self, neff: Path, captures: Path, env: dict[str, str]) -> Timing:
        rounds: list[tuple[float, list[tuple[float, str, dict]]]] = []
        for r in range(self.max_rounds):
            samples = []
            for i in range(self.repeats):
                ntff = captures / f"r{r}-{i}.ntff"
                cap = self._run_tool(env, "capture", "-n", str(neff), "-s", str(ntff),
                                     f"--profile-nth-exec={self.warmup + 1}")
                if cap.returncode != 0 or not ntff.exists():
                    raise DeviceError(f"neuron-profile capture failed (exit {cap.returncode}): "
                                      f"{(cap.stderr or cap.stdout).strip()[-300:]}")
                view = self._run_tool(env, "view", "-n", str(neff), "-s", str(ntff), "--output-format",
                                      "summary-json")
                if view.returncode != 0:
                    raise ToolError(f"neuron-profile view failed (exit {view.returncode}): "
                                    f"{view.stderr.strip()[-300:]}")
                pid, summary = parse_summary(view.stdout)
                samples.append((float(summary["total_time"]) * 1e6, pid, summary))
            times = [s[0] for s in samples]
            spread = (max(times) - min(times)) / min(times)
            rounds.append((spread, samples))
            if spread <= self.spread_limit:
                break
        spread, samples = min(rounds, key=lambda x: x[0])
        p50 = statistics.median(s[0] for s in samples)
        _, pid, summary = min(samples, key=lambda s: abs(s[0] - p50))
        summary = {**summary, "total_time": p50 * 1e-6, "evidence": "hw"}
        return Timing(latency_us=p50, evidence="hw", summary=summary, profile_id=pid,
                      samples_us=[s[0] for s in samples], spread=spread, rounds=len(rounds))

    def classify(self, exc: BaseException, job: Job, kernel_path: Path) -> ErrorInfo:
        if isinstance(exc, ToolError):
            return ErrorInfo(status="runtime_error", code="tool_error", message=str(exc))
        if isinstance(exc, DeviceError):
            return ErrorInfo(status="runtime_error", code="device_error", message=str(exc))
        building = self._neffs.get("building")
        compiled = building is not None and building.exists()
        info = generic_error(exc, job, kernel_path, compile_time=not compiled)
        if info.code not in ("out_of_memory", "recursion", "exit"):
            stage = "running on the NeuronCore" if compiled else "compiling"
            info.message = f"{stage} failed: {info.message}"
        return info
