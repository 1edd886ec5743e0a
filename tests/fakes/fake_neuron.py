"""A fake Neuron toolchain for testing the neuron backend without Trainium.

``make_fake_toolchain(root)`` writes:
- ``root/site/neuronxcc``: a package that looks like the real compiler (no
  ``__autocomp_simulator__``). ``nki.baremetal`` "compiles" by tracing the kernel
  shapes-only in autocomp's simulator (NKI errors surface before any NEFF is
  written), writes a JSON "NEFF" holding the cost model's summary, then "runs"
  it numerically. Kernel-file constants steer it: ``FAKE_DEVICE_FAULT = True``
  fails after the NEFF exists (a runtime error); ``FAKE_PROFILE_NOISE = [...]``
  scales successive captures; ``FAKE_PROFILE_BROKEN = True`` makes the profiler
  print garbage.
- ``root/bin/neuron-profile``: ``capture`` and ``view --output-format summary-json``
  over those NEFFs, with log lines around the JSON like the real tool; the summary also
  says which process started the profiler and on which NeuronCores
  (``profiler_parent``, ``profiled_cores``).
- ``root/neuron0``: the device node the backend checks for.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

_NKI_INIT = '''
"""Fake neuronxcc.nki: compile = shape-only simulation, run = numeric simulation."""
import json
import os

from autocomp.nki.kernel import run_kernel
from autocomp.nki.v1.top import jit  # noqa: F401 - kernels decorate with @nki.jit
from autocomp.nki.shapes import TensorSpec
from autocomp.perf import profile

from . import isa, language, typing  # noqa: F401


def baremetal(kernel=None, *, save_neff_name=None, artifacts_dir=None, **options):
    fn = getattr(kernel, "func", kernel)
    knobs = getattr(fn, "__globals__", {})

    def run(*args):
        traced = run_kernel(fn, [TensorSpec(a.shape, a.dtype) for a in args], numerics=False)
        (pid, summary), = profile(traced.trace).summary().items()
        summary["visible_cores"] = os.environ.get("NEURON_RT_VISIBLE_CORES")
        if save_neff_name:
            with open(save_neff_name, "w") as f:
                json.dump({"id": pid, "summary": summary, "noise": knobs.get("FAKE_PROFILE_NOISE"),
                           "broken": bool(knobs.get("FAKE_PROFILE_BROKEN"))}, f)
        if knobs.get("FAKE_DEVICE_FAULT"):
            raise RuntimeError("nrt_execute failed with NRT_EXEC_HW_ERR_COLLECTIVES (fake device fault)")
        return run_kernel(fn, list(args)).outputs

    return run
'''

_CLONE = '''
import importlib as _importlib

_impl = _importlib.import_module("{impl}")
globals().update({{k: v for k, v in vars(_impl).items() if not k.startswith("__")}})
'''

_PROFILER = '''#!{python}
"""Fake neuron-profile: capture counts executions, view prints the NEFF's summary (scaled by its noise list)."""
import json
import os
import sys

args = sys.argv[1:]
command = args[0]
neff = args[args.index("-n") + 1]
ntff = args[args.index("-s") + 1]
meta = json.load(open(neff))
if command == "capture":
    counter = neff + ".captures"
    try:
        n = int(open(counter).read())
    except OSError:
        n = 0
    open(counter, "w").write(str(n + 1))
    json.dump({{"capture": n}}, open(ntff, "w"))
    print("level=info msg=\\"captured profile\\"", file=sys.stderr)
    sys.exit(0)
if command == "view":
    n = json.load(open(ntff))["capture"]
    print("level=info msg=\\"processing profile\\"")
    if meta["broken"]:
        print("panic: runtime error: index out of range")
        sys.exit(0)
    noise = meta["noise"] or [1.0]
    summary = dict(meta["summary"])
    summary["total_time"] = summary["total_time"] * noise[min(n, len(noise) - 1)]
    summary["profiler_parent"] = os.getppid()
    summary["profiled_cores"] = os.environ.get("NEURON_RT_VISIBLE_CORES")
    print(json.dumps({{meta["id"]: summary}}))
    print("level=info msg=\\"done\\"", file=sys.stderr)
    sys.exit(0)
print("unknown command", file=sys.stderr)
sys.exit(2)
'''


def make_fake_toolchain(root: Path) -> dict[str, str]:
    """Write the fake toolchain under ``root``; returns NeuronBackend options that use it."""
    site, bin_dir = root / "site", root / "bin"
    nki = site / "neuronxcc" / "nki"
    nki.mkdir(parents=True)
    bin_dir.mkdir()
    (site / "neuronxcc" / "__init__.py").write_text('__version__ = "2.99.0+fake"\n')
    (nki / "__init__.py").write_text(textwrap.dedent(_NKI_INIT))
    for name, impl in (("language", "autocomp.nki.v1.language"), ("isa", "autocomp.nki.v1.isa"),
                       ("typing", "autocomp.nki.v1.typing")):
        (nki / f"{name}.py").write_text(_CLONE.format(impl=impl))
    profiler = bin_dir / "neuron-profile"
    profiler.write_text(_PROFILER.format(python=sys.executable))
    profiler.chmod(0o755)
    device = root / "neuron0"
    device.write_text("")
    os.chmod(root, 0o755)
    return {"device": str(device), "pythonpath": [str(site)], "path": [str(bin_dir)]}
