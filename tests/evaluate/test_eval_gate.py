"""The static gate: honest kernels pass; each construct outside the NKI kernel subset is refused with a reason
naming the line, the construct and what to do instead; every violation is listed."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from autocomp.evaluate.gate import REASON_LIMIT, check_source
from autocomp.knobs import knob_space, rewrite_constants
from autocomp.problem import Problem

REPO = Path(__file__).parents[2]
HONEST_FILES = sorted([*REPO.glob("problems/*/kernel.py"), *REPO.glob("examples/*.py"),
                       *REPO.glob("tests/perf/kernels/*.py"), *(REPO / "tests/adversarial/honest").glob("*.py"),
                       *REPO.glob("tests/nki/conformance/kernels/*.py"),
                       *REPO.glob("tests/evaluate/problems/*/kernel.py")])
KNOB_PROBLEMS = sorted(p.parent for p in REPO.glob("problems/*/problem.toml"))

HEADER = "import neuronxcc.nki as nki\nimport neuronxcc.nki.language as nl\nimport numpy as np\n\n"
ENTRY = "\n\ndef k(a, b):\n    return a\n"


def gate(body: str, function: str = "k", baseline: str | None = None, allowed=()):
    return check_source(HEADER + body, function, baseline, allowed)


def first_reason(body: str, **kw) -> str:
    result = gate(body, **kw)
    assert not result.ok, "expected a refusal"
    return result.reason()


# --------------------------------------------------------------------------- the accept side
@pytest.mark.parametrize("path", HONEST_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_honest_kernels_in_the_repository_pass(path: Path):
    source = path.read_text()
    functions = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    result = check_source(source, functions[-1])
    assert result.ok, result.reason(path.name)


@pytest.mark.parametrize("root", KNOB_PROBLEMS, ids=lambda p: p.name)
def test_knob_variants_of_the_suite_pass(root: Path):
    """The knob tuner's rewrites (first and last value of every knob) stay inside the subset."""
    problem = Problem.load(root)
    space = knob_space(problem.baseline_source, problem.spec.knobs)
    configs = [{k.name: k.values[0] for k in space.knobs}, {k.name: k.values[-1] for k in space.knobs}]
    for config in configs:
        source = rewrite_constants(problem.baseline_source, config)
        result = check_source(source, problem.spec.function, problem.baseline_source, problem.spec.allowed_imports)
        assert result.ok, f"{config}: {result.reason()}"


def test_v1_kernel_idioms_pass():
    body = '''
"""A legacy-dialect kernel with what real ones use."""
import math
from functools import reduce
from operator import mul
import itertools
from neuronxcc.nki.language import par_dim
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.typing as nt

TILE = 128
SHAPE = (TILE, 2 * TILE)
FP32 = nl.float32
PMAX = nl.tile_size.pmax
EPS = np.float32(1e-6)
SCALE = 1.0 / math.sqrt(TILE)
NAMES = ("a", "b")
nki_jit = nki.trace


def helper(x, input, dtype=np.float32, shape=(1, 2), scale=-1.0):
    """Helpers may take NKI/numpy names and tuples as defaults."""
    return nisa.tensor_tensor(x, input, op=np.add, dtype=dtype)


@nki_jit
def side(x: nt.tensor[128, 512]) -> None:
    return None


@nki.jit(mode="simulation")
def k(a, b):
    out = nl.ndarray(a.shape, dtype=FP32, buffer=nl.shared_hbm)
    assert a.shape[0] % TILE == 0, f"rows {a.shape[0]} not a multiple of {TILE}"
    if a.shape[1] > 4096:
        raise ValueError("too wide")
    n = math.ceil(a.shape[0] / TILE)
    numel = reduce(mul, a.shape, 1)
    pairs = [(i, j) for i, j in itertools.product(range(2), range(2)) if i <= j]
    rows = lambda i: slice(i * TILE, (i + 1) * TILE)
    identity = nl.shared_constant(np.identity(128, dtype=np.int8), dtype=nl.bfloat16)
    itemsize = np.dtype(a.dtype).itemsize
    for i in nl.affine_range(n):
        t = nl.load(a[rows(i), :], dtype=np.float32)
        s = nl.ndarray((par_dim(TILE), a.shape[1]), dtype=np.float32, buffer=nl.sbuf)
        s[...] = helper(t, t)
        nl.store(out[rows(i), :], value=s.view(np.float32))
    print(f"{n} tiles, {numel} elements, {len(pairs)} pairs, {itemsize} bytes", getattr(nl, "float32"), identity)
    return out


if __name__ == "__main__":
    a = np.random.rand(256, 64).astype(np.float32)
    print(np.allclose(k(a, a), a))
'''
    result = gate(body)
    assert result.ok, result.reason()


