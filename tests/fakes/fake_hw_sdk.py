"""A fake current Neuron SDK (NKI 0.7, nrtpy, Neuron Explorer, neuron-ls) for the hw backend, without Trainium.

``make_fake_sdk(root, cores=4)`` writes, under ``root``:

- ``nki-site/nki``: the standalone ``nki`` package. Kernels use autocomp's simulator modules for the language;
  calling a ``@nki.jit`` kernel with numpy arrays "compiles" it like the documented standalone path: it traces the
  kernel shapes-only in the simulator (NKI errors surface as compile errors), writes ``kernel.neff`` into
  ``$NKI_ARTIFACTS_DIR`` (read when ``nki`` is imported), then fails to execute, as on a host without a device.
  The fake NEFF is JSON: the kernel file's text, its function, dialect and target, and the cost model's summary.
- ``rt-site/nrtpy``: ``NrtpyModel.load_from_neff`` / ``__call__`` / ``benchmark`` and ``NrtpyTensor``. Running a
  fake NEFF simulates the kernel it carries on the given inputs (so outputs are real); ``benchmark`` reports the
  cost model's latency with seeded, deterministic noise. It is a separate site, as the docs require (the ``nki``
  and ``nrtpy`` wheels cannot share an environment).
- ``bin/neuron-ls`` (``--json-output``: ``cores`` NeuronCores, 2 per device), ``bin/neuron-explorer``
  (``capture -n NEFF -s NTFF`` and ``view -n NEFF -s NTFF --output-format summary-json``).

Misbehaviour, by kernel-file constants (they travel in the NEFF): ``FAKE_DEVICE_FAULT = True`` (NrtError on
execute), ``FAKE_ZERO_OUTPUTS = True`` (all-zero outputs, as baremetal on 2.32 was reported to return),
``FAKE_NOISE = 0.2`` (relative spread of benchmark samples), ``FAKE_EXPLORER_FAIL = True`` (neuron-explorer capture
fails); and by ``make_fake_sdk`` arguments: ``nki_version`` (too old), ``cores=0`` (neuron-ls lists no NeuronCore),
``missing`` (tools or packages left out: "nki", "nrtpy", "neuron-explorer", "neuron-ls").

Every process the fake runs in appends a line to ``root/device-log.jsonl`` (pid, parent pid, visible cores, what it
ran), so tests can tell which NeuronCore ran which candidate. While a file ``root/hold`` exists, every benchmark
logs ``held`` and waits until ``root/release`` exists: a test pauses device work there to act on it (kill the node
that runs it) without racing it. The fake runtime simulates kernel source in the device
worker's process: a stand-in for device code in tests only; a real NEFF holds no Python.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

_NKI_INIT = '''
"""Fake standalone nki: calling a jit kernel compiles (shape-only simulation) and writes kernel.neff."""
import json
import os
import sys

from autocomp.nki.v2.top import *  # noqa: F401,F403 - the language kernels use
from autocomp.nki.v2 import top as _top

__version__ = "{nki_version}"
_ARTIFACTS = os.environ.get("NKI_ARTIFACTS_DIR")  # resolved at import time, as documented


class _Compiled:
    def __init__(self, fn):
        self.func = fn

    def __call__(self, *args):
        from autocomp.nki.kernel import run_kernel
        from autocomp.nki.shapes import TensorSpec
        from autocomp.perf import profile

        fn = self.func
        target = os.environ.get("NEURON_PLATFORM_TARGET_OVERRIDE") or "trn2"
        traced = run_kernel(fn, [TensorSpec(a.shape, a.dtype) for a in args], numerics=False, dialect="v2",
                            target=target)
        (pid, summary), = profile(traced.trace, target).summary().items()
        source_file = fn.__code__.co_filename
        knobs = {{k: v for k, v in fn.__globals__.items() if k.startswith("FAKE_")}}
        if _ARTIFACTS:
            os.makedirs(_ARTIFACTS, exist_ok=True)
            with open(os.path.join(_ARTIFACTS, "kernel.neff"), "w") as f:
                json.dump({{"format": "fake-neff", "source": open(source_file).read(), "function": fn.__name__,
                           "target": target, "id": pid, "summary": summary, "knobs": knobs,
                           "inputs": [list(a.shape) for a in args]}}, f)
        raise RuntimeError("NRT Error NRT_FAILURE(1): no Neuron device found (compile-only host)")


def jit(fn=None, **options):
    if fn is None:
        return lambda f: _Compiled(getattr(f, "func", f))
    return _Compiled(getattr(fn, "func", fn))
'''

_CLONE = '''
import importlib as _importlib
import sys as _sys

_impl = _importlib.import_module("{impl}")
_sys.modules[__name__] = _impl
'''

_NRTPY = '''
"""Fake nrtpy: runs the kernel a fake NEFF carries in autocomp's simulator; benchmark = cost model + seeded noise."""
import json
import os
import random
import sys
import types

