"""Gate-checking an imported kernel exactly as ``autocomp eval`` does, with violations on the harness's lines."""

from __future__ import annotations

from autocomp.harness.source import Harness, HarnessError


def _origin(harness: Harness, kernel_text: str, line: int, nodes) -> int | None:
    """The harness line that kernel.py's ``line`` was copied from (None when generated, e.g. the docstring)."""
    lines = kernel_text.splitlines()
    if not 0 < line <= len(lines) or not lines[line - 1].strip():
        return None
    wanted = lines[line - 1]
    source = harness.text.splitlines()
    for node in nodes:
        start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
        for n in range(start, (node.end_lineno or start) + 1):
            if source[n - 1] == wanted:
                return n
    return None


def gate_violations(harness: Harness, kernel: str, kernel_text: str, allowed_imports=()) -> list[str]:
    """Every gate violation of the kernel.py to be written, as ``harness.py:LINE: message``."""
    from autocomp.evaluate.gate import check_source

    result = check_source(kernel_text, kernel, None, tuple(allowed_imports))
    items = [result.syntax_error] if result.syntax_error else result.violations
    nodes = harness.closure([kernel])
    out = []
    for v in items:
        origin = _origin(harness, kernel_text, v.line, nodes)
        where = f"{harness.path}:{origin}" if origin else f"{harness.path} (kernel.py:{v.line})"
        out.append(f"{where}: {v.message}")
    return out


def require_gate(harness: Harness, kernel: str, kernel_text: str, allowed_imports=()) -> None:
    violations = gate_violations(harness, kernel, kernel_text, allowed_imports)
    if violations:
        raise HarnessError(f"{harness.path}: kernel `{kernel}` would be refused by the evaluator's static gate "
                           f"({len(violations)} violation(s)); fix them in the harness and import again:\n  "
                           + "\n  ".join(violations))
