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
    """Versions of the toolchain pieces (None: not found). ``tools`` maps a command to its path."""

    nki: str | None = None
    nrtpy: str | None = None
    neuronxcc: str | None = None
    tools: dict[str, str] = field(default_factory=dict)

    @property
    def current(self) -> bool:
        return self.nki is not None and version_tuple(self.nki) >= MIN_NKI

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


def probe_version(python: str, pythonpath: list[str], module: str) -> str | None:
    """``module.__version__`` (or its distribution's version) as a fresh ``python`` on ``pythonpath`` sees it."""
    code = (f"import importlib.metadata as m, {module} as x\n"
            f"v = getattr(x, '__version__', None)\n"
            f"if v is None:\n"
            f"    try: v = m.version({module!r})\n"
            f"    except Exception: v = 'unknown'\n"
            f"print(v)\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": os.pathsep.join(pythonpath),
           "PYTHONNOUSERSITE": "1"}
    try:
        r = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = r.stdout.strip().splitlines()
    return lines[-1].strip() if r.returncode == 0 and lines else None


def detect(*, compile_pythonpath: list[str], runtime_pythonpath: list[str], runtime_python: str | None,
           search_path: str) -> SdkInfo:
    """Look for the current SDK's pieces and the old compiler; never imports any of them here."""
    python = runtime_python or sys.executable
    tools = {name: p for name in ("neuron-explorer", "neuron-ls", "neuron-profile")
             if (p := shutil.which(name, path=search_path)) is not None}
    return SdkInfo(nki=probe_version(sys.executable, compile_pythonpath, "nki"),
                   nrtpy=probe_version(python, runtime_pythonpath, "nrtpy"),
                   neuronxcc=probe_version(sys.executable, compile_pythonpath, "neuronxcc"), tools=tools)


def require_current(info: SdkInfo) -> None:
    """Raise SdkError naming what is missing or too old for the current-SDK hw backend."""
    if info.nki is None:
        hint = (" (found neuronxcc " + info.neuronxcc + ": an SDK before 2.28; upgrade, or use it through the "
                "legacy path, which needs neuron-profile)") if info.neuronxcc else ""
        raise SdkError(f"the NKI compiler package `nki` is not installed{hint}; install the Neuron SDK 2.33+ "
                       "(pip install nki) or pass its site-packages with [evaluation] sdk_pythonpath")
    if not info.current:
        want = ".".join(map(str, MIN_NKI))
        raise SdkError(f"nki {info.nki} is too old: the hw backend needs NKI {want} or later (Neuron SDK 2.33); "
                       "upgrade with pip install -U nki")
    if info.nrtpy is None:
        raise SdkError("the Neuron runtime's Python API `nrtpy` is not installed; install it in its own "
                       "environment (it cannot share one with nki) and name that interpreter with [evaluation] "
                       "runtime_python (or its site-packages with runtime_pythonpath)")