import numpy as np

__version__ = "{nrtpy_version}"
_LOG = {log!r}
_HOLD, _RELEASE = {hold!r}, {release!r}
_visible = None


class NrtpyError(RuntimeError):
    pass


class NrtError(RuntimeError):
    pass


def configure(visible_cores=None):
    global _visible
    if visible_cores is not None:
        _visible = list(visible_cores)
        os.environ["NEURON_RT_VISIBLE_CORES"] = ",".join(str(c) for c in _visible)


def reset():
    pass


def _log(**fields):
    fields.update(pid=os.getpid(), ppid=os.getppid(), cores=os.environ.get("NEURON_RT_VISIBLE_CORES"),
                  lnc=os.environ.get("NEURON_LOGICAL_NC_CONFIG"))
    with open(_LOG, "a") as f:
        f.write(json.dumps(fields) + "\\n")


class TensorMetadata:
    def __init__(self, shape, size):
        self.shape, self.size = shape, size


class NrtpyTensor:
    def __init__(self, array, name=None):
        self._array, self.name = array, name
        self.shape, self.dtype = array.shape, array.dtype

    @classmethod
    def from_numpy(cls, array, name=None, core_id=0):
        return cls(np.array(array, copy=True), name)

    def write_from_numpy(self, array):
        self._array = np.array(array, copy=True)

    def numpy(self):
        # libnrt does not always report the dtype: outputs come back as raw bytes, like the real runtime's.
        return self._array.view(np.dtype("V%d" % self._array.dtype.itemsize))


class BenchmarkResult:
    def __init__(self, durations_ms, warmup):
        self.durations_ms = list(durations_ms)
        self.iterations, self.warmup_iterations = len(durations_ms), warmup
        self.mean_ms = sum(durations_ms) / len(durations_ms)
        self.min_ms, self.max_ms = min(durations_ms), max(durations_ms)
        m = self.mean_ms
        self.std_dev_ms = (sum((d - m) ** 2 for d in durations_ms) / len(durations_ms)) ** 0.5