def test_v2_kernel_idioms_pass():
    source = '''
import nki
import nki.isa as nisa
import nki.language as nl

P = 128


@nki.jit
def k(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // P):
        x = nl.ndarray((P, a.shape[1]), dtype=a.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=x, src=a[i * P:(i + 1) * P, :])
        nisa.dma_copy(dst=out[i * P:(i + 1) * P, :], src=x)
    return out
'''
    result = check_source(source, "k")
    assert result.ok, result.reason()


def test_names_shadowed_by_parameters_are_not_builtins():
    assert gate("def k(input, open):\n    return nl.add(input, open)\n").ok


def test_numpy_constants_and_dtypes_are_allowed_in_kernels():
    body = "def k(a, b):\n    x = np.float32(1.0) * np.pi\n    return nl.full((128, 1), np.inf, dtype=np.float32)\n"
    assert gate(body).ok


# --------------------------------------------------------------------------- the refuse side
@pytest.mark.parametrize("body, fragment", [
    # imports: only NKI, numpy, math, ml_dtypes and pure helpers
    ("import os\n", "import of 'os'"),
    ("import subprocess as sp\n", "import of 'subprocess'"),
    ("from ctypes import CDLL\n", "import from 'ctypes'"),
    ("import importlib\n", "import of 'importlib'"),
    ("import typing\n\nX = typing.get_type_hints\n", "typing.get_type_hints is not allowed"),
    ("from typing import get_type_hints\n", "typing.get_type_hints is not allowed"),
    ("import inspect\n", "import of 'inspect'"),
    ("import gc\n", "import of 'gc'"),
    ("import builtins\n", "import of 'builtins'"),
    ("import sys\n", "import of 'sys'"),
    ("from __future__ import annotations\n", "__future__"),
    ("from . import x\n", "relative imports"),
    ("import numpy.ctypeslib\n", "import of 'numpy.ctypeslib'"),
    ("import neuronxcc.nki._private\n", "is private"),
    ("from numpy import *\n", "import *"),
    ("from neuronxcc.nki.language import *\n", "import *"),
    ("from functools import lru_cache\n", "functools.lru_cache is not allowed"),
    ("import functools\n\n@functools.cache\ndef f(x):\n    return x\n", "functools.cache is not allowed"),
    ("from operator import attrgetter\n", "operator.attrgetter is not allowed"),
    # builtins outside the list
    ("x = open('/etc/passwd').read()\n", "open()"),
    ("x = eval('1')\n", "eval()"),
    ("exec('x = 1')\n", "exec()"),
    ("x = compile('1', 'f', 'eval')\n", "compile()"),
    ("x = __import__('os')\n", "__import__"),
    ("g = globals()\n", "globals()"),
    ("def f():\n    return locals()\n", "locals()"),
    ("def f(x):\n    return vars(x)\n", "vars()"),
    ("setattr(nl, 'add', None)\n", "setattr()"),
    ("def f(x):\n    delattr(x, 'y')\n", "delattr()"),
    ("def f(x):\n    return type(x)\n", "type()"),
    ("def f(x):\n    return object.__setattr__\n", "object()"),
    ("def f():\n    breakpoint()\n", "breakpoint()"),
    ("def f():\n    return memoryview(b'x')\n", "memoryview()"),
    ("def f(x):\n    return dir(x)\n", "dir()"),
    ("def f(x):\n    return super()\n", "super()"),
    ("def f(x):\n    return unknown_thing(x)\n", "name 'unknown_thing' is neither defined"),
    ("exit(0)\n", "exit() is not allowed"),
    ("def f():\n    raise SystemExit(0)\n", "SystemExit"),
    # attribute access by string
    ("def f(x):\n    return getattr(x, '__' + 'class__')\n", "computed attribute name"),
    ("def f(x, name):\n    return hasattr(x, name)\n", "computed attribute name"),
    ("def f(x):\n    return getattr(x, '__dict__')\n", "dunder attribute"),
    ("def f(xs):\n    return list(map(getattr, xs, ['__class__']))\n", "getattr may only be called directly"),
    ("def f(x):\n    return '{0.__class__}'.format(x)\n", "attribute or index access"),
    ("def f(x):\n    fmt = '{0.__class__}'.format\n    return fmt(x)\n", ".format may only be called directly"),
    ("def f(x):\n    return str.format('{0.__class__}', x)\n", "computed template"),
    # dunders
    ("y = ().__class__\n", "dunder attribute .__class__"),
    ("def f(g):\n    return g.__globals__\n", "dunder attribute .__globals__"),
    ("def f(g):\n    return g.__builtins__\n", "dunder attribute .__builtins__"),
    ("def f(c):\n    return c.__subclasses__()\n", "dunder attribute .__subclasses__"),
    ("__builtins__ = None\n", "__builtins__ is interpreter internals"),
    ("def __getattr__(name):\n    return name\n", "def __getattr__ defines an interpreter hook"),
    ("import numpy as __builtins__\n", "rebinds interpreter internals"),
    ("def f(h):\n    return h.__annotations__\n", "dunder attribute .__annotations__"),
    ("y = nl._alu\n", "private attribute ._alu"),
    # frames, generators, tracebacks, code
    ("def f(x):\n    return x.gi_frame.f_back\n", ".gi_frame is interpreter introspection"),
    ("def f(x):\n    return x.f_back\n", ".f_back is interpreter introspection"),
    ("def f(x):\n    return x.f_locals\n", ".f_locals is interpreter introspection"),
    ("def f(x):\n    return x.f_globals\n", ".f_globals is interpreter introspection"),
    ("def f(x):\n    return x.gi_code\n", ".gi_code is interpreter introspection"),
    ("def f(x):\n    return x.cr_frame\n", ".cr_frame is interpreter introspection"),
    ("def f(x):\n    return x.tb_frame\n", ".tb_frame is interpreter introspection"),
    ("def f(x):\n    return x.tb_next\n", ".tb_next is interpreter introspection"),
    ("def f(x):\n    return x.co_code\n", ".co_code is interpreter introspection"),
    # annotations: types only, never strings, never calls
    ("def h(x: 'os.system(1)'):\n    pass\n", "string annotation 'x: \"os.system(1)\"' is not allowed"),
    ("def h(x) -> 'int':\n    pass\n", "string annotation '-> \"int\"'"),
    ("import neuronxcc.nki.typing as nt\n\ndef h(x: nt.tensor['1+1']):\n    pass\n", "string annotation"),
    ("def h():\n    x: 'int' = 1\n    return x\n", "string annotation"),
    ("def h(x: print(1)):\n    pass\n", "must name a type"),
    ("def h(x: (lambda: 1)()):\n    pass\n", "must name a type"),
    # module level: imports, constants, functions only
    ("print('hello')\n", "module-level expression statement"),
    ("for i in range(3):\n    pass\n", "module-level `for` loop"),
    ("if True:\n    X = 1\n", "only `if __name__ == \"__main__\":` is allowed"),
    ("TABLE = [1, 2]\n", "mutable list"),
    ("TABLE = {'a': 1}\n", "mutable dict"),
    ("TABLE = {1, 2}\n", "mutable set"),
    ("TABLE = (1, [2])\n", "mutable list"),
    ("TABLE = [i for i in range(3)]\n", "mutable list"),
    ("GEN = (i for i in range(3))\n", "mutable generator"),
    ("def make():\n    return {}\n\nCACHE = make()\n", "calls make when the file is imported"),
    ("X = np.zeros(3)\n", "calls np.zeros"),
    ("if __name__ == '__main__':\n    import os\n", "import of 'os'"),
    # constructs outside the subset
    ("def f():\n    try:\n        pass\n    except Exception:\n        pass\n", "try/except is not part"),
    ("def f():\n    yield 1\n", "yield"),
    ("def f():\n    yield from ()\n", "yield from"),
    ("async def f():\n    pass\n", "async functions"),
    ("def f(x):\n    with open(x) as h:\n        pass\n", "only NKI context managers"),
    ("def f(x):\n    match x:\n        case 1:\n            pass\n", "match statements"),
    # patching modules
    ("np.add = np.subtract\n", "patches module 'numpy'"),
    ("nl.multiply = nl.add\n", "patches module 'neuronxcc.nki.language'"),
    ("y = nki.os\n", "not part of the neuronxcc.nki API"),
    ("y = nl.np\n", "not part of the neuronxcc.nki.language API"),
    ("y = np.lib.format\n", "numpy.lib gives file"),
    ("y = np.load('x.npy')\n", "numpy.load gives file"),
    ("def f():\n    np.set_printoptions(formatter={'all': print})\n", "numpy.set_printoptions gives"),
    ("def f():\n    nl.ALU_OPS.update(multiply=nl.add)\n", "ALU_OPS is the simulator's internals"),
    ("def f():\n    return np.typecodes\n", "typecodes is a mutable dict"),
    # the simulator's internals are not NKI API
    ("def f():\n    return nki.current_or_none()\n", "current_or_none is the simulator's internals"),
    ("from neuronxcc.nki import run_kernel\n", "run_kernel is the simulator's internals"),
    ("import nki.compiler as ncc\n\ndef f():\n    return ncc.current()\n", "current is the simulator's internals"),
    ("def f(x):\n    return x.trace.instructions\n", ".trace reaches the simulator"),
    ("def f(x):\n    return x.ctypes\n", ".ctypes reaches"),
])
def test_forbidden_constructs(body: str, fragment: str):
    assert fragment in first_reason(body + ENTRY)


