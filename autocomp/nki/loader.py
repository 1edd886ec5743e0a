"""Loading a kernel function from a Python file, with clear errors for bad files."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path

from autocomp.nki.install import install


class KernelLoadError(Exception):
    """A kernel file that cannot be used: the message names the file, line and fix."""


_counter = [0]


def load_module(path: str | Path, target: str | None = None, nki_version: str | None = None):
    """Import a kernel file as a fresh module (the simulator installed first, following NKI ``nki_version``)."""
    path = Path(path)
    if not path.is_file():
        raise KernelLoadError(f"{path}: no such file")
    install(target, nki_version=nki_version)
    source = path.read_text()
    try:
        compile(source, str(path), "exec")
    except SyntaxError as e:
        raise KernelLoadError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    _counter[0] += 1
    name = f"autocomp_kernel_{_counter[0]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the file's own top-level code failed
        tb = e.__traceback__
        line = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(path):
                line = tb.tb_lineno
            tb = tb.tb_next
        where = f"{path}:{line}" if line else str(path)
        raise KernelLoadError(f"{where}: importing the kernel file failed: {type(e).__name__}: {e}") from None
    return module


def load_kernel(path: str | Path, function: str, target: str | None = None,
                nki_version: str | None = None) -> Callable:
    """The function ``function`` of kernel file ``path``."""
    module = load_module(path, target, nki_version)
    fn = getattr(module, function, None)
    if fn is None:
        funcs = [n for n, v in vars(module).items() if callable(v) and getattr(v, "__module__", "") == module.__name__
                 or hasattr(v, "func")]
        hint = f"; functions in the file: {', '.join(sorted(funcs))}" if funcs else ""
        raise KernelLoadError(f"{path}: no function named {function!r}{hint}")
    if not callable(fn):
        raise KernelLoadError(f"{path}: {function!r} is not a function")
    return fn


def kernel_arity(fn) -> tuple[int, int]:
    """(required positional parameters, total positional parameters)."""
    f = getattr(fn, "func", fn)
    params = [p for p in inspect.signature(f).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in params if p.default is p.empty]
    return len(required), len(params)