class NrtpyModel:
    def __init__(self, neff, meta):
        self.neff, self.meta = neff, meta
        self._benchmarks = 0
        names = _param_names(meta)
        self.input_tensors_info = {{n: TensorMetadata(s, int(np.prod(s))) for n, s in zip(names, meta["inputs"])}}
        self.output_tensors_info = {{"out0": TensorMetadata(None, 0)}}

    @classmethod
    def load_from_neff(cls, neff_path, name=None, core_id=0, cc_enabled=False, rank_id=0, world_size=1):
        try:
            meta = json.load(open(neff_path))
        except (OSError, ValueError):
            raise NrtError("NRT Error NRT_FAILURE(1): Failed to load model") from None
        if meta.get("format") != "fake-neff":
            raise NrtError("NRT Error NRT_FAILURE(1): Failed to load model")
        _log(event="load", neff=str(neff_path))
        return cls(str(neff_path), meta)

    def _kernel(self):
        module = types.ModuleType("fake_device_kernel")
        import autocomp.nki

        autocomp.nki.install()
        exec(compile(self.meta["source"], "kernel.py", "exec"), module.__dict__)
        return getattr(module, self.meta["function"])

    def __call__(self, inputs, outputs=None, save_trace=False, ntff_name=None):
        from autocomp.evaluate.backends.base import flatten_outputs
        from autocomp.nki.kernel import run_kernel

        knobs = self.meta.get("knobs", {{}})
        _log(event="execute", neff=self.neff)
        if knobs.get("FAKE_DEVICE_FAULT"):
            raise NrtError("NRT Error NRT_EXEC_HW_ERR_COLLECTIVES(1004): fake device fault")
        args = [inputs[n]._array for n in self.input_tensors_info]
        fn = self._kernel()
        outs = flatten_outputs(run_kernel(getattr(fn, "func", fn), args, dialect="v2",
                                          target=self.meta["target"]).outputs)
        if knobs.get("FAKE_ZERO_OUTPUTS"):
            outs = [np.zeros_like(o) for o in outs]
        return {{f"out{{i}}": NrtpyTensor(o, f"out{{i}}") for i, o in enumerate(outs)}}

    def benchmark(self, inputs, outputs=None, warmup_iter=5, benchmark_iter=5, mode="device"):
        if mode not in ("device", "host"):
            raise ValueError(f"mode {{mode!r}}")
        if benchmark_iter < 1:
            raise ValueError("benchmark_iter must be at least 1")
        knobs = self.meta.get("knobs", {{}})
        if knobs.get("FAKE_DEVICE_FAULT"):
            raise NrtError("NRT Error NRT_EXEC_HW_ERR_COLLECTIVES(1004): fake device fault")
        if os.path.exists(_HOLD):  # a test holds device work here until it says go (no clock involved)
            _log(event="held", neff=self.neff)
            while not os.path.exists(_RELEASE):
                import time
                time.sleep(0.05)
        base_ms = float(self.meta["summary"]["total_time"]) * 1e3
        noise = float(knobs.get("FAKE_NOISE", 0.0))
        rng = random.Random(f"{{self.meta['id']}}:{{self._benchmarks}}")
        self._benchmarks += 1
        samples = [base_ms * (1.0 + noise * rng.random()) for _ in range(benchmark_iter)]
        _log(event="benchmark", neff=self.neff, iterations=benchmark_iter)
        return BenchmarkResult(samples, warmup_iter)


def _param_names(meta):
    import ast

    from autocomp.pyparse import parse_python

    tree = parse_python(meta["source"])  # the fake runtime's own reading of the kernel it stands in for
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == meta["function"]:
            return [a.arg for a in node.args.args]
    return [f"input{{i}}" for i in range(len(meta["inputs"]))]
'''

_NEURON_LS = '''#!{python}
"""Fake neuron-ls: {cores} NeuronCores, 2 per device."""
import json
import sys

if "--json-output" not in sys.argv and "-j" not in sys.argv:
    print("NEURON DEVICE  NEURON CORES"); sys.exit(0)