@pytest.mark.parametrize("body, fragment", [
    ("CACHE = {}\n\ndef k(a, b):\n    CACHE['x'] = a\n    return a\n", "mutable dict"),
    ("CACHE = ()\n\ndef k(a, b):\n    CACHE[0] = a\n    return a\n", "writes module-level state"),
    ("CACHE = ()\n\ndef k(a, b):\n    CACHE.append(a)\n    return a\n", "mutates module-level state"),
    ("N = 0\n\ndef k(a, b):\n    global N\n    N += 1\n    return a\n", "global N"),
    ("def k(a, b):\n    def g():\n        nonlocal a\n        a = b\n    return a\n", "nonlocal a"),
    ("def k(a, b):\n    k.last = a\n    return a\n", "assigning to attribute 'k.last'"),
    ("def k(a, b):\n    a.oob = True\n    return a\n", "assigning to attribute 'a.oob'"),
    ("def k(a, b):\n    del a.oob\n    return a\n", "assigning to attribute 'a.oob'"),
    ("def k(a, b):\n    return k.func\n", "inspects the module-level function object 'k'"),
    ("def h(x, memo={}):\n    return x\n\ndef k(a, b):\n    return h(a)\n", "mutable default"),
    ("def h(x, memo=[]):\n    return x\n\ndef k(a, b):\n    return h(a)\n", "mutable default"),
    ("def h(x, memo=dict()):\n    return x\n\ndef k(a, b):\n    return h(a)\n", "is computed"),
    ("def k(a, b, f=lambda x, m={}: m):\n    return a\n", "mutable default"),
    ("def deco(f):\n    return f\n\n@deco\ndef k(a, b):\n    return a\n", "decorator 'deco'"),
    ("def k(a, b):\n    return np.matmul(a, b)\n", "np.matmul(...) computes on the host"),
    ("from numpy import matmul\n\ndef k(a, b):\n    return matmul(a, b)\n", "matmul(...) computes on the host"),
    ("def k(a, b):\n    f = np.matmul\n    return f(a, b)\n", "np.matmul inside a kernel function"),
    ("def k(a, b):\n    return np.float32(a)\n", "np.float32(...) computes on the host"),
    ("def k(a, b):\n    np.random.seed(0)\n    return a\n", "np.random.seed(...) computes on the host"),
    ("def k(a, b):\n    return a.view() * 2\n", ".view without a dtype"),
    ("def k(a, b):\n    f = a.view\n    return f()\n", ".view without a dtype"),
    ("def k(a, b):\n    return getattr(a, 'view')()\n", "getattr(x, 'view')"),
    ("def k(a, b):\n    return type(a).view(a)\n", "type() is not allowed"),
    ("def k(a, b):\n    a.alloc.data[...] = 0\n    return a\n", "reaches the simulator"),
    ("def k(a, b):\n    a.write(b)\n    return a\n", ".write reaches"),
])
def test_state_and_host_compute(body: str, fragment: str):
    assert fragment in first_reason(body)


