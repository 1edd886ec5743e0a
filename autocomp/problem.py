"""Problem directories: what to optimize, how to check it, what may be tuned.

```
problems/<name>/
  problem.toml   name, description, function, dialect, target, seeds, [tolerance], [knobs], ...
  kernel.py      the baseline NKI kernel
  <other>.py     optional further baselines, each a named variant ([variants.NAME] kernel = "...")
  reference.py   make_inputs(rng) -> tuple of arrays; reference(*inputs) -> array | tuple
                 optional make_check_inputs(rng) (smaller inputs for correctness, with check_shapes = true)
```

A problem may declare several timing shapes (``[[shapes]] name, weight, params``): then
``make_inputs(rng, **params)`` (and ``make_check_inputs(rng, **params)``) build each shape's inputs,
``Problem.at_shape(name)`` is the problem at one of them, and the evaluator judges a candidate at
every shape (docs/evaluation.md#problems-over-several-shapes).

``Problem.load(path)`` validates everything and turns every mistake into one
``ProblemError`` naming the file and the fix. The problem author's reference
code is trusted and runs in this process; candidate kernels never do (see
autocomp.evaluate).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
import sys
import traceback
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from autocomp import targets
from autocomp.pyparse import parse_python
from autocomp.targets import DEFAULT_TARGET
from autocomp.validation import error_message

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KnobValue = int | float | str | bool
# Where `autocomp problems new --from-reference` keeps the attempts of translating reference.py into kernel.py.
TRANSLATION_DIR = "translation"


class ProblemError(Exception):
    """A problem directory that cannot be used; the message says which file and what to fix."""


class Tolerance(BaseModel):
    """Pass when rel-L2 error <= rel_l2 AND every element has |out - ref| <= atol + rtol * |ref|."""

    model_config = ConfigDict(extra="forbid")
    rel_l2: float = Field(1e-2, gt=0)
    atol: float = Field(1e-2, ge=0)
    rtol: float = Field(1e-2, ge=0)


class ShapeSpec(BaseModel):
    """One declared timing shape: the keyword arguments ``make_inputs`` (and ``make_check_inputs``) take for it, and
    its weight in the weighted geometric mean of per-shape latencies."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    weight: float = Field(1.0, gt=0, allow_inf_nan=False)
    params: dict[str, KnobValue] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _param_names(cls, v: dict[str, KnobValue]) -> dict[str, KnobValue]:
        for name in v:
            if not name.isidentifier():
                raise ValueError(f"shape parameter {name!r} is not a Python identifier (it is passed as "
                                 "make_inputs(rng, **params))")
        return v

    def label(self) -> str:
        """``name (k=v, ...)``: how reports and reasons name the shape."""
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name} ({params})" if params else self.name


class VariantSpec(BaseModel):
    """``[variants.NAME]``: another baseline of the same problem (e.g. the legacy-dialect kernel).

    Everything not given here is the problem's own: same reference, seeds, tolerance and target.
    """

    model_config = ConfigDict(extra="forbid")
    kernel: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.py$")  # a file next to problem.toml
    dialect: Literal["v1", "v2"] | None = None
    description: str | None = None
    knobs: dict[str, list[KnobValue]] | None = None  # replaces the problem's [knobs] for this variant
    knob_constraints: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_constraints(cls, data: Any) -> Any:
        return _split_knob_constraints(data)

    @field_validator("kernel")
    @classmethod
    def _not_default_kernel(cls, v: str) -> str:
        if v in ("kernel.py", "reference.py"):
            raise ValueError(f"{v} is the problem's own file; a variant names another kernel file")
        return v


def _split_knob_constraints(data: Any) -> Any:
    """``[knobs] constraints = [...]`` is not a knob: keep it apart from the knob value lists."""
    if isinstance(data, dict) and isinstance(data.get("knobs"), dict) and "constraints" in data["knobs"]:
        knobs = dict(data["knobs"])
        data = {**data, "knobs": knobs, "knob_constraints": knobs.pop("constraints")}
    return data


# A variant is addressed as NAME@VARIANT wherever a problem name is accepted.
VARIANT_SEPARATOR = "@"
VARIANT_NAME = r"^[A-Za-z0-9_-]+$"


