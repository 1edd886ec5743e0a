"""What the NKI kernel subset permits: imports, builtins, attributes, and how module names resolve.

The static gate (gate.py) accepts a candidate only when every construct, name, import and module
attribute it uses is listed here. The tables are allow-lists; the few deny-lists left (attribute
names) cover objects whose attributes cannot be listed in advance (tiles, kernel arguments).
"""

from __future__ import annotations

import ast
import collections.abc
import functools
import importlib
import sys
import types

# Modules a kernel may import, and the names it may take from each (None: every public name).
# functools, itertools and operator give pure helpers; not their caching decorators (results kept across calls)
# or attrgetter/methodcaller (attribute access by a string).
PERMITTED_MODULES: dict[str, frozenset[str] | None] = {
    "numpy": None,
    "math": None,
    "ml_dtypes": None,
    "functools": frozenset({"reduce", "partial"}),
    "itertools": frozenset({"product", "chain", "accumulate", "combinations", "combinations_with_replacement",
                            "permutations", "repeat", "islice", "zip_longest", "starmap", "pairwise", "groupby",
                            "compress"}),
    "operator": frozenset({"add", "sub", "mul", "truediv", "floordiv", "mod", "neg", "pos", "pow", "abs", "and_",
                           "or_", "xor", "not_", "invert", "lshift", "rshift", "eq", "ne", "lt", "le", "gt", "ge",
                           "index"}),
    # typing: type names for annotations only (gate.py refuses them anywhere else). Not get_type_hints, ForwardRef,
    # TYPE_CHECKING, get_args/get_origin, cast, NamedTuple, TypedDict, Annotated (its metadata is any value).
    "typing": frozenset({"Any", "Callable", "Dict", "Final", "FrozenSet", "Iterable", "Iterator", "List", "Literal",
                         "Mapping", "NoReturn", "Optional", "Sequence", "Set", "Tuple", "Type", "Union"}),
    # dataclasses: the decorator of config records and field() for their defaults (checked by gate_classes.py);
    # not replace/asdict/fields/make_dataclass.
    "dataclasses": frozenset({"dataclass", "field"}),
}
# Modules whose names are types: a kernel may use them in annotations only.
ANNOTATION_MODULES = frozenset({"typing"})
DATACLASS_OPTIONS = frozenset({"init", "repr", "eq", "order", "unsafe_hash", "frozen", "match_args", "kw_only",
                               "slots"})
FIELD_FLAGS = frozenset({"init", "repr", "compare", "hash", "kw_only"})
FIELD_FACTORIES = frozenset({"list", "dict", "set", "tuple"})
SAFE_NUMPY_SUBMODULES = frozenset({"numpy.random", "numpy.linalg", "numpy.fft", "numpy.polynomial", "numpy.ma",
                                   "numpy.dtypes", "numpy.exceptions"})
NKI_ROOTS = ("neuronxcc.nki", "nki")

# Builtins a kernel may name. Everything else (getattr's siblings, type, object, eval, open, vars, ...) is
# refused because it is not in this list; BANNED_BUILTINS only picks the sharper message for the known ones.
KERNEL_BUILTINS = frozenset({
    "range", "len", "min", "max", "abs", "int", "float", "bool", "str", "tuple", "list", "dict", "set", "frozenset",
    "enumerate", "zip", "print", "isinstance", "sum", "round", "divmod", "pow", "sorted", "reversed", "any", "all",
    "map", "filter", "slice", "repr", "ord", "chr", "iter", "next", "complex", "getattr", "hasattr",
    "Exception", "ValueError", "TypeError", "AssertionError", "RuntimeError", "NotImplementedError", "IndexError",
    "KeyError", "ZeroDivisionError", "ArithmeticError", "OverflowError", "NotImplemented", "Ellipsis",
})
BANNED_BUILTINS = frozenset({
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr", "delattr", "dir",
    "breakpoint", "input", "exit", "quit", "help", "memoryview", "type", "object", "super", "classmethod",
    "staticmethod", "property", "id", "SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"})