def test_nki_paths_may_use_names_that_are_internal_on_tiles():
    """``alloc`` on a tile is the simulator's storage; on an NKI module path it is NKI's allocation API."""
    body = "import neuronxcc.nki.compiler as ncc\n\ndef k(a, b):\n    return ncc.sbuf.alloc\n"
    assert gate(body).ok
    assert "reaches the simulator" in first_reason("def k(a, b):\n    return nl.ndarray((1, 1)).alloc\n")


def test_entry_point_name_and_signature_must_match_the_baseline():
    baseline = HEADER + "def k(a, b):\n    return a\n"
    assert "no top-level function 'k'" in first_reason("def k2(a, b):\n    return a\n", baseline=baseline)
    reason = first_reason("def k(a, b, c=1):\n    return a\n", baseline=baseline)
    assert "k(a, b, c=...) differs from the baseline's k(a, b)" in reason
    assert gate("def k(a, b):\n    '''same signature'''\n    return b\n", baseline=baseline).ok


def test_problem_allowed_imports_extend_the_list():
    body = "import scipy.special\n\ndef k(a, b):\n    return a\n"
    assert "import of 'scipy.special'" in first_reason(body)
    assert gate(body, allowed=["scipy"]).ok
    assert gate("import itertools\nfrom functools import partial\n" + ENTRY).ok


