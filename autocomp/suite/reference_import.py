"""A problem directory from a reference function alone (numpy, or PyTorch when torch is installed).

``autocomp problems new NAME --from-reference reference.py`` starts here: the reference file is checked
(it parses, defines ``make_inputs(rng)`` and ``reference(*inputs)``, imports, and its inputs are numpy-compatible
arrays), then ``NAME/`` gets ``problem.toml`` and ``reference.py`` and no kernel: the LLM writes the first one
(autocomp.search.translate). A PyTorch reference is kept verbatim with a numpy adapter appended, so the rest of
autocomp sees numpy arrays in and float64 arrays out. The reference is the problem author's code: trusted, it
runs in this process (autocomp.problem).
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from autocomp.pyparse import parse_python
from autocomp.suite.scaffold import NAME_PATTERN, TEMPLATES, function_name
from autocomp.targets import DEFAULT_TARGET

NUMPY, TORCH = "numpy", "PyTorch"
# Default [tolerance] by the narrowest floating-point input: what the suite's problems of that precision use.
TOLERANCE_16BIT = {"rel_l2": 1e-2, "atol": 1e-2, "rtol": 2e-2}
TOLERANCE_32BIT = {"rel_l2": 1e-4, "atol": 1e-4, "rtol": 1e-3}


class ReferenceImportError(ValueError):
    """A reference file that cannot start a problem; the message names the file (and line) and the fix."""


@dataclass
class ReferenceFile:
    """A checked reference file: its text, kind, the names of reference()'s parameters, its check inputs."""

    path: Path
    source: str
    kind: str  # NUMPY or TORCH
    parameters: list[str]
    has_check_inputs: bool
    description: str


def read_reference(path: str | Path) -> ReferenceFile:
    """Read and statically check ``path``; raises :class:`ReferenceImportError` with what to fix."""
    path = Path(path)
    if not path.is_file():
        raise ReferenceImportError(f"{path}: no such file; give the Python file that defines make_inputs(rng) and "
                                   "reference(*inputs)")
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ReferenceImportError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    try:
        tree = parse_python(source, filename=str(path))
    except SyntaxError as e:
        raise ReferenceImportError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for required, what in (("make_inputs", "make_inputs(rng) returning a tuple of numpy arrays (the inputs, drawn "
                                            "from the numpy Generator rng)"),
                           ("reference", "reference(*inputs) returning what the kernel must compute")):
        if required not in functions:
            raise ReferenceImportError(f"{path}: no top-level function {required}; define {what} "
                                       f"(functions defined: {', '.join(sorted(functions)) or 'none'})")
    kind = TORCH if _imports_torch(tree) else NUMPY
    if kind == TORCH and importlib.util.find_spec("torch") is None:
        raise ReferenceImportError(f"{path}: a PyTorch reference (it imports torch), but torch is not installed "
                                   "here; install it (pip install torch) or write the reference with numpy")
    ref = functions["reference"]
    parameters = [a.arg for a in ref.args.posonlyargs + ref.args.args]
    docstring = ast.get_docstring(tree) or ast.get_docstring(ref) or ""
    description = docstring.strip() or f"Translated from {path.name}: reference({', '.join(parameters)})."
    return ReferenceFile(path, source, kind, parameters, "make_check_inputs" in functions, description)


def _imports_torch(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "torch" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch" and not node.level:
            return True
    return False


def reference_module_text(ref: ReferenceFile) -> str:
    """The problem's reference.py: the file itself, or a PyTorch file with the numpy adapter appended."""
    if ref.kind == NUMPY:
        return ref.source
    adapter = (TEMPLATES / "torch_adapter.py.tmpl").read_text(encoding="utf-8")
    return ref.source.rstrip("\n") + "\n\n" + adapter


def problem_toml(name: str, ref: ReferenceFile, *, dialect: str, target: str, tolerance: dict[str, float]) -> str:
    """problem.toml of a problem being translated (no [knobs]: the kernel does not exist yet)."""
    description = ref.description.replace('"""', "'''")
    lines = [f'name = "{name}"', f'description = """\n{description}\n"""', f'function = "{function_name(name)}"',
             f'dialect = "{dialect}"', f'target = "{target}"', "seeds = [0, 1, 2]"]
    if ref.has_check_inputs:
        lines += ["# Correctness runs on make_check_inputs (small), latency on make_inputs (full size).",
                  "check_shapes = true"]
    lines += ["", "[tolerance]"] + [f"{k} = {tolerance[k]:g}" for k in ("rel_l2", "atol", "rtol")]
    return "\n".join(lines) + "\n"


def default_tolerance(problem) -> dict[str, float]:
    """By the narrowest floating-point input: 16-bit and narrower get the bf16 suite's tolerance."""
    from autocomp.nki import dtypes as dt

    widths = [a.dtype.itemsize for a in problem.inputs(problem.spec.seeds[0])
              if dt.dtype_name(a.dtype).startswith(("float", "bfloat"))]
    return dict(TOLERANCE_16BIT if widths and min(widths) <= 2 else TOLERANCE_32BIT)


def create_from_reference(name: str, parent: str | Path, reference: str | Path, *, dialect: str = "v2",
                          target: str = DEFAULT_TARGET, tolerance: dict[str, float] | None = None):
    """Write ``parent/name/`` (problem.toml, reference.py) from ``reference`` and return the loaded Problem.

    The directory is removed again when the reference turns out unusable, so a failed start leaves nothing.
    """
    from autocomp.problem import Problem, ProblemError

    if not NAME_PATTERN.match(name):
        raise ReferenceImportError(f"{name!r}: a problem name may use letters, digits, '_', '.' and '-' only")
    if dialect not in ("v1", "v2"):
        raise ReferenceImportError(f"dialect {dialect!r}: use v2 (nki) or v1 (neuronxcc.nki)")
    ref = read_reference(reference)
    root = Path(parent) / name
    if root.exists():
        raise FileExistsError(f"{root}: already exists; choose another name, remove it, or pass --resume to "
                              "continue its translation")
    root.mkdir(parents=True)
    try:
        (root / "reference.py").write_text(reference_module_text(ref), encoding="utf-8")
        toml = lambda tol: problem_toml(name, ref, dialect=dialect, target=target, tolerance=tol)  # noqa: E731
        (root / "problem.toml").write_text(toml(tolerance or TOLERANCE_32BIT), encoding="utf-8")
        problem = Problem.load(root, require_kernel=False)  # runs make_inputs and reference once
        if tolerance is None:
            (root / "problem.toml").write_text(toml(default_tolerance(problem)), encoding="utf-8")
            problem = Problem.load(root, require_kernel=False)
    except ProblemError as e:
        shutil.rmtree(root, ignore_errors=True)
        raise ReferenceImportError(str(e).replace(str(root / "reference.py"), str(ref.path))) from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return problem


def parameter_names(problem) -> list[str]:
    """The kernel's parameter names: reference()'s, or input0, input1, ... for ``reference(*inputs)``."""
    tree = parse_python(problem.reference_path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in tree.body:  # the torch adapter wraps reference by assignment: the def keeps the names
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "reference":
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
    count = len(problem.inputs(problem.spec.seeds[0]))
    return names if len(names) == count else [f"input{i}" for i in range(count)]
