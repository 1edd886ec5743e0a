"""The v2 dialect's language rules that are checked on the kernel function itself.

nki >= 0.3 rejects, at compile time: the ``*`` keyword-only separator in a
kernel signature, list arguments (tuples are required), and (from 0.4) the v1
``neuronxcc.nki`` modules inside a kernel. Each check raises the NkiError with
the compiler's code, pointing at the kernel line. ``is`` / ``is not`` are
accepted: nki 0.3 to 0.6 rejected them, nki 0.7 allows them again (as NKI 0.2
and the legacy dialect do).
"""

from __future__ import annotations

import inspect
import types

from autocomp.nki.errors import ERROR_CLASSES
from autocomp.nki.kernel import def_location

_checked: dict = {}


def _raise(code: str, message: str, location: tuple[str, int] | None) -> None:
    raise ERROR_CLASSES[code](message, code=code, location=location)


def _def_location(fn) -> tuple[str, int] | None:
    return def_location(fn)


def check_kernel(fn) -> None:
    """Signature and source rules; each function is checked once."""
    code = getattr(fn, "__code__", None)
    if code is None or code in _checked:
        return
    _check_signature(fn)
    _check_v1_modules(fn)
    _checked[code] = True


def _check_signature(fn) -> None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return
    for p in params:
        if p.kind == p.KEYWORD_ONLY:
            _raise("err_keyword_only_separator",
                   f"kernel {fn.__name__}: parameter {p.name!r} is keyword-only; nki >= 0.3 does not support the `*` "
                   "separator in kernel signatures. Remove `*` and move parameters with defaults to the end",
                   _def_location(fn))
        if isinstance(p.default, list):
            _raise("err_list_kernel_argument",
                   f"kernel {fn.__name__}: parameter {p.name!r} defaults to a list {p.default!r}; kernel arguments "
                   f"cannot be lists from nki 0.3, use a tuple: {p.name}={tuple(p.default)!r}", _def_location(fn))


def check_arguments(fn, args, kwargs) -> None:
    """Kernel arguments must not be lists (use tuples)."""
    names = list(inspect.signature(fn).parameters) if hasattr(fn, "__code__") else []
    for i, a in enumerate(args):
        if isinstance(a, list):
            name = names[i] if i < len(names) else f"#{i}"
            _raise("err_list_kernel_argument",
                   f"kernel {getattr(fn, '__name__', 'kernel')}: argument {name!r} is a list; pass a tuple instead "
                   f"(tuple({name}))", _def_location(fn))
    for k, v in kwargs.items():
        if isinstance(v, list):
            _raise("err_list_kernel_argument",
                   f"kernel {getattr(fn, '__name__', 'kernel')}: argument {k!r} is a list; pass a tuple instead",
                   _def_location(fn))


def _names(code: types.CodeType):
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _check_v1_modules(fn) -> None:
    globs = getattr(fn, "__globals__", {})
    for name in set(_names(fn.__code__)):
        obj = globs.get(name)
        if isinstance(obj, types.ModuleType) and obj.__name__.split(".")[0] == "neuronxcc":
            _raise("err_legacy_module_in_kernel",
                   f"kernel {fn.__name__} uses {name!r}, the legacy module {obj.__name__}; current-dialect kernels "
                   f"must use `import nki.language as nl` / `import nki.isa as nisa` (neuronxcc.nki inside an "
                   "nki.jit kernel is an error from nki 0.4)", _def_location(fn))