class ProblemSpec(BaseModel):
    """The contents of problem.toml."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    function: str = Field(pattern=r"^[A-Za-z_]\w*$")
    # The current dialect (standalone ``nki``) by default; legacy ``neuronxcc.nki`` kernels say dialect = "v1".
    dialect: Literal["v1", "v2"] = "v2"
    # The release of the current dialect the problem's kernels follow ("0.6"); None: the one the simulator models
    # (autocomp/nki/versions.py, docs/nki-semantics.md#nki-versions). v2 problems only.
    nki_version: str | None = None
    target: str = DEFAULT_TARGET  # a registered target (autocomp.targets); aliases resolve to its name
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    tolerance: Tolerance = Field(default_factory=Tolerance)
    knobs: dict[str, list[KnobValue]] = Field(default_factory=dict)
    # ``constraints = [...]`` inside ``[knobs]``: expressions every tried configuration satisfies.
    knob_constraints: list[str] = Field(default_factory=list)
    check_shapes: bool = False
    allow_downcast: bool = False
    # Wall-clock seconds per candidate: finite (it also sets the worker's CPU-time limit), at most a day.
    timeout_s: float = Field(300.0, gt=0, le=86400, allow_inf_nan=False)
    allowed_imports: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    variants: dict[str, VariantSpec] = Field(default_factory=dict)
    # The kernel family the experience memory groups runs by (docs/architecture.md#experience-memory); None: the
    # first tag (tags are listed most specific first), else the problem's name.
    family: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$")
    # How kernel.py came to be: "translated" when the LLM wrote it from reference.py (`autocomp problems new
    # --from-reference`, docs/architecture.md#a-problem); None for a kernel written by a person.
    origin: Literal["translated"] | None = None

    @property
    def family_name(self) -> str:
        return self.family or (self.tags[0] if self.tags else self.name)
    # ``[[shapes]]``: timing shapes a candidate is judged at (docs/evaluation.md#problems-over-several-shapes);
    # empty: the one shape make_inputs(rng) builds.
    shapes: list[ShapeSpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _split_constraints(cls, data: Any) -> Any:
        return _split_knob_constraints(data)

    @field_validator("variants")
    @classmethod
    def _variant_names(cls, v: dict[str, VariantSpec]) -> dict[str, VariantSpec]:
        for name in v:
            if not re.match(VARIANT_NAME, name):
                raise ValueError(f"variant name {name!r}: use letters, digits, '_' and '-'")
        return v

    def for_variant(self, variant: str) -> ProblemSpec:
        """This spec as the variant sees it: its dialect, description and knobs replace the problem's."""
        v = self.variants[variant]
        update = {k: getattr(v, k) for k in ("dialect", "description", "knobs", "knob_constraints")
                  if getattr(v, k) is not None}
        if update.get("dialect") == "v1":
            update["nki_version"] = None  # a release pin belongs to the current dialect's kernels
        if v.knobs is not None and v.knob_constraints is None:
            update["knob_constraints"] = []  # the problem's constraints name the knobs the variant replaced
        return self.model_copy(update=update)

    @field_validator("nki_version")
    @classmethod
    def _known_nki_version(cls, v: str | None) -> str | None:
        from autocomp.nki import versions

        return None if v is None else versions.normalize(v)

    @model_validator(mode="after")
    def _version_needs_v2(self) -> ProblemSpec:
        if self.nki_version is not None and self.dialect != "v2":
            raise ValueError(f"nki_version = {self.nki_version!r} pins a release of the current dialect; this problem "
                             "is dialect v1 (neuronxcc.nki): remove nki_version, or set dialect = \"v2\"")
        return self

    @field_validator("target")
    @classmethod
    def _known_target(cls, v: str) -> str:
        return targets.resolve(v)

    @field_validator("seeds")
    @classmethod
    def _enough_seeds(cls, v: list[int]) -> list[int]:
        if len(v) < 3:
            raise ValueError("give at least 3 seeds, e.g. seeds = [0, 1, 2]: one seed can hide a wrong kernel")
        if len(set(v)) != len(v):
            raise ValueError("seeds must be distinct")
        return v

    @field_validator("shapes")
    @classmethod
    def _distinct_shapes(cls, v: list[ShapeSpec]) -> list[ShapeSpec]:
        names = [s.name for s in v]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise ValueError(f"shape name {dup!r} is declared twice; give every [[shapes]] entry its own name")
        return v

    @field_validator("knobs")
    @classmethod
    def _knob_names(cls, v: dict[str, list]) -> dict[str, list]:
        for name, values in v.items():
            if not name.isidentifier():
                raise ValueError(f"knob {name!r} is not a Python identifier")
            if not values:
                raise ValueError(f"knob {name!r} has no values; list the values to try, e.g. {name} = [128, 256]")
        return v


