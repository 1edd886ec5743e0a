"""Finding the kernel source line that issued an instruction or caused an error."""

from __future__ import annotations

import os
import sys

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Frames from these directories are autocomp or numpy, never the user's kernel ...
_SKIP_DIRS = (_PACKAGE_DIR + os.sep, os.path.dirname(os.path.abspath(np.__file__)) + os.sep)
# ... except the problem suite an installed package carries (autocomp/_problems): those are kernels.
_SHIPPED_KERNELS = os.path.join(_PACKAGE_DIR, "_problems") + os.sep


def is_internal(filename: str) -> bool:
    return (filename.startswith(_SKIP_DIRS) and not filename.startswith(_SHIPPED_KERNELS)) \
        or filename.startswith("<frozen")


def kernel_location() -> tuple[str, int] | None:
    """The (file, line) of the innermost stack frame outside autocomp and numpy."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if not is_internal(code.co_filename):
            return code.co_filename, frame.f_lineno
        frame = frame.f_back
    return None


# file name -> whether it is the simulator's or numpy's (memoised: looked up once per instruction).
internal_files: dict[str, bool] = {}


def fast_kernel_line(depth: int = 1) -> tuple[str, int]:
    """Like kernel_location, memoising the internal/external decision per file (hot path). ``depth`` frames
    up from the caller are known to be internal and skipped (1: start at the caller's caller)."""
    frame = sys._getframe(depth + 1)
    cache = internal_files
    while frame is not None:
        fn = frame.f_code.co_filename
        internal = cache.get(fn)
        if internal is None:
            internal = cache[fn] = is_internal(fn)
        if not internal:
            return fn, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0