# Builtins a module-level constant may be computed with: each returns an immutable value.
CONSTANT_BUILTINS = frozenset({"int", "float", "bool", "str", "tuple", "frozenset", "range", "min", "max", "abs",
                               "round", "len", "pow", "divmod", "sum", "slice", "complex", "ord", "chr", "repr"})
EXCEPTIONS = frozenset(n for n in KERNEL_BUILTINS if n.endswith(("Error", "Exception")))

# Attributes that lead from an ordinary object back to frames, code and every module.
INTROSPECTION_PREFIXES = ("f_", "gi_", "cr_", "ag_", "tb_", "co_")
INTROSPECTION = frozenset({"func_globals", "func_code", "func_closure", "mro", "with_traceback"})
# The simulator's own state behind a tile; kernels produce results with NKI instructions only. ``.data`` is
# not here: it is NKI API (a tile grid's selection as a tensor, NKI 0.7), and the storage arrays that also
# carry that name (the allocation behind a tile) are reachable only through ``.alloc`` and the others below.
SIM_INTERNALS = frozenset({"alloc", "owner_view", "host_values", "writable", "set_values", "read", "write",
                           "written", "dirty", "returned", "addresses", "has_values", "last_result", "ctx",
                           "benchmark_result", "tofile", "dump", "dumps", "trace", "instructions", "ctypes"})
# Names the simulator's NKI modules expose that are not NKI API: the running kernel's context (and its trace),
# the simulator's tables, classes and entry points. Taken from an NKI module, they are refused.
FACADE_INTERNALS = frozenset({"current_or_none", "current", "run_kernel", "active_target", "Allocation", "Tile",
                              "bind_operator", "check_mask", "act", "alu", "AluOp", "Mask", "ACT_FUNCS", "ALU_OPS",
                              "Any", "SimResult", "TensorSpec", "annotations", "Kernel", "BenchmarkKernel",
                              "ProfileKernel", "CompileKernel", "raise_error", "warn"})
NUMPY_DENIED = frozenset({"ctypeslib", "lib", "testing", "f2py", "distutils", "core", "load", "save", "savez",
                          "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile", "memmap", "DataSource",
                          "fromregex", "show_config", "show_runtime", "info", "source", "seterr", "seterrcall",
                          "set_printoptions", "set_string_function", "setbufsize", "frompyfunc", "vectorize",
                          "piecewise", "recfromcsv", "recfromtxt", "loads", "test", "add_newdoc"})
# numpy names a kernel function may use by themselves: constants, dtypes and dtype queries.
NUMPY_CONSTANTS = frozenset({"pi", "e", "inf", "nan", "newaxis", "euler_gamma", "float32", "float16", "float64",
                             "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool_",
                             "dtype", "finfo", "iinfo", "float8_e4m3", "bfloat16", "ndarray", "integer", "floating",
                             "number", "generic"})
# numpy calls that only build a scalar or describe a dtype (module-level constants, kernel-side dtype queries).
NUMPY_VALUE_CALLS = NUMPY_CONSTANTS - {"ndarray", "integer", "floating", "number", "generic", "pi", "e", "inf", "nan",
                                       "newaxis", "euler_gamma"}
MUTATING_METHODS = frozenset({"append", "extend", "insert", "pop", "popitem", "remove", "clear", "update",
                              "setdefault", "add", "discard", "sort", "reverse", "fill", "put", "resize", "itemset",
                              "setflags", "setfield", "byteswap"})
_MUTABLE_TYPES = (collections.abc.MutableMapping, collections.abc.MutableSequence, collections.abc.MutableSet,
                  bytearray)


BUILTINS_HINT = "range, len, min, max, int, float, tuple, enumerate, zip, print, isinstance, ..."