def _format_validation(path: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            import difflib

            known = list((ShapeSpec if e["loc"][0] == "shapes" else ProblemSpec).model_fields)
            close = difflib.get_close_matches(str(e["loc"][-1]), known, n=1, cutoff=0.6)
            lines.append(f"unknown key {loc!r}: " + (f"did you mean {close[0]!r}?" if close else
                                                     f"remove it (known keys: {', '.join(known)})"))
        elif e["type"] == "missing":
            lines.append(f"missing required key {loc!r}")
        else:
            lines.append(f"{loc}: {error_message(e)} (got {e.get('input')!r})")
    return f"{path}: " + "; ".join(lines)


class Problem:
    """A loaded, validated problem directory."""

    def __init__(self, root: Path, spec: ProblemSpec, variant: str | None = None):
        self.root = root
        self.base_spec = spec  # problem.toml as written
        self.variant = variant  # None: the default baseline (kernel.py)
        self.spec = spec.for_variant(variant) if variant else spec  # what this variant runs with
        self._references: dict[int, tuple[np.ndarray, ...]] = {}
        self._input_specs = None
        # Set on the view ``at_shape`` returns: the declared shape this problem object stands for.
        self.shape: ShapeSpec | None = None

    # ------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path, variant: str | None = None, *, require_kernel: bool = True) -> Problem:
        """Load and validate ``path`` (a problem directory or its problem.toml), as its baseline ``variant``
        (None: the default kernel.py; see :func:`autocomp.suite.location.resolve_problem` for NAME@VARIANT).

        ``require_kernel=False`` accepts a directory without kernel.py: a problem whose first kernel is still
        being translated from its reference (autocomp.search.translate); its ``baseline_source`` is empty.
        """
        root = Path(path)
        if root.name == "problem.toml":
            root = root.parent
        if not root.exists():
            raise ProblemError(f"{root}: no such problem directory; list problems with `autocomp problems list`")
        toml_path = root / "problem.toml"
        for required in ("problem.toml", "kernel.py", "reference.py"):
            if required == "kernel.py" and not require_kernel:
                continue
            if not (root / required).is_file():
                if required == "kernel.py" and (root / TRANSLATION_DIR).is_dir():
                    raise ProblemError(f"{root / required}: missing; the kernel is still being translated from "
                                       f"reference.py (attempts in {root / TRANSLATION_DIR}): continue with "
                                       f"`autocomp problems new {root.name} --dir {root.parent} --resume`, or "
                                       "write kernel.py yourself")
                raise ProblemError(f"{root / required}: missing; a problem directory needs problem.toml, kernel.py "
                                   "and reference.py (scaffold one with `autocomp problems new NAME`)")
        try:
            data = tomllib.loads(_read_text(toml_path))
        except tomllib.TOMLDecodeError as e:
            raise ProblemError(f"{toml_path}: invalid TOML: {e}") from None
        _infer_dialects(root, data)
        try:
            spec = ProblemSpec.model_validate(data)
        except ValidationError as e:
            raise ProblemError(_format_validation(toml_path, e)) from None
        if variant is not None and variant not in spec.variants:
            known = ", ".join(sorted(spec.variants))
            raise ProblemError(f"{toml_path}: problem {spec.name} has no variant {variant!r}; "
                               + (f"its variants: {known} (address one as {spec.name}@{sorted(spec.variants)[0]})"
                                  if known else "it declares no [variants] (drop the @ part)"))
        for vname, v in spec.variants.items():
            if not (root / v.kernel).is_file():
                raise ProblemError(f"{root / v.kernel}: missing; problem.toml [variants.{vname}] names it as the "
                                   "variant's kernel")
        problem = cls(root, spec, variant)
        if problem.has_kernel:
            problem._check_kernel_file()
            problem._check_constraints()
        problem._check_shape_params()
        problem._check_reference()
        return problem

    @property
    def name(self) -> str:
        """The problem's name, with ``@VARIANT`` for a variant: runs, caches and reports show it."""
        return self.spec.name + (VARIANT_SEPARATOR + self.variant if self.variant else "")

    @property
    def kernel_file(self) -> str:
        return self.base_spec.variants[self.variant].kernel if self.variant else "kernel.py"

    @property
    def shapes(self) -> list[ShapeSpec]:
        """The declared timing shapes (empty: one implicit shape, or this is already one shape's view)."""
        return self.spec.shapes

    def at_shape(self, name: str) -> Problem:
        """This problem at one declared shape: inputs and references at that shape, its own cache keys, no
        further shapes (so evaluating it is one ordinary evaluation)."""
        shape = next((s for s in self.spec.shapes if s.name == name), None)
        if shape is None:
            raise ProblemError(f"{self.root / 'problem.toml'}: problem {self.name} declares no shape {name!r}; its "
                               f"shapes: {', '.join(s.name for s in self.spec.shapes) or 'none'}")
        view = Problem(self.root, self.base_spec.model_copy(update={"shapes": []}), self.variant)
        view.shape = shape
        # Same files, another shape: a key of its own for references and evaluations; the reference module and
        # the baseline source are the parent's (imported once).
        view.__dict__["content_hash"] = f"{self.content_hash}-{shape.name}"
        view.__dict__["reference_module"] = self.reference_module
        view.__dict__["baseline_source"] = self.baseline_source
        return view

    def _shape_params(self) -> dict[str, KnobValue]:
        """make_inputs keyword arguments: this view's shape, else the first declared shape (the primary one,
        which single-shape tools such as `autocomp profile` use), else none."""
        if self.shape is not None:
            return dict(self.shape.params)
        return dict(self.spec.shapes[0].params) if self.spec.shapes else {}

    @property
    def kernel_path(self) -> Path:
        return self.root / self.kernel_file

    @property
    def files(self) -> tuple[str, ...]:
        """Every file of the problem directory: problem.toml, reference.py, kernel.py and each variant's kernel."""
        return ("problem.toml", "kernel.py", "reference.py",
                *sorted({v.kernel for v in self.base_spec.variants.values()}))

    def with_variant(self, variant: str | None) -> Problem:
        """The same problem directory loaded as ``variant`` (None: the default baseline)."""
        return self if variant == self.variant else Problem.load(self.root, variant)

    @property
    def reference_path(self) -> Path:
        return self.root / "reference.py"

    @property
    def has_kernel(self) -> bool:
        """False only for a problem loaded with ``require_kernel=False`` whose kernel is not written yet."""
        return self.kernel_path.is_file()

    @cached_property
    def baseline_source(self) -> str:
        return _read_text(self.kernel_path) if self.has_kernel else ""

    @cached_property
    def content_hash(self) -> str:
        """Hash of every problem file: keys caches of references and evaluations."""
        h = hashlib.sha256()
        for name in ("problem.toml", "kernel.py", "reference.py"):
            if name == "kernel.py" and not self.has_kernel:
                continue  # a problem being translated: its kernel does not exist yet
            h.update(name.encode())
            h.update((self.root / name).read_bytes())
        if self.variant:  # a variant is another baseline (and maybe dialect and knobs): its own cache entries
            h.update(f"variant:{self.variant}:{self.kernel_file}".encode())
            h.update(self.kernel_path.read_bytes())
        return h.hexdigest()[:16]

    def _check_kernel_file(self) -> None:
        path = self.kernel_path
        try:
            tree = parse_python(self.baseline_source, filename=str(path))
        except SyntaxError as e:
            raise ProblemError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
        funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        if self.spec.function not in funcs:
            raise ProblemError(f"{path}: no top-level function {self.spec.function!r} (problem.toml `function`); "
                               f"functions defined: {', '.join(sorted(funcs)) or 'none'}")
        constants = module_constants(tree)
        for knob, values in self.spec.knobs.items():
            if knob not in constants:
                raise ProblemError(f"{path}: knob {knob!r} from problem.toml is not a module-level constant of the "
                                   f"kernel; define it, e.g. `{knob} = {values[0]!r}`")

    @cached_property
    def knob_constraints(self) -> tuple:
        """The parsed ``[knobs]`` constraints."""
        from autocomp.knob_rules import ConstraintError, parse_constraint

        out = []
        for text in self.spec.knob_constraints:
            try:
                out.append(parse_constraint(text, set(self.spec.knobs)))
            except ConstraintError as e:
                raise ProblemError(f"{self.root / 'problem.toml'}: [knobs] constraint {text!r} of problem "
                                   f"{self.name}: {e}") from None
        return tuple(out)

    def _check_constraints(self) -> None:
        constraints = self.knob_constraints
        if not constraints:
            return
        constants = module_constants(parse_python(self.baseline_source))
        baseline = {k: v for k, v in constants.items() if k in self.spec.knobs}
        for c in constraints:
            if not c.holds(baseline):
                raise ProblemError(f"{self.root / 'problem.toml'}: [knobs] constraint {c.text!r} of problem "
                                   f"{self.name} rejects the baseline's own configuration "
                                   f"({', '.join(f'{k}={baseline[k]!r}' for k in sorted(c.names))}); fix the "
                                   "constraint or the kernel")

    @cached_property
    def reference_module(self):
        path = self.reference_path
        name = f"autocomp_reference_{self.content_hash}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            raise ProblemError(f"{_where(path, e)}: importing reference.py failed: {type(e).__name__}: {e}") from None
        for fn in ("make_inputs", "reference") + (("make_check_inputs",) if self.spec.check_shapes else ()):
            if not callable(getattr(module, fn, None)):
                raise ProblemError(f"{path}: missing function {fn}(...)"
                                   + (" (required because problem.toml sets check_shapes = true)"
                                      if fn == "make_check_inputs" else ""))
        return module

    def _check_shape_params(self) -> None:
        """Every declared shape's params must be arguments make_inputs (and make_check_inputs) accept."""
        import inspect

        module = self.reference_module
        fns = [module.make_inputs] + ([module.make_check_inputs] if self.spec.check_shapes else [])
        for shape in self.spec.shapes:
            for fn in fns:
                try:
                    inspect.signature(fn).bind(None, **shape.params)
                except TypeError as e:
                    raise ProblemError(f"{self.reference_path}: {fn.__name__}(rng, **params) does not accept the "
                                       f"params of shape {shape.name!r} in problem.toml ({shape.params}): {e}; give "
                                       f"{fn.__name__} keyword parameters named like the shape's params") from None
                except ValueError:  # no signature to read (a builtin): calling it will tell
                    continue

    def _check_reference(self) -> None:
        for problem in [self.at_shape(s.name) for s in self.spec.shapes] or [self]:
            inputs = problem.inputs(self.spec.seeds[0])
            problem.reference_outputs(self.spec.seeds[0], inputs)

    # ------------------------------------------------------------ inputs and references
    def inputs(self, seed: int, *, check: bool = True) -> tuple[np.ndarray, ...]:
        """Inputs for ``seed``: the correctness-check inputs, or the full timing inputs (``check=False``)."""
        module = self.reference_module
        fn = module.make_check_inputs if (check and self.spec.check_shapes) else module.make_inputs
        params = self._shape_params()
        try:
            result = fn(np.random.default_rng(seed), **params)
        except Exception as e:
            at = f" at shape {self.shape.name if self.shape else self.spec.shapes[0].name}" if params else ""
            raise ProblemError(f"{_where(self.reference_path, e)}: {fn.__name__}(rng){at} failed: "
                               f"{type(e).__name__}: {e}") from None
        if isinstance(result, np.ndarray):
            result = (result,)
        if not isinstance(result, (tuple, list)) or not result:
            raise ProblemError(f"{self.reference_path}: {fn.__name__}(rng) must return a tuple of numpy arrays, "
                               f"got {type(result).__name__}")
        from autocomp.nki import dtypes as dt

        for i, arr in enumerate(result):
            if not isinstance(arr, np.ndarray):
                raise ProblemError(f"{self.reference_path}: {fn.__name__}(rng) item {i} is {type(arr).__name__}, not "
                                   "a numpy array")
            try:
                dt.as_dtype(arr.dtype)
            except TypeError:
                raise ProblemError(f"{self.reference_path}: {fn.__name__}(rng) item {i} has dtype {arr.dtype}, which "
                                   "NKI does not support; use float32, bfloat16 (ml_dtypes), float16 or an int type") \
                    from None
            if arr.dtype == np.float64:
                raise ProblemError(f"{self.reference_path}: {fn.__name__}(rng) item {i} is float64, which the "
                                   "hardware has no support for; cast inputs to float32 or bfloat16")
        return tuple(result)

    def reference_outputs(self, seed: int, inputs: tuple[np.ndarray, ...] | None = None) -> tuple[np.ndarray, ...]:
        """Reference outputs for ``seed`` (computed once from pristine inputs, then cached)."""
        if seed in self._references:
            return self._references[seed]
        if inputs is None:
            inputs = self.inputs(seed)
        pristine = tuple(np.array(a, copy=True) for a in inputs)
        try:
            out = self.reference_module.reference(*pristine)
        except Exception as e:
            raise ProblemError(f"{_where(self.reference_path, e)}: reference(*inputs) failed: {type(e).__name__}: "
                               f"{e}") from None
        outs = out if isinstance(out, (tuple, list)) else (out,)
        result = []
        for i, o in enumerate(outs):
            arr = np.asarray(o)
            if arr.dtype == object or arr.dtype.kind not in "fiub" and "float" not in str(arr.dtype):
                raise ProblemError(f"{self.reference_path}: reference output {i} is not numeric (dtype {arr.dtype})")
            result.append(arr)
        self._references[seed] = tuple(result)
        return self._references[seed]

    def input_specs(self):
        """Shapes and dtypes of the full timing inputs (TensorSpec placeholders), computed once."""
        from autocomp.nki.shapes import TensorSpec

        if self._input_specs is None:
            self._input_specs = tuple(TensorSpec(a.shape, a.dtype)
                                      for a in self.inputs(self.spec.seeds[0], check=False))
        return self._input_specs

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.spec.description, "function": self.spec.function,
                "dialect": self.spec.dialect, "nki_version": self.spec.nki_version, "target": self.spec.target,
                "seeds": self.spec.seeds, "origin": self.spec.origin,
                "tolerance": self.spec.tolerance.model_dump(), "knobs": self.spec.knobs, "path": str(self.root),
                "variant": self.variant, "kernel": self.kernel_file, "variants": sorted(self.base_spec.variants),
                "shapes": [s.model_dump() for s in self.spec.shapes]}

    def __repr__(self) -> str:
        return f"Problem({self.name!r}, {self.root})"