def test_syntax_errors_are_reported_with_their_line():
    result = check_source("def k(a, b)\n    return a\n", "k")
    assert result.syntax_error is not None and result.reason().startswith("kernel.py:1: syntax error")


def test_every_violation_is_listed_with_its_file_and_line():
    result = gate("import os\nimport sys\nTABLE = []\n\ndef k(a, b):\n    return a.f_back\n")
    lines = result.lines("cand.py")
    assert lines[0].startswith("cand.py:5: import of 'os'")
    assert [ln.split(":")[1] for ln in lines] == ["5", "6", "7", "10"]
    reason = result.reason("cand.py")
    assert reason.startswith("cand.py:5: import of 'os'") and "\n" not in reason
    assert all(ln in reason for ln in lines)


def test_reason_counts_what_it_does_not_spell_out():
    many = "".join(f"import mod{i}\n" for i in range(REASON_LIMIT + 3)) + ENTRY
    result = gate(many)
    assert len(result.violations) == REASON_LIMIT + 3
    assert result.reason().endswith("(and 3 more)")
    assert f"import of 'mod{REASON_LIMIT - 1}'" in result.reason()
    assert f"import of 'mod{REASON_LIMIT}'" not in result.reason()


def test_each_rule_reports_once_per_construct():
    result = gate("def k(a, b):\n    return nl.ALU_OPS, nl.ALU_OPS\n")
    assert len(result.violations) == 1


def test_the_typing_attack_is_refused_on_every_count():
    """The attack of issue #20: code in a string annotation that typing.get_type_hints evaluates."""
    body = "import typing\n\ndef _h(x: \"print('x') or int\"):\n    pass\n\ntyping.get_type_hints(_h)\n" + ENTRY
    messages = " | ".join(v.message for v in gate(body).violations)
    for part in ("typing.get_type_hints is not allowed", "string annotation", "module-level expression statement"):
        assert part in messages