cores = list(range({cores}))
devices = [{{"neuron_device": d, "nc_count": len(cores[d * 2:d * 2 + 2]), "neuroncore_ids": cores[d * 2:d * 2 + 2],
            "memory_size": 34359738368}} for d in range((len(cores) + 1) // 2)]
print(json.dumps(devices))
'''

_EXPLORER = '''#!{python}
"""Fake neuron-explorer: capture writes a session file, view prints the NEFF's summary as summary-json."""
import json
import os
import sys

args = sys.argv[1:]
if args[:1] == ["--version"]:
    print("neuron-explorer 2.33.0 (fake)"); sys.exit(0)
command = args[0]
neff = args[args.index("-n") + 1]
ntff = args[args.index("-s") + 1]
meta = json.load(open(neff))
if command == "capture" and meta.get("knobs", {{}}).get("FAKE_EXPLORER_FAIL"):
    print("ERROR: failed to capture profile: device trace buffer overflow (fake)", file=sys.stderr)
    sys.exit(1)
if command == "capture":
    json.dump({{"captured": True, "cores": os.environ.get("NEURON_RT_VISIBLE_CORES")}}, open(ntff, "w"))
    print("level=info msg=\\"captured profile\\"", file=sys.stderr)
    sys.exit(0)
if command == "view":
    print("level=info msg=\\"processing profile\\"")
    print(json.dumps({{meta["id"]: dict(meta["summary"], profiled_cores=json.load(open(ntff))["cores"])}}))
    sys.exit(0)
sys.exit(2)
'''

TOOLS = ("nki", "nrtpy", "neuron-explorer", "neuron-ls")


def make_fake_sdk(root: Path, *, cores: int = 4, nki_version: str = "0.7.0", nrtpy_version: str = "0.7.0",
                  missing: tuple[str, ...] = (), nrtpy_import_error: str | None = None) -> dict:
    """Write the fake SDK under ``root``; returns the hw backend options that use it. ``nrtpy_import_error``: the
    runtime package is there but importing it raises ImportError with this text (as without libnrt)."""
    nki_site, rt_site, bin_dir = root / "nki-site", root / "rt-site", root / "bin"
    for d in (nki_site, rt_site, bin_dir):
        d.mkdir(parents=True, exist_ok=True)
    log = root / "device-log.jsonl"
    log.touch()
    os.chmod(log, 0o666)
    if "nki" not in missing:
        pkg = nki_site / "nki"
        pkg.mkdir()
        (pkg / "__init__.py").write_text(textwrap.dedent(_NKI_INIT.format(nki_version=nki_version)))
        for name in ("language", "isa", "typing", "compiler"):
            (pkg / f"{name}.py").write_text(_CLONE.format(impl=f"autocomp.nki.v2.{name}"))
    if "nrtpy" not in missing:
        pkg = rt_site / "nrtpy"
        pkg.mkdir()
        text = _NRTPY.format(nrtpy_version=nrtpy_version, log=str(log), hold=str(root / "hold"),
                             release=str(root / "release"))
        if nrtpy_import_error is not None:
            text = f"raise ImportError({nrtpy_import_error!r})\n"
        (pkg / "__init__.py").write_text(text)
    for tool, text in (("neuron-ls", _NEURON_LS), ("neuron-explorer", _EXPLORER)):
        if tool in missing:
            continue
        path = bin_dir / tool
        path.write_text(text.format(python=sys.executable, cores=cores))
        path.chmod(0o755)
    for d in (root, nki_site, rt_site, bin_dir):
        os.chmod(d, 0o755)
    repo = str(Path(__file__).resolve().parents[2])  # the fake runtime simulates with this checkout's autocomp
    return {"compile_pythonpath": [str(nki_site)], "runtime_pythonpath": [str(rt_site), repo],
            "path": [str(bin_dir)]}


def write_sdk_config(path: Path, opts: dict) -> Path:
    """A config file (``--config``) naming the fake SDK ``opts`` (from make_fake_sdk) as the hw backend's toolchain."""
    path.write_text("[evaluation]\n"
                    f"sdk_pythonpath = {json.dumps(opts['compile_pythonpath'])}\n"
                    f"runtime_pythonpath = {json.dumps(opts['runtime_pythonpath'])}\n"
                    f"sdk_path = {json.dumps(opts['path'])}\n")
    return path


def device_log(root: Path) -> list[dict]:
    """What the fake runtime ran, one record per load/execute/benchmark."""
    return [json.loads(line) for line in (root / "device-log.jsonl").read_text().splitlines() if line.strip()]


HW_PROBLEM_TOML = """\
name = "silu_small"
description = "y = x * sigmoid(x) on a bf16 [256, 1024] tensor, current dialect, one knob: quick hw runs."
function = "silu"
dialect = "v2"
target = "trn1"
seeds = [0, 1, 2]

[tolerance]
rel_l2 = 1e-2
atol = 1e-2
rtol = 2e-2

[knobs]
TILE_F = [128, 256, 512, 1024]
"""

HW_KERNEL = '''\
"""SiLU one [128, TILE_F] tile at a time: sigmoid on the Scalar engine, multiply on the Vector engine."""

import nki
import nki.isa as nisa
import nki.language as nl

TILE_F = 128  # columns per tile


@nki.jit
def silu(x):
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    for r in range(N // 128):
        for c in range(D // TILE_F):
            t = nl.ndarray((128, TILE_F), dtype=x.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=t, src=x[r * 128:(r + 1) * 128, c * TILE_F:(c + 1) * TILE_F])
            gate = nl.ndarray((128, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            nisa.activation(dst=gate, op=nl.sigmoid, data=t)
            y = nl.ndarray((128, TILE_F), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=y, data1=t, data2=gate, op=nl.multiply)
            nisa.dma_copy(dst=out[r * 128:(r + 1) * 128, c * TILE_F:(c + 1) * TILE_F], src=y)
    return out
'''

HW_REFERENCE = '''\
import ml_dtypes
import numpy as np


def make_inputs(rng):
    return ((rng.standard_normal((256, 1024)) * 4).astype(ml_dtypes.bfloat16),)


def reference(x):
    x = x.astype(np.float64)
    return x / (1.0 + np.exp(-x))
'''


def write_hw_problem(root: Path) -> Path:
    """A small current-dialect problem with one knob (one shape, small inputs): quick end-to-end hw runs."""
    d = root / "silu_small"
    d.mkdir(parents=True, exist_ok=True)
    (d / "problem.toml").write_text(HW_PROBLEM_TOML)
    (d / "kernel.py").write_text(HW_KERNEL)
    (d / "reference.py").write_text(HW_REFERENCE)
    return d


SUITE_SILU = Path(__file__).resolve().parents[2] / "problems" / "silu_bf16"
# The suite's silu_bf16 (three shapes, check shapes, four knob values) timed at a few hundred tokens instead of up
# to 8192: every shape is still simulated, compiled, checked and benchmarked, at a small part of the cost.
SMALL_SILU_SHAPES = {"rows512": 512, "rows256": 256, "decode128": 128}
SMALL_SILU_NAME = "silu_bf16_small"


def write_small_silu_problem(root: Path) -> Path:
    """silu_bf16 as the suite declares it (kernel, reference, knobs, check shapes) but with small timed shapes."""
    toml = (SUITE_SILU / "problem.toml").read_text()
    reference = (SUITE_SILU / "reference.py").read_text()
    for text, part in ((toml, 'name = "silu_bf16"\n'), (toml, "\n[[shapes]]"), (reference, "N, D = 8192, 4096")):
        if part not in text:  # the suite problem changed: say what this copy relies on
            raise AssertionError(f"{SUITE_SILU} no longer has {part.strip()!r}: update write_small_silu_problem")
    head = toml[:toml.index("\n[[shapes]]")].replace('name = "silu_bf16"', f'name = "{SMALL_SILU_NAME}"', 1)
    shapes = "".join(f'\n[[shapes]]\nname = "{name}"\nweight = 1\nparams = {{ n = {n} }}\n'
                     for name, n in SMALL_SILU_SHAPES.items())
    d = root / SMALL_SILU_NAME
    d.mkdir(parents=True, exist_ok=True)
    (d / "problem.toml").write_text(head.rstrip() + "\n" + shapes)
    (d / "kernel.py").write_text((SUITE_SILU / "kernel.py").read_text())
    (d / "reference.py").write_text(reference.replace("N, D = 8192, 4096", "N, D = 512, 4096"))
    return d
