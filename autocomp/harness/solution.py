"""A solution for an imported problem: a kernel file, or a harness with a solution pasted at its marker.

It becomes a stored candidate (``<problem>/solutions/<file>``) evaluated like any other: the problem's
baseline stays the harness's reference kernel, so a solution never changes what is checked.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from autocomp.harness import emit
from autocomp.harness.source import Harness, HarnessError
from autocomp.pyparse import parse_python


def solution_source(path: Path, function: str) -> str:
    """The candidate kernel source, its entry point named ``function`` (the problem's)."""
    text = path.read_text(encoding="utf-8")
    try:
        tree = parse_python(text, filename=str(path))
    except SyntaxError as e:
        raise HarnessError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    try:
        harness = Harness.read(path)
    except HarnessError:
        harness = None  # a plain kernel file: taken as it is
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    if harness is None:
        if function not in defs:
            raise HarnessError(f"{path}: no top-level function {function!r}; name the solution's kernel like the "
                               "problem's (problem.toml `function`)")
        return text
    kernels = sorted(n for n, fn in defs.items() if harness.is_kernel(fn))
    chosen = function if function in defs else (kernels[0] if len(kernels) == 1 else None)
    if chosen is None:
        raise HarnessError(f"{path}: cannot tell which kernel is the solution ({', '.join(kernels) or 'none'}); "
                           f"name it {function!r}")
    source = emit.kernel_file(harness, chosen, path.stem)
    if chosen != function:
        source = re.sub(rf"\bdef {re.escape(chosen)}\(", f"def {function}(", source, count=1)
    return source
