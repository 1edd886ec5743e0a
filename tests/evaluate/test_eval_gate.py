"""The static gate: honest kernels pass; each forbidden construct is refused with a reason naming the line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autocomp.evaluate.gate import check_source

REPO = Path(__file__).parents[2]
HONEST_FILES = sorted([*REPO.glob("problems/*/kernel.py"), *REPO.glob("examples/*.py"),
                       *REPO.glob("tests/perf/kernels/*.py"), *(REPO / "tests/adversarial/honest").glob("*.py")])

HEADER = "import neuronxcc.nki as nki\nimport neuronxcc.nki.language as nl\nimport numpy as np\n\n"


def gate(body: str, function: str = "k", baseline: str | None = None, allowed=()):
    return check_source(HEADER + body, function, baseline, allowed)


def first_reason(body: str, **kw) -> str:
    result = gate(body, **kw)
    assert not result.ok, "expected a refusal"
    return result.reason()


@pytest.mark.parametrize("path", HONEST_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_honest_kernels_in_the_repository_pass(path: Path):
    source = path.read_text()
    functions = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    result = check_source(source, functions[-1])
    assert result.ok, result.reason(path.name)


def test_nki_idioms_pass():
    body = '''
import math
from neuronxcc.nki.language import par_dim
import neuronxcc.nki.isa as nisa

TILE = 128


def helper(x, input):
    return nisa.tensor_tensor(x, input, op=np.add, dtype=np.float32)


@nki.jit
def k(a, b):
    out = nl.ndarray(a.shape, dtype=nl.float32, buffer=nl.shared_hbm)
    n = math.ceil(a.shape[0] / TILE)
    for i in nl.affine_range(n):
        t = nl.load(a[i * TILE:(i + 1) * TILE, :], dtype=np.float32)
        s = nl.ndarray((par_dim(TILE), a.shape[1]), dtype=np.float32, buffer=nl.sbuf)
        s[...] = helper(t, t)
        nl.store(out[i * TILE:(i + 1) * TILE, :], value=s.view(np.float32))
    print(f"{n} tiles", getattr(nl, "float32"))
    return out


if __name__ == "__main__":
    a = np.random.rand(256, 64).astype(np.float32)
    print(k(a, a))
'''
    result = gate(body)
    assert result.ok, result.reason()


@pytest.mark.parametrize("body, fragment", [
    ("import os\n", "import of 'os'"),
    ("import subprocess as sp\n", "import of 'subprocess'"),
    ("from ctypes import CDLL\n", "import from 'ctypes'"),
    ("import importlib\n", "import of 'importlib'"),
    ("from . import x\n", "relative imports"),
    ("import numpy.ctypeslib\n", "import of 'numpy.ctypeslib'"),
    ("from numpy import *\n", "import *"),
    ("x = open('/etc/passwd').read()\n", "open()"),
    ("x = eval('1')\n", "eval()"),
    ("exec('x = 1')\n", "exec()"),
    ("x = __import__('os')\n", "__import__"),
    ("g = globals()\n", "globals()"),
    ("setattr(nl, 'add', None)\n", "setattr()"),
    ("y = ().__class__\n", "dunder attribute .__class__"),
    ("y = nl._alu\n", "private attribute ._alu"),
    ("y = nki.os\n", "nki.os is not part of the neuronxcc.nki API"),
    ("y = nl.np\n", "language.np is not part of the neuronxcc.nki.language API"),
    ("y = np.lib.format\n", "numpy.lib gives file"),
    ("y = np.load('x.npy')\n", "numpy.load gives file"),
    ("y = getattr(np, 'ctypes' + 'lib')\n", "computed attribute name"),
    ("y = getattr(np, '__dict__')\n", "dunder attribute"),
    ("y = '{0.__class__}'.format(1)\n", "attribute or index access"),
    ("np.add = np.subtract\n", "patches module 'numpy'"),
    ("nl.multiply = nl.add\n", "patches module 'neuronxcc.nki.language'"),
    ("exit(0)\n", "exit()"),
    ("raise SystemExit(0)\n", "SystemExit"),
    ("def f(x):\n    return x.gi_frame.f_back\n", "introspection"),
])
def test_forbidden_constructs(body: str, fragment: str):
    assert fragment in first_reason(body + "\n\ndef k(a, b):\n    return a\n")


@pytest.mark.parametrize("body, fragment", [
    ("CACHE = {}\n\ndef k(a, b):\n    CACHE['x'] = a\n    return a\n", "module-level state"),
    ("CACHE = []\n\ndef k(a, b):\n    CACHE.append(a)\n    return a\n", "mutates module-level state"),
    ("N = 0\n\ndef k(a, b):\n    global N\n    N += 1\n    return a\n", "global N"),
    ("def k(a, b):\n    k.last = a\n    return a\n", "module-level state"),
    ("def h(x, memo={}):\n    return x\n\ndef k(a, b):\n    return h(a)\n", "mutable default"),
    ("import functools\n\n@functools.cache\ndef k(a, b):\n    return a\n", "import of 'functools'"),
    ("def deco(f):\n    return f\n\n@deco\ndef k(a, b):\n    return a\n", "decorator 'deco'"),
    ("def k(a, b):\n    return np.matmul(a, b)\n", "np.matmul(...) computes on the host"),
    ("from numpy import matmul\n\ndef k(a, b):\n    return matmul(a, b)\n", "matmul(...) computes on the host"),
    ("def k(a, b):\n    f = np.matmul\n    return f(a, b)\n", "np.matmul inside a kernel function"),
    ("def k(a, b):\n    return np.float32(a)\n", "np.float32(...) computes on the host"),
    ("def k(a, b):\n    return a.view() * 2\n", ".view without a dtype"),
    ("def k(a, b):\n    f = a.view\n    return f()\n", ".view without a dtype"),
    ("def k(a, b):\n    return getattr(a, 'view')()\n", "getattr(x, 'view')"),
    ("def k(a, b):\n    return type(a).view(a)\n", "type() is not allowed"),
    ("def k(a, b):\n    a.alloc.data[...] = 0\n    return a\n", "reaches the simulator"),
    ("def k(a, b):\n    a.write(b)\n    return a\n", ".write reaches"),
])
def test_state_and_host_compute(body: str, fragment: str):
    assert fragment in first_reason(body)


def test_names_shadowed_by_parameters_are_not_builtins():
    assert gate("def k(input, open):\n    return nl.add(input, open)\n").ok


def test_numpy_constants_and_dtypes_are_allowed_in_kernels():
    body = "def k(a, b):\n    x = np.float32(1.0) * np.pi\n    return nl.full((128, 1), np.inf, dtype=np.float32)\n"
    assert gate(body).ok


def test_entry_point_name_and_signature_must_match_the_baseline():
    baseline = HEADER + "def k(a, b):\n    return a\n"
    assert "no top-level function 'k'" in first_reason("def k2(a, b):\n    return a\n", baseline=baseline)
    reason = first_reason("def k(a, b, c=1):\n    return a\n", baseline=baseline)
    assert "k(a, b, c=...) differs from the baseline's k(a, b)" in reason
    assert gate("def k(a, b):\n    '''same signature'''\n    return b\n", baseline=baseline).ok


def test_problem_allowed_imports_extend_the_list():
    body = "import itertools\n\ndef k(a, b):\n    return a\n"
    assert "import of 'itertools'" in first_reason(body)
    assert gate(body, allowed=["itertools"]).ok


def test_syntax_errors_are_reported_with_their_line():
    result = check_source("def k(a, b)\n    return a\n", "k")
    assert result.syntax_error is not None and result.reason().startswith("kernel.py:1: syntax error")


def test_reason_names_the_file_and_the_first_line():
    result = gate("import os\nimport sys\n\ndef k(a, b):\n    return a\n")
    assert result.reason("cand.py").startswith("cand.py:5: import of 'os'")
    assert "(and 1 more)" in result.reason()