# Python constructs the subset has, by AST node type; anything else is refused.
ALLOWED_NODES = (
    ast.Module, ast.FunctionDef, ast.Return, ast.Delete, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For,
    ast.While, ast.If, ast.With, ast.Raise, ast.Assert, ast.Import, ast.ImportFrom, ast.Expr, ast.Pass, ast.Break,
    ast.Continue, ast.BoolOp, ast.NamedExpr, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict, ast.Set,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call, ast.FormattedValue,
    ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript, ast.Starred, ast.Name, ast.List, ast.Tuple,
    ast.Slice, ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop, ast.comprehension,
    ast.arguments, ast.arg, ast.keyword, ast.alias, ast.withitem)
CONSTRUCT_ADVICE = {
    ast.Try: "try/except is not part of the NKI kernel subset (it can swallow the evaluator's errors and hands out "
             "tracebacks); let errors propagate and check conditions with if/assert",
    ast.AsyncFunctionDef: "async functions are not part of the NKI kernel subset; use a plain def",
    ast.AsyncFor: "async for is not part of the NKI kernel subset; use a plain for loop",
    ast.AsyncWith: "async with is not part of the NKI kernel subset",
    ast.Await: "await is not part of the NKI kernel subset",
    ast.Yield: "yield (a generator) is not part of the NKI kernel subset; build and return a list or tuple",
    ast.YieldFrom: "yield from (a generator) is not part of the NKI kernel subset; build and return a list or tuple",
    ast.Match: "match statements are not part of the NKI kernel subset; use if/elif",
}
if hasattr(ast, "TryStar"):
    CONSTRUCT_ADVICE[ast.TryStar] = CONSTRUCT_ADVICE[ast.Try]


# --------------------------------------------------------------------------- module resolution
@functools.lru_cache(maxsize=1)
def sim_tables() -> dict[str, str]:
    """Real NKI module names -> the simulator modules that implement them."""
    return importlib.import_module("autocomp.nki.dialects").module_table()


def is_nki_module(name: str) -> bool:
    return any(name == r or name.startswith(r + ".") for r in NKI_ROOTS)


def safe_module(name: str) -> bool:
    """A module whose public names a kernel may reach (NKI, numpy's safe parts, math, ...)."""
    if name in PERMITTED_MODULES or name in SAFE_NUMPY_SUBMODULES:
        return True
    return name in sim_tables() or name in sim_tables().values()


def module_object(dotted: str) -> types.ModuleType | None:
    """The module a kernel would get for ``dotted``: the simulator's implementation for NKI names."""
    impl = sim_tables().get(dotted, dotted)
    if not safe_module(impl) and not safe_module(dotted):
        return None
    try:
        return importlib.import_module(impl)
    except Exception:
        return None


def import_refusal(module: str, extra: tuple[str, ...]) -> str | None:
    """Why ``module`` may not be imported, or None when it may."""
    if module in extra or any(module.startswith(e + ".") for e in extra):
        return None
    if any(part.startswith("_") for part in module.split(".")):
        return f"{module!r} is private; import the public NKI modules, numpy or math"
    if module in sim_tables() or module == "neuronxcc":
        return None
    if is_nki_module(module):
        known = ", ".join(sorted(sim_tables()))
        return f"{module!r} is not an NKI module the evaluator knows ({known})"
    if module.startswith("numpy."):
        return None if module in SAFE_NUMPY_SUBMODULES else f"{module!r} gives file or interpreter access"
    if module in PERMITTED_MODULES:
        return None
    if module.split(".")[0] not in sys.stdlib_module_names:
        return (f"{module!r} is not part of the NKI kernel subset (a candidate is one file: copy what it needs from "
                "modules of its own package into it)")
    return f"{module!r} is not part of the NKI kernel subset"


def name_refusal(module: str, name: str, extra: tuple[str, ...]) -> str | None:
    """Why ``module.name`` (or ``from module import name``) is refused, or None."""
    if module in extra:
        return None
    allowed = PERMITTED_MODULES.get(module)
    if allowed is not None and name not in allowed:
        return f"{module}.{name} is not allowed; from {module} kernels may use only {', '.join(sorted(allowed))}"
    return None


def mutable_value(value: object) -> bool:
    """A container whose contents a kernel could change and read back on the next call."""
    import numpy as np

    return isinstance(value, _MUTABLE_TYPES) or isinstance(value, np.ndarray)
