"""The kernel's input shapes and dtypes, worked out from a harness's test/benchmark code without running it.

A small abstract interpreter walks ``test_nki`` / ``benchmark_nki`` statement by statement and tracks
arrays as (shape, dtype, distribution): ``np.random.rand(512, 4096).astype(np.float32)``,
``nt.tensor[[8192, 4096], nl.bfloat16]``, ``torch.tensor(a_np, dtype=torch.bfloat16, device=d)``,
``a_np.T.copy()``, scalar arithmetic on shape variables, and so on.
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass, replace

import numpy as np

from autocomp.harness.source import Harness, HarnessError, dotted

_NUMBER_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
               ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_TORCH_DTYPES = {"float": "float32", "half": "float16", "double": "float64", "long": "int64", "int": "int32"}
# Method calls that hand the array through unchanged (device moves, copies, framework conversions).
_PASSTHROUGH = {"copy", "contiguous", "clone", "cpu", "detach", "numpy", "cuda", "to_dense", "requires_grad_",
                "squeeze_", "flatten_"}
_FILLERS = {"zeros", "ones", "empty", "full"}
# nki.benchmark(...)(f), nki.jit(f), ...: calling the result calls the kernel.
KERNEL_WRAPPERS = {"benchmark", "profile", "baremetal", "jit", "simulate"}
_CONVERTERS = {"torch.from_numpy", "torch.as_tensor", "torch.tensor", "numpy.asarray", "numpy.array",
               "numpy.ascontiguousarray", "numpy.copy"}


@dataclass(frozen=True)
class ArraySpec:
    """An input array as far as the harness says: shape, dtype and how its values are drawn."""

    shape: tuple[int, ...]
    dtype: np.dtype
    dist: str = "normal"  # normal | uniform | integers | constant
    scale: float = 1.0
    low: float = 0.0
    high: float = 1.0


class _Unknown:
    def __init__(self, line: int, text: str):
        self.line, self.text = line, text


class _Wrapped:
    """``nki.benchmark(...)(nki_func)``: calling it calls the kernel."""


class _Generator:
    """``np.random.default_rng(...)``."""


def _as_dtype(value) -> np.dtype:
    from autocomp.nki import dtypes as dt

    if isinstance(value, np.dtype):
        return value
    if value is float:
        return np.dtype(np.float64)
    if value is int:
        return np.dtype(np.int64)
    name = str(value).split(".")[-1]
    name = _TORCH_DTYPES.get(name, name)
    if name in ("float64", "int64"):  # host-only types; the converter narrows them for the device
        return np.dtype(name)
    return dt.as_dtype(name)


def _shape_arg(args: list) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean shape (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = list(args[0])
    if not all(isinstance(a, (int, np.integer)) for a in args):
        raise ValueError(f"shape {args!r} is not a tuple of integers")
    return tuple(int(a) for a in args)


class _Interpreter:
    def __init__(self, harness: Harness):
        self.h = harness
        self.env: dict[str, object] = {}
        self.defs: dict[str, ast.expr] = {}  # name -> expression last assigned to it

    # ------------------------------------------------------------ statements
    def run_until(self, body: list[ast.stmt], is_target) -> ast.Call | None:
        """Execute ``body`` in order; return the first call for which ``is_target(call)`` holds."""
        for stmt in body:
            compound = isinstance(stmt, (ast.For, ast.While, ast.With, ast.If, ast.Try))
            headers = [getattr(stmt, a) for a in ("test", "iter") if hasattr(stmt, a)] if compound else [stmt]
            headers += [item.context_expr for item in getattr(stmt, "items", [])]
            for node in (n for h in headers for n in ast.walk(h)):
                if isinstance(node, ast.Call) and is_target(node):
                    return node
            if compound:
                if isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name):
                    self.env[stmt.target.id] = 0  # the first iteration is representative
                inner = stmt.body + (stmt.finalbody if isinstance(stmt, ast.Try) else [])
                found = self.run_until(inner, is_target)
                if found is not None:
                    return found
            elif isinstance(stmt, ast.Assign):
                value = self.eval(stmt.value)
                for target in stmt.targets:
                    self.bind(target, value, stmt.value)
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                self.bind(stmt.target, self.eval(stmt.value), stmt.value)
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                self.bind(stmt.target, self.eval(ast.BinOp(stmt.target, stmt.op, stmt.value)), stmt.value)
        return None

    def bind(self, target: ast.expr, value, expr: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
            self.defs[target.id] = expr
        elif isinstance(target, (ast.Tuple, ast.List)):
            parts = value if isinstance(value, tuple) and len(value) == len(target.elts) else None
            for i, t in enumerate(target.elts):
                self.bind(t, parts[i] if parts else _Unknown(expr.lineno, ast.unparse(expr)), expr)

    # ------------------------------------------------------------ expressions
    def eval(self, node: ast.expr):
        try:
            return self._eval(node)
        except Exception:  # anything we cannot follow stays unknown; only a needed unknown is an error
            return _Unknown(getattr(node, "lineno", 0), ast.unparse(node))

    def _eval(self, node: ast.expr):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            if node.id in ("float", "int"):
                return {"float": float, "int": int}[node.id]
            return self._module_constant(node.id)
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self._eval(e) for e in node.elts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = self._eval(node.operand)
            return v if isinstance(v, ArraySpec) else -v
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise ValueError(f"unsupported expression {ast.unparse(node)}")

    def _module_constant(self, name: str):
        node = self.h.definitions.get(name)
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            return self._eval(node.value)
        return self.h.resolve(name)  # a module or function: its dotted name

    def _binop(self, node: ast.BinOp):
        a, b = self._eval(node.left), self._eval(node.right)
        if isinstance(a, ArraySpec) and isinstance(b, ArraySpec):
            shape = tuple(np.broadcast_shapes(a.shape, b.shape))
            return ArraySpec(shape, np.promote_types(a.dtype, b.dtype) if a.dtype != b.dtype else a.dtype)
        if isinstance(a, ArraySpec) or isinstance(b, ArraySpec):
            arr, num = (a, b) if isinstance(a, ArraySpec) else (b, a)
            if isinstance(node.op, ast.Mult):
                return replace(arr, scale=arr.scale * abs(float(num)))
            if isinstance(node.op, ast.Div) and arr is a:
                return replace(arr, scale=arr.scale / abs(float(num)))
            return arr  # shifts keep the shape and dtype
        return _NUMBER_OPS[type(node.op)](a, b)

    def _subscript(self, node: ast.Subscript):
        base = self._eval(node.value)
        if isinstance(base, str) and base.rsplit(".", 1)[-1] in ("tensor", "mutable_tensor"):
            spec = self._eval(node.slice)  # nt.tensor[[8192, 4096], nl.bfloat16]
            return ArraySpec(_shape_arg([spec[0]]), _as_dtype(spec[1] if len(spec) > 1 else "float32"), "constant")
        if isinstance(base, tuple):
            return base[self._eval(node.slice)]
        raise ValueError("unsupported subscript")

    def _attribute(self, node: ast.Attribute):
        base = self._eval(node.value)
        if isinstance(base, ArraySpec):
            if node.attr == "T":
                return replace(base, shape=base.shape[::-1])
            if node.attr == "shape":
                return base.shape
            if node.attr == "dtype":
                return base.dtype
            if node.attr == "size":
                return int(np.prod(base.shape))
            raise ValueError(f"unsupported array attribute {node.attr}")
        if isinstance(base, str):
            return f"{base}.{node.attr}"
        raise ValueError("unsupported attribute")

    # ------------------------------------------------------------ calls
    def _call(self, node: ast.Call):
        args = [self.eval(a) for a in node.args]  # unknown arguments only matter if the callee needs them
        kwargs = {k.arg: self.eval(k.value) for k in node.keywords if k.arg}
        if isinstance(node.func, ast.Attribute):
            base = self._eval(node.func.value)
            if isinstance(base, ArraySpec):
                return self._method(base, node.func.attr, args, kwargs)
            if isinstance(base, _Generator):
                return self._generator(node.func.attr, args, kwargs)
        if isinstance(node.func, ast.Call) and dotted(node.func.func).split(".")[-1] in KERNEL_WRAPPERS:
            return _Wrapped()  # nki.benchmark(warmup=2, iters=10)(nki_func)
        if isinstance(node.func, ast.Name) and isinstance(self.h.definitions.get(node.func.id), ast.FunctionDef):
            return self._helper(self.h.definitions[node.func.id], args)
        func = self._eval(node.func)
        if isinstance(func, str):
            return self._function(func, node, args, kwargs)
        raise ValueError("unsupported call")

    def _helper(self, fn: ast.FunctionDef, args: list):
        """A module-level helper whose body is one ``return`` (``def div_ceil(n, d): return (n + d - 1) // d``)."""
        body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
            raise ValueError(f"cannot evaluate helper {fn.name}")
        inner = _Interpreter(self.h)
        inner.env.update(zip((a.arg for a in fn.args.args), args))
        return inner._eval(body[0].value)

    def _method(self, arr: ArraySpec, name: str, args: list, kwargs: dict):
        if name in _PASSTHROUGH:
            return arr
        if name == "astype" or (name == "to" and ("dtype" in kwargs or (args and _is_dtype(args[0])))):
            return replace(arr, dtype=_as_dtype(kwargs.get("dtype", args[0] if args else None)))
        if name == "to" or (name == "view" and not args):
            return arr
        if name in ("float", "half", "bfloat16", "double"):
            return replace(arr, dtype=_as_dtype({"float": "float32", "half": "float16"}.get(name, name)))
        if name in ("reshape", "view"):
            shape = list(_shape_arg(args))
            if -1 in shape:
                known = int(np.prod([d for d in shape if d != -1]))
                shape[shape.index(-1)] = int(np.prod(arr.shape)) // known
            return replace(arr, shape=tuple(shape))
        if name in ("transpose", "permute"):
            axes = _shape_arg(args) if args else tuple(reversed(range(len(arr.shape))))
            if len(axes) == 2 and len(arr.shape) > 2:  # torch-style transpose(dim0, dim1)
                order = list(range(len(arr.shape)))
                order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
                axes = tuple(order)
            return replace(arr, shape=tuple(arr.shape[a] for a in axes))
        raise ValueError(f"unsupported array method {name}")

    def _generator(self, name: str, args: list, kwargs: dict) -> ArraySpec:
        size = kwargs.get("size", args[0] if name in ("random", "standard_normal") and args else None)
        dtype = _as_dtype(kwargs.get("dtype", "float64"))
        if name in ("random", "standard_normal"):
            return ArraySpec(_shape_arg([size]), dtype, "uniform" if name == "random" else "normal")
        return self._distribution(name, args, kwargs, dtype)

    def _function(self, full: str, node: ast.Call, args: list, kwargs: dict):
        name = full.rsplit(".", 1)[-1]
        torch = full.startswith("torch.")
        if full.startswith("math.") and all(isinstance(a, (int, float)) for a in args):
            return getattr(math, name)(*args)
        if full in ("numpy.sqrt", "numpy.prod") and all(isinstance(a, (int, float, tuple)) for a in args):
            return getattr(np, name)(*args).item()
        if full == "numpy.random.default_rng":
            return _Generator()
        if name in KERNEL_WRAPPERS and node.args and isinstance(node.args[0], ast.Name):
            return _Wrapped()
        if full in _CONVERTERS and args and isinstance(args[0], ArraySpec):
            return replace(args[0], dtype=_as_dtype(kwargs["dtype"])) if "dtype" in kwargs else args[0]
        if name in ("zeros_like", "ones_like", "empty_like", "randn_like", "rand_like") and args:
            return args[0]
        if name in _FILLERS and (torch or full.startswith("numpy.")):
            return self._filler(name, args, kwargs, torch)
        if full == "numpy.arange":
            start, stop = (args[0], args[1]) if len(args) > 1 else (0, args[0])
            return ArraySpec((int(stop - start),), _as_dtype(kwargs.get("dtype", "int64")), "integers", 1.0,
                             start, stop)
        if not full.startswith(("numpy.random.", "torch.")):
            raise ValueError(f"unsupported function {full}")
        dtype = _as_dtype(kwargs.get("dtype", "float32" if torch else "float64"))
        if name in ("rand", "randn"):  # varargs shapes: rand(512, 4096)
            return ArraySpec(_shape_arg(args), dtype, "uniform" if name == "rand" else "normal")
        if name in ("random", "random_sample", "ranf", "sample", "standard_normal"):
            shape = _shape_arg([kwargs.get("size", args[0] if args else ())])
            return ArraySpec(shape, dtype, "normal" if name == "standard_normal" else "uniform")
        return self._distribution(name, args, kwargs, dtype)

    def _filler(self, name: str, args: list, kwargs: dict, torch: bool) -> ArraySpec:
        """zeros/ones/empty/full in numpy (shape, [fill,] dtype) or torch (*size, [fill,] dtype=)."""
        if torch and name != "full":
            shape = _shape_arg(args)
            dtype = kwargs.get("dtype", "float32")
        else:
            shape = _shape_arg(args[:1])
            positional = args[2 if name == "full" else 1:]
            dtype = kwargs.get("dtype", positional[0] if positional else ("float32" if torch else "float64"))
        return ArraySpec(shape, _as_dtype(dtype), "constant")

    def _distribution(self, name: str, args: list, kwargs: dict, dtype: np.dtype) -> ArraySpec:
        if name == "uniform":
            low, high = kwargs.get("low", args[0] if args else 0.0), kwargs.get("high", args[1] if len(args) > 1
                                                                                else 1.0)
            return ArraySpec(_shape_arg([kwargs.get("size", args[2] if len(args) > 2 else ())]), dtype, "uniform",
                             1.0, float(low), float(high))
        if name == "normal":
            scale = kwargs.get("scale", args[1] if len(args) > 1 else 1.0)
            return ArraySpec(_shape_arg([kwargs.get("size", args[2] if len(args) > 2 else ())]), dtype, "normal",
                             float(scale))
        if name in ("randint", "integers"):
            low = kwargs.get("low", args[0])
            high = kwargs.get("high", args[1] if len(args) > 1 else None)
            if high is None:
                low, high = 0, low
            size = kwargs.get("size", args[2] if len(args) > 2 else ())
            int_dtype = dtype if dtype.kind in "iu" else np.dtype(np.int64)
            return ArraySpec(_shape_arg([size]), int_dtype, "integers", 1.0, float(low), float(high))
        raise ValueError(f"unsupported random function {name}")



def _is_dtype(value) -> bool:
    try:
        _as_dtype(value)
        return True
    except (TypeError, ValueError):
        return False


@dataclass
class KernelCall:
    """Where a harness function calls the kernel, and what it passes."""

    function: str  # test_nki or benchmark_nki
    call: ast.Call
    specs: list[ArraySpec]
    definitions: dict[str, ast.expr]  # the function's local name -> its last assigned expression
    statements: list[ast.stmt]


def kernel_call(harness: Harness, function: str, param_index: int) -> KernelCall | None:
    """The first call of ``function``'s parameter ``param_index`` (the kernel), with its arguments' specs."""
    fn = harness.functions().get(function)
    if fn is None or len(fn.args.args) <= param_index:
        return None
    param = fn.args.args[param_index].arg
    interp = _Interpreter(harness)

    def is_target(call: ast.Call) -> bool:
        if isinstance(call.func, ast.Name):
            return call.func.id == param or isinstance(interp.env.get(call.func.id), _Wrapped)
        return isinstance(call.func, ast.Call) and isinstance(interp.eval(call.func), _Wrapped)

    call = interp.run_until(fn.body, is_target)
    if call is None:
        return None
    specs = []
    for i, arg in enumerate(call.args):
        value = interp.eval(arg)
        where = f"{harness.path}:{arg.lineno}"
        if isinstance(value, _Unknown):
            source = interp.defs.get(arg.id) if isinstance(arg, ast.Name) else None
            detail = f" (assigned from `{ast.unparse(source)}` on line {source.lineno})" if source is not None else ""
            raise HarnessError(f"{where}: cannot work out the shape of argument {i} `{ast.unparse(arg)}` of the "
                               f"kernel call in {function}{detail}; supported: numpy/torch random and filler "
                               "arrays, nt.tensor[[...], dtype] placeholders, astype/reshape/transpose/.T, "
                               "torch conversions")
        if not isinstance(value, ArraySpec):
            raise HarnessError(f"{where}: argument {i} `{ast.unparse(arg)}` of the kernel call in {function} is "
                               f"{value!r}, not an array; problems pass arrays only: make it a module constant of "
                               "the kernel")
        specs.append(value)
    if not specs:
        raise HarnessError(f"{harness.path}:{call.lineno}: the kernel call in {function} passes no arrays")
    return KernelCall(function, call, specs, interp.defs, fn.body)