def module_constants(tree: ast.Module) -> dict[str, Any]:
    """Module-level ``NAME = literal`` assignments of a kernel file."""
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                consts[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, SyntaxError):
                continue
    return consts


def kernel_dialect(source: str) -> str | None:
    """The dialect a kernel's imports choose: "v1" for ``neuronxcc`` (legacy), "v2" for ``nki``, else None."""
    try:
        tree = parse_python(source)
    except SyntaxError:
        return None  # the kernel check reports it with its line
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    tops = {m.split(".")[0] for m in modules}
    return "v1" if "neuronxcc" in tops else "v2" if "nki" in tops else None


def _infer_dialects(root: Path, data: Any) -> None:
    """Fill in a missing ``dialect`` (of the problem or a variant) from its kernel's imports, so problem
    directories written before the default became v2 still load: a ``neuronxcc`` import means the legacy v1."""
    if not isinstance(data, dict):
        return
    if "dialect" not in data and (root / "kernel.py").is_file():
        found = kernel_dialect(_read_text(root / "kernel.py"))
        if found:
            data["dialect"] = found
    variants = data.get("variants")
    if isinstance(variants, dict):
        for v in variants.values():
            kernel = v.get("kernel") if isinstance(v, dict) else None
            if isinstance(kernel, str) and "dialect" not in v and "/" not in kernel and (root / kernel).is_file():
                found = kernel_dialect(_read_text(root / kernel))
                if found:
                    v["dialect"] = found


def _read_text(path: Path) -> str:
    """A problem file's UTF-8 text; bytes that are not UTF-8 are a ProblemError naming the line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ProblemError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x}); save the file as UTF-8") \
            from None


def _where(path: Path, exc: BaseException) -> str:
    """``path:line`` of the deepest traceback frame inside ``path``."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if Path(frame.f_code.co_filename).resolve() == path.resolve():
            line = lineno
    return f"{path}:{line}" if line else str(path)


def find_problems(root: str | Path = "problems") -> list[Path]:
    """Problem directories under ``root`` (those with a problem.toml)."""
    root = Path(root)
    return sorted(p.parent for p in root.glob("*/problem.toml"))
