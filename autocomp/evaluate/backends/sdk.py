"""Which Neuron SDK is installed: the versions every ``hw`` result records, and which path the hw backend takes.

The current SDK (NKI 0.7 and later, Neuron 2.33) compiles with the standalone ``nki`` package and runs with the
Neuron runtime's Python API ``nrtpy``; the two wheels cannot share one Python environment (the nrtpy docs), so
each is looked for on its own import path, in a fresh interpreter (never imported into this process). An SDK
with only ``neuronxcc`` (its ``neuronxcc.nki``) is the old toolchain: only the legacy ``neuron`` backend
(``nki.baremetal`` + ``neuron-profile``) can use it, and only where ``neuron-profile`` still exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

MIN_NKI = (0, 7)  # NKI 0.7 (Neuron 2.33): the first with nrtpy-documented NEFF execution
PROBE_TIMEOUT_S = 120


class SdkError(RuntimeError):
    """The Neuron toolchain is missing, too old or broken; the message says what to install."""


@dataclass(frozen=True)
class SdkInfo:
    """Versions of the toolchain pieces (None: not found). ``tools`` maps a command to its path; ``problems`` maps
    a package that is there but does not import to the error it raised; ``where`` says where each package was
    looked for (for the error messages)."""

    nki: str | None = None
    nrtpy: str | None = None
    neuronxcc: str | None = None
    tools: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)

    @property
    def current(self) -> bool:
        return self.nki is not None and version_tuple(self.nki) >= MIN_NKI

    @property
    def found(self) -> bool:
        """Whether any part of a Neuron SDK is here (a compiler package, even one that fails to import)."""
        return any(v is not None for v in (self.nki, self.neuronxcc)) or "nki" in self.problems \
            or "neuronxcc" in self.problems

    def record(self) -> dict[str, str]:
        """What a hw result records: each component's version."""
        out = {"nki": self.nki or "", "nrtpy": self.nrtpy or ""}
        if self.neuronxcc:
            out["neuronxcc"] = self.neuronxcc
        return out

    def label(self) -> str:
        return f"nki-{self.nki}+nrtpy-{self.nrtpy}"


def version_tuple(text: str) -> tuple[int, ...]:
    """(0, 7, 1) from "0.7.1", "0.7.1+abc" or "0.7.1.dev3"; unreadable parts end the tuple."""
    out = []
    for part in text.split("+")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


RUNTIME_LIB_DIR = "/opt/aws/neuron/lib"  # where aws-neuronx-runtime-lib puts libnrt (nrtpy's docs)


def runtime_library_env() -> dict[str, str]:
    """LD_LIBRARY_PATH for a process that imports nrtpy: libnrt must be on the library path (the nrtpy docs set
    it to /opt/aws/neuron/lib), and a cleared environment would lose the caller's setting."""
    given = os.environ.get("LD_LIBRARY_PATH", "")
    parts = [p for p in given.split(os.pathsep) if p]
    if RUNTIME_LIB_DIR not in parts:
        parts.append(RUNTIME_LIB_DIR)
    return {"LD_LIBRARY_PATH": os.pathsep.join(parts)}


def probe_module(python: str, pythonpath: list[str], module: str) -> tuple[str | None, str]:
    """(version, why not) of ``module`` as a fresh ``python`` on ``pythonpath`` sees it: the version is
    ``module.__version__`` (or its distribution's), None when it does not import; ``why not`` is "" when the
    module is simply absent, else the error importing it raised (a missing libnrt, a broken install)."""
    code = (f"import importlib.metadata as m, importlib.util as u, sys\n"
            f"if u.find_spec({module!r}) is None:\n"
            f"    sys.exit(3)\n"
            f"import {module} as x\n"
            f"v = getattr(x, '__version__', None)\n"
            f"if v is None:\n"
            f"    try: v = m.version({module!r})\n"
            f"    except Exception: v = 'unknown'\n"
            f"print(v)\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": os.pathsep.join(pythonpath),
           "PYTHONNOUSERSITE": "1", **runtime_library_env()}
    try:
        r = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return None, f"importing {module} with {python} did not finish within {PROBE_TIMEOUT_S} s"
    except OSError as e:
        return None, f"{python} could not be run: {e.strerror or e}"
    lines = r.stdout.strip().splitlines()
    if r.returncode == 0 and lines:
        return lines[-1].strip(), ""
    if r.returncode == 3:
        return None, ""
    errors = [line for line in r.stderr.strip().splitlines() if line.strip()]
    return None, (errors[-1].strip() if errors else f"exit {r.returncode}")[:300]