@pytest.mark.parametrize("a, b", list(itertools.combinations(["f_back", "gi_frame", "tb_frame", "cr_frame"], 2)))
def test_frame_attributes_chained_are_each_refused(a: str, b: str):
    result = gate(f"def k(x, y):\n    return x.{a}.{b}\n")
    assert {f".{a}", f".{b}"} <= {v.message.split(" ")[0] for v in result.violations}


# --------------------------------------------------------------------------- typing, helper classes, dtype lookups
def test_typing_annotations_pass():
    body = '''
import typing
from typing import Callable, Optional, Tuple, Union

SCALE: Optional[float] = None


def helper(x, shape: Tuple[int, ...] = (1,), f: Optional[Callable[[int], int]] = None) -> typing.Optional[int]:
    return None


def k(a, b: Union[int, None] = None) -> Optional[float]:
    n: int | None = a.shape[0]
    return a
'''
    result = gate(body)
    assert result.ok, result.reason()


def test_helper_classes_and_config_dataclasses_pass():
    body = '''
import dataclasses
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Config:
    """Tiling choices."""
    rows: int = 128
    acc_dtype: str = "float32"
    dtype = nl.bfloat16
    pairs: tuple = (1, 2)
    scale: float = field(default=1.0, repr=False)


@dataclasses.dataclass
class Plan:
    steps: list = field(default_factory=list)
    config: Optional[Config] = None


class Allocator(object):
    """Hands out SBUF offsets; its state lives in one kernel call."""
    ALIGN = 64

    def __init__(self, base: int = 0):
        self.offset = base
        self.data = []

    def allocate(self, size, dtype=nl.float32):
        addr = self.offset
        self.offset += size * self.ALIGN
        self.data.append(addr)
        self.last: int = addr
        return addr


def plan_for(config: Config) -> Plan:
    plan = Plan(config=config)
    plan.steps.append(config.rows)
    return plan


def k(a, b):
    config = Config(rows=64)
    alloc = Allocator()
    offsets = [alloc.allocate(n) for n in (1, 2)]
    assert isinstance(config, Config) and isinstance(alloc, (Allocator, Config))
    plan = plan_for(config)
    print(offsets, plan, alloc.offset)
    return a
'''
    result = gate(body)
    assert result.ok, result.reason()


def test_getattr_on_an_nki_module_passes_when_its_result_is_only_a_dtype():
    body = '''
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    lse_dtype: str = ""


def k(a, b, config=None):
    config = config or Config()
    if config.lse_dtype:
        lse_dtype = getattr(nl, config.lse_dtype)
    else:
        lse_dtype = nl.float32
    lse = nl.ndarray(a.shape, dtype=lse_dtype, buffer=nl.shared_hbm)
    out = nl.ndarray(a.shape, dtype=getattr(nl, config.lse_dtype or "float32"), buffer=nl.shared_hbm)
    return lse, out
'''
    result = gate(body)
    assert result.ok, result.reason()


CLASS_HEADER = "from dataclasses import dataclass, field\nfrom typing import Optional\n\n"


