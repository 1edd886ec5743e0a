"""Writing the converted harness as a problem directory: problem.toml, kernel.py, reference.py."""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from pathlib import Path

import numpy as np

from autocomp.harness.inputs import ArraySpec
from autocomp.harness.reference import NumpyReference
from autocomp.harness.source import Harness


def dtype_code(dtype: np.dtype) -> str:
    """Python source for a dtype: ``np.float32``, ``ml_dtypes.bfloat16``."""
    from autocomp.nki import dtypes as dt

    name = dt.dtype_name(dtype)
    if name == "bool":
        return "np.bool_"
    return f"ml_dtypes.{name}" if name == "bfloat16" or name.startswith("float8") else f"np.{name}"


def input_expr(spec: ArraySpec, dtype: np.dtype) -> str:
    """A ``make_inputs`` expression drawing values like the harness does, but with mixed signs and magnitudes."""
    shape, code = repr(tuple(spec.shape)), dtype_code(dtype)
    if dtype == np.bool_:
        return f"rng.random({shape}) < 0.5"
    if dtype.kind in "iu" or spec.dist == "integers":
        return f"rng.integers({int(spec.low)}, {max(int(spec.high), int(spec.low) + 1)}, size={shape}).astype({code})"
    width = max(abs(spec.low), abs(spec.high)) if spec.dist == "uniform" else 1.0
    scale = spec.scale * width
    scale_arg = f", scale={scale:.6g}" if scale != 1.0 else ""
    if spec.dist == "uniform" and spec.low >= 0:  # the harness draws non-negative values: keep the sign
        value = f"np.abs(mixed(rng, {shape}{scale_arg}))"
        return f"({spec.low:g} + {value}).astype({code})" if spec.low > 0 else f"{value}.astype({code})"
    return f"mixed(rng, {shape}{scale_arg}, dtype={code})"


def inputs_function(name: str, specs: list[ArraySpec], dtypes: list[np.dtype], doc: str) -> str:
    items = "".join(f"\n        {input_expr(s, d)}," for s, d in zip(specs, dtypes))
    return f"def {name}(rng):\n    \"\"\"{doc}\"\"\"\n    return ({items}\n    )\n"


def _join(chunks: list[str]) -> str:
    """Top-level chunks two blank lines apart; one after an import block that a constant follows (isort style)."""
    out = ""
    for chunk in (c.strip("\n") for c in chunks if c.strip()):
        if out:
            last_is_import = out.rstrip().splitlines()[-1].startswith(("import ", "from "))
            out += "\n\n" if last_is_import and not chunk.startswith(("def ", "@", "class ")) else "\n\n\n"
        out += chunk
    return out + "\n"


def _standard_imports(code: str) -> list[str]:
    return [line for line, used in (("import ml_dtypes", "ml_dtypes." in code), ("import numpy as np", "np." in code))
            if used]


def _import_key(node: ast.stmt) -> tuple:
    """isort order: standard library first, then ``import x`` before ``from x import y``, alphabetically."""
    module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
    return (module.split(".")[0] not in sys.stdlib_module_names, isinstance(node, ast.ImportFrom), module.lower())


def _imports_and_code(harness: Harness, nodes: list[ast.stmt], skip_imports: set[str]) -> tuple[list[str], list[str]]:
    import_nodes = sorted((n for n in nodes if isinstance(n, (ast.Import, ast.ImportFrom))), key=_import_key)
    imports, previous = [], None
    for node in import_nodes:
        text = harness.segment(node)
        if text in skip_imports or text in imports:
            continue
        if previous is not None and _import_key(previous)[0] != _import_key(node)[0]:
            imports.append("")  # blank line between the standard-library and third-party groups
        imports.append(text)
        previous = node
    code = [harness.segment(n) for n in nodes if not isinstance(n, (ast.Import, ast.ImportFrom))]
    return imports, code


def kernel_file(harness: Harness, kernel: str, name: str) -> str:
    nodes = harness.closure([kernel])
    imports, code = _imports_and_code(harness, nodes, set())
    header = f'"""{name}: kernel `{kernel}` imported from {harness.path.name} by `autocomp problems import-harness`."""'
    return _join([header + "\n\n" + "\n".join(imports), *code] if imports else [header, *code])


def numpy_reference_file(harness: Harness, name: str, ref: NumpyReference, inputs: str) -> str:
    standard = _standard_imports(inputs)
    imports, code = _imports_and_code(harness, harness.closure(ref.module_names), set(standard))
    body = [f"    {', '.join(ref.params)} = {', '.join(f'_f64({p})' for p in ref.params)}"]
    body += [f"    {line}" for s in ref.statements for line in ast.unparse(s).splitlines()]
    body.append(f"    return {ast.unparse(ref.expr)}")
    doc = (f'"""Reference for {name}: the numpy check in test_nki of {harness.path.name} (line {ref.line}), '
           'in float64."""')
    f64 = ('def _f64(x):\n    """Float inputs (bf16 included) as float64; integer inputs unchanged."""\n'
           '    return x if x.dtype.kind in "iub" else x.astype(np.float64)\n')
    reference = f"def reference({', '.join(ref.params)}):\n" + "\n".join(body) + "\n"
    head = "\n".join([doc, "", *standard, *imports, "", "from autocomp.suite.sampling import mixed"])
    return _join([head, *code, f64, inputs, reference])


def simulated_reference_file(harness: Harness, kernel: str, name: str, why: str, dialect: str, target: str,
                             inputs: str) -> str:
    reference = (f"def reference(*inputs):\n    return simulate_reference({kernel}, inputs, dialect={dialect!r}, "
                 f"target={target!r})\n")
    standard = _standard_imports(inputs + reference)
    imports, code = _imports_and_code(harness, harness.closure([kernel]), set(standard))
    explanation = textwrap.fill(f"No numpy reference was found ({why}), so the problem checks candidates against the "
                                "kernel the harness checks its solutions against. A float64 numpy reference is "
                                "better when you can write one.", width=110)
    doc = (f'"""Reference for {name}: the harness\'s own kernel `{kernel}` ({harness.path.name}), run in '
           f'autocomp\'s NKI simulator.\n\n{explanation}\n"""')
    setup = "\n".join(["# ruff: noqa: E402", *standard, "", "import autocomp.nki",
                       "from autocomp.suite.check import simulate_reference",
                       "from autocomp.suite.sampling import mixed", "",
                       "autocomp.nki.install()  # the simulator stands in for the Neuron toolchain", "", *imports])
    return _join([doc + "\n\n" + setup, *code, inputs, reference])


def problem_toml(fields: dict, tolerance: dict) -> str:
    lines = [f"{key} = {json.dumps(value)}" for key, value in fields.items()]
    lines += ["", "[tolerance]"] + [f"{key} = {value:g}" for key, value in tolerance.items()]
    return "\n".join(lines) + "\n"


def write(root: Path, files: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for filename, text in files.items():
        (root / filename).write_text(text)