def probe_version(python: str, pythonpath: list[str], module: str) -> str | None:
    """``module.__version__`` (or its distribution's version) as a fresh ``python`` on ``pythonpath`` sees it."""
    return probe_module(python, pythonpath, module)[0]


def _searched(python: str, pythonpath: list[str]) -> str:
    paths = f"{os.pathsep.join(pythonpath)} and " if pythonpath else ""
    return f"{paths}the site-packages of {python}"


def detect(*, compile_pythonpath: list[str], runtime_pythonpath: list[str], runtime_python: str | None,
           search_path: str) -> SdkInfo:
    """Look for the current SDK's pieces and the old compiler; never imports any of them here."""
    python = runtime_python or sys.executable
    tools = {name: p for name in ("neuron-explorer", "neuron-ls", "neuron-profile")
             if (p := shutil.which(name, path=search_path)) is not None}
    versions: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for module, interpreter, paths in (("nki", sys.executable, compile_pythonpath),
                                       ("neuronxcc", sys.executable, compile_pythonpath),
                                       ("nrtpy", python, runtime_pythonpath)):
        if module == "nrtpy" and runtime_python and shutil.which(runtime_python) is None:
            versions[module] = None
            problems["runtime_python"] = (f"[evaluation] runtime_python = {runtime_python!r} is not an interpreter "
                                          "that can be run here; name the python of the environment nrtpy is "
                                          "installed in")
            continue
        versions[module], why = probe_module(interpreter, paths, module)
        if why:
            problems[module] = why
    where = {"nki": _searched(sys.executable, compile_pythonpath),
             "nrtpy": _searched(python, runtime_pythonpath)}
    return SdkInfo(nki=versions["nki"], nrtpy=versions["nrtpy"], neuronxcc=versions["neuronxcc"], tools=tools,
                   problems=problems, where=where)


def require_current(info: SdkInfo) -> None:
    """Raise SdkError naming what is missing or too old for the current-SDK hw backend."""
    if info.nki is None:
        if "nki" in info.problems:
            raise SdkError(f"the NKI compiler package `nki` is installed but does not import "
                           f"({info.problems['nki']}); repair it (pip install -U nki) or point [evaluation] "
                           "sdk_pythonpath at a working install")
        hint = (" (found neuronxcc " + info.neuronxcc + ": an SDK before 2.28; upgrade, or use it through the "
                "legacy path, which needs neuron-profile)") if info.neuronxcc else ""
        searched = f" (looked on {info.where['nki']})" if info.where.get("nki") else ""
        raise SdkError(f"the NKI compiler package `nki` is not installed{searched}{hint}; install the Neuron SDK "
                       "2.33+ (pip install nki) or pass its site-packages with [evaluation] sdk_pythonpath")
    if not info.current:
        want = ".".join(map(str, MIN_NKI))
        raise SdkError(f"nki {info.nki} is too old: the hw backend needs NKI {want} or later (Neuron SDK 2.33); "
                       "upgrade with pip install -U nki")
    if info.nrtpy is None:
        if "runtime_python" in info.problems:
            raise SdkError(info.problems["runtime_python"])
        if "nrtpy" in info.problems:
            why = info.problems["nrtpy"]
            fix = (f"install aws-neuronx-runtime-lib, or add the directory of libnrt.so to LD_LIBRARY_PATH "
                   f"({RUNTIME_LIB_DIR} is always added)" if "libnrt" in why
                   else "repair that environment (pip install -U nrtpy)")
            raise SdkError(f"the Neuron runtime's Python API `nrtpy` does not import ({why}); {fix}")
        searched = f" (looked on {info.where['nrtpy']})" if info.where.get("nrtpy") else ""
        raise SdkError(f"the Neuron runtime's Python API `nrtpy` is not installed{searched}; install it in its "
                       "own environment (it cannot share one with nki) and name that interpreter with "
                       "[evaluation] runtime_python (or its site-packages with runtime_pythonpath)")