@pytest.mark.parametrize("body, fragment", [
    # typing: type names in annotations only, never strings, never the evaluating helpers
    ("def h(x: Optional['int']):\n    pass\n", "string annotation"),
    ("def h() -> Optional[Optional['os']]:\n    pass\n", "string annotation"),
    ("from typing import TYPE_CHECKING\n", "typing.TYPE_CHECKING is not allowed"),
    ("from typing import ForwardRef\n", "typing.ForwardRef is not allowed"),
    ("from typing import get_args, get_origin\n", "typing.get_args is not allowed"),
    ("import typing\n\ndef f(x):\n    return typing.cast(int, x)\n", "typing.cast is not allowed"),
    ("import typing\n\ndef f(x):\n    return typing.get_type_hints(f)\n", "typing.get_type_hints is not allowed"),
    ("from typing import NamedTuple\n", "typing.NamedTuple is not allowed"),
    ("X = Optional[int]\n", "typing.Optional may be used only in annotations"),
    ("def f(x):\n    return Optional\n", "typing.Optional may be used only in annotations"),
    ("import typing\n\ndef f(x):\n    return typing.Optional[x]\n", "typing.Optional may be used only in annotations"),
    ("import typing\n\nT = typing\n", "may only be used as typing.<name>"),
    ("def h(x: Optional[print(1)]):\n    pass\n", "must name a type"),
    # dataclasses: the decorator and field() only
    ("from dataclasses import replace\n", "dataclasses.replace is not allowed"),
    ("from dataclasses import fields\n", "dataclasses.fields is not allowed"),
    ("def f(c):\n    return dataclass(c)\n", "dataclasses.dataclass may only decorate a module-level class"),
    ("X = field(default=1)\n", "dataclasses.field may only decorate"),
    ("@dataclass(frozen=print)\nclass C:\n    x: int = 0\n", "@dataclass option frozen=print"),
    ("@dataclass\nclass C:\n    xs: list = []\n", "is a mutable container shared by every instance"),
    ("@dataclass\nclass C:\n    xs: dict = field(default={})\n", "is a mutable container"),
    ("def make():\n    return 1\n\n@dataclass\nclass C:\n    x: int = make()\n", "calls make when the class is made"),
    ("def make():\n    return []\n\n@dataclass\nclass C:\n    x: list = field(default_factory=make)\n",
     "a factory may only be"),
    ("@dataclass\nclass C:\n    x: int = field(default=0, metadata={'a': 1})\n", "field option metadata"),
    ("@dataclass\nclass C:\n    x: int = field(0)\n", "takes keyword arguments only"),
    # classes: no mutable class state, no hooks, no bases, no decorators on methods
    ("class C:\n    CACHE = []\n", "C.CACHE = [] is a mutable container"),
    ("class C:\n    CACHE = {}\n", "is a mutable container"),
    ("class C:\n    SEEN = {1}\n", "is a mutable container"),
    ("class C:\n    f = lambda self: 1\n", "becomes a method"),
    ("class C:\n    g = getattr\n", "getattr may only be called directly"),
    ("class C:\n    m = np\n", "the module 'numpy' may only be used"),
    ("class C:\n    x = nl.load(1)\n", "calls nl.load when the class is made"),
    ("class C:\n    if True:\n        x = 1\n", "a class body may hold only"),
    ("class C:\n    class D:\n        pass\n", "a class body may hold only"),
    ("class C:\n    def __getattribute__(self, n):\n        return 1\n", "C.__getattribute__ is an interpreter hook"),
    ("class C:\n    def __class_getitem__(cls, n):\n        return 1\n", "C.__class_getitem__ is an interpreter hook"),
    ("class C:\n    def __init_subclass__(cls):\n        pass\n", "C.__init_subclass__ is an interpreter hook"),
    ("class C:\n    def __getattr__(self, n):\n        return 1\n", "C.__getattr__ is an interpreter hook"),
    ("class C:\n    def __del__(self):\n        pass\n", "C.__del__ is an interpreter hook"),
    ("class C:\n    def __eq__(self, o):\n        return True\n", "C.__eq__ is an interpreter hook"),
    ("class C:\n    __class_getitem__ = 1\n", "__class_getitem__ is interpreter internals"),
    ("class C:\n    __slots__ = ()\n", "__slots__ is interpreter internals"),
    ("class C:\n    def f(self):\n        return self.__dict__\n", "dunder attribute .__dict__"),
    ("class C:\n    def f(self):\n        return self._secret\n", "private attribute ._secret"),
    ("class C(dict):\n    pass\n", "inherits behaviour the gate cannot see"),
    ("class B:\n    pass\n\nclass C(B):\n    pass\n", "inherits behaviour"),
    ("class C(metaclass=print):\n    pass\n", "metaclass or class hook"),
    ("import functools\n\n@functools.partial\nclass C:\n    pass\n", "classes may only be decorated with @dataclass"),
    ("class C:\n    @classmethod\n    def f(cls):\n        cls.x = 1\n", "methods take no decorators"),
    ("class C:\n    @staticmethod\n    def f(x):\n        return x\n", "methods take no decorators"),
    ("class C:\n    @property\n    def f(self):\n        return 1\n", "methods take no decorators"),
    ("class __C__:\n    pass\n", "dunder name"),
    # instances live in one kernel call; methods write only to their own instance
    ("class C:\n    pass\n\nINSTANCE = C()\n", "creates an instance of class C when the file is imported"),
    ("class C:\n    pass\n\nPAIR = (1, C())\n", "creates an instance of class C"),
    ("class C:\n    pass\n\nclass D:\n    c = C()\n", "calls C when the class is made"),
    ("class C:\n    pass\n\ndef f(x, c=C()):\n    return c\n", "default argument c=C() is computed"),
    ("class C:\n    pass\n\n@nki.jit(mode=C())\ndef f(x):\n    return x\n", "makes an instance of class C at import"),
    ("class C:\n    pass\n\ndef f(x, c=C):\n    return c\n", "class C may only be called"),
    ("def f():\n    class C:\n        pass\n    return C()\n", "define helper classes at module level"),
    ("class C:\n    def keep(self, other, v):\n        other.v = v\n", "a method may assign only to its own instance"),
    ("class C:\n    def keep(self, v):\n        self = nl\n        self.multiply = v\n", "assigns to its receiver"),
    ("class C:\n    def keep(self, v):\n        for self in (nl,):\n            self.multiply = v\n",
     "assigns to its receiver"),
    ("class C:\n    def keep(self, v):\n        def inner(self):\n            self.multiply = v\n        inner(nl)\n",
     "assigning to attribute 'self.multiply'"),
    ("class C:\n    def keep(self, v):\n        [self := nl for _ in (1,)]\n        self.multiply = v\n",
     "assigns to its receiver"),
    ("class C:\n    def patch(self, v):\n        self.multiply = v\n\ndef f():\n    C.patch(nl, nl.add)\n",
     "class C may only be called"),
    ("class C:\n    pass\n\ndef f():\n    kind = C\n    return kind()\n", "class C may only be called"),
    ("class C:\n    X = 1\n\ndef f():\n    return C.X\n", "class C may only be called"),
    ("class C:\n    pass\n\ndef f():\n    c = C()\n    c.x = 1\n    return c\n", "assigning to attribute 'c.x'"),
    ("class C:\n    pass\n\nC = 2\n", "C is bound more than once"),
    # getattr with a computed name: only on an NKI module, only as an NKI call's dtype=
    ("def f(a, n):\n    return getattr(nl, n)\n", "computed attribute name"),
    ("def f(a, n):\n    d = getattr(nl, n)\n    return d['open']\n", "computed attribute name"),
    ("def f(a, n):\n    d = getattr(nl, n)\n    d += [1]\n    return nl.ndarray(a.shape, dtype=d)\n",
     "computed attribute name"),
    ("def f(a, n):\n    d = getattr(nl, n)\n    g = lambda: nl.ndarray(a.shape, dtype=d)\n    return g\n",
     "computed attribute name"),
    ("def f(a, n):\n    return nl.ndarray(a.shape, dtype=getattr(np, n))\n", "computed attribute name"),
    ("def f(a, n):\n    return nl.ndarray(a.shape, dtype=getattr(a, n))\n", "computed attribute name"),
    ("def f(a, n):\n    return nl.ndarray(a.shape, dtype=getattr(nl, n, None))\n", "computed attribute name"),
    ("def h(dtype):\n    return dtype\n\ndef f(a, n):\n    return h(dtype=getattr(nl, n))\n",
     "computed attribute name"),
    ("def f(a):\n    u = chr(95) * 2\n    return getattr(nl, u + 'builtins' + u)['open']\n", "computed attribute name"),
    ("def f(a, n):\n    return hasattr(nl, n)\n", "computed attribute name"),
])
def test_typing_classes_and_lookups_outside_the_subset(body: str, fragment: str):
    assert fragment in first_reason(CLASS_HEADER + body + ENTRY)


def test_every_string_built_name_is_confined_to_a_dtype():
    """Names can be built from any characters (chr(95), slices of str(obj)), so a computed getattr on an NKI module
    is accepted only where its result can be nothing but a dtype, whatever the name is."""
    body = "def k(a, b):\n    u = chr(95) * 2\n    return nl.ndarray(a.shape, dtype=getattr(nl, u + 'loader' + u))\n"
    assert gate(body).ok
    assert "computed attribute name" in first_reason(body.replace("dtype=getattr", "dtype=1, shape=getattr"))
