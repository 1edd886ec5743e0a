"""Prompt templates and Trainium context, loaded from ``prompts/`` and rendered for one call.

Templates are markdown files with ``${name}`` placeholders (``string.Template``);
code here only computes the values. The directory is found, in order, from
``$AUTOCOMP_PROMPTS``, a copy shipped inside the package (``autocomp/_prompts``),
or the repository's ``prompts/`` next to the package.
"""

from __future__ import annotations

import ast
import hashlib
import os
import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from autocomp.llm import Message
from autocomp.pyparse import parse_python
from autocomp.search import yamlish
from autocomp.search.node import Node

PROMPTS_ENV = "AUTOCOMP_PROMPTS"
TEMPLATES = ("system", "plan", "implement", "repair")
DIALECT_NAMES = {
    "v1": "legacy NKI language (`neuronxcc.nki`, NKI 0.1)",
    "v2": "current NKI language (standalone `nki` package)",
}
_LOCATION = re.compile(r"(?:kernel\.py|line)[: ]+(\d+)")
_STATUS_ADVICE = {
    "compile_error": "Read the message: it names the rule that was broken and usually the fix.",
    "runtime_error": "The kernel traced but failed while running; check shapes, bounds and memory spaces.",
    "incorrect": "The kernel ran but produced wrong numbers: check indexing, loop bounds, accumulation "
                 "(start each PSUM group fresh), dtypes and whether every output element is written.",
    "timeout": "The kernel took too long; look for a loop that runs far more often than intended.",
    "rejected": "The kernel broke one of the rules and was not run; remove what the message names.",
    "no_kernel": "The kernel shown is the one the plan starts from; write the complete new kernel that implements "
                 "the plan.",
}


class PromptError(RuntimeError):
    """The prompt files are missing or malformed."""


def find_prompts_dir() -> Path:
    """The directory holding system.md, plan.md, ... (see the module docstring for the search order)."""
    here = Path(__file__).resolve().parent
    candidates = []
    if os.environ.get(PROMPTS_ENV):
        candidates.append(Path(os.environ[PROMPTS_ENV]))
    candidates += [here.parent / "_prompts", here.parent.parent / "prompts"]
    for path in candidates:
        if (path / "plan.md").is_file():
            return path
    raise PromptError("cannot find autocomp's prompt templates (looked in "
                      + ", ".join(str(p) for p in candidates)
                      + f"); set {PROMPTS_ENV} to the repository's prompts/ directory")


@dataclass(frozen=True)
class MenuItem:
    id: str
    title: str
    text: str
    when: tuple[str, ...] = ()

    def render(self) -> str:
        return f"- [{self.id}] **{self.title}**: {' '.join(self.text.split())}"


class PromptLibrary:
    """The templates, architecture notes, menu and rules of one prompts directory."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else find_prompts_dir()
        missing = [f"{n}.md" for n in TEMPLATES if not (self.root / f"{n}.md").is_file()]
        missing += [f for f in ("menu.yaml", "rules.yaml") if not (self.root / f).is_file()]
        if missing:
            raise PromptError(f"{self.root}: missing prompt files {', '.join(missing)}")

    def template(self, name: str) -> string.Template:
        return string.Template((self.root / f"{name}.md").read_text(encoding="utf-8"))

    def architecture(self, target: str) -> str:
        path = self.root / "architecture" / f"{target}.md"
        if not path.is_file():
            raise PromptError(f"{path}: no architecture notes for target {target!r}")
        return render_architecture(path, target)

    @cached_property
    def menu(self) -> list[MenuItem]:
        data = yamlish.load(self.root / "menu.yaml") or {}
        items = []
        for i, item in enumerate(data.get("items") or []):
            if not isinstance(item, dict) or not {"id", "title", "text"} <= set(item):
                raise PromptError(f"{self.root / 'menu.yaml'}: item {i} needs id, title and text")
            items.append(MenuItem(str(item["id"]), str(item["title"]), str(item["text"]),
                                  tuple(str(t) for t in item.get("when") or ())))
        if not items:
            raise PromptError(f"{self.root / 'menu.yaml'}: the menu is empty")
        return items

    @cached_property
    def _rules(self) -> dict[str, list[str]]:
        data = yamlish.load(self.root / "rules.yaml") or {}
        return {k: [str(r) for r in (v or [])] for k, v in data.items()}

    def rules(self, dialect: str) -> list[str]:
        """The common rules followed by the dialect's own."""
        return self._rules.get("common", []) + self._rules.get(dialect, [])

    def note(self, name: str) -> str:
        """An optional text file of the library (``<name>.md``), folded to one paragraph; empty when absent."""
        path = self.root / f"{name}.md"
        return " ".join(path.read_text(encoding="utf-8").split()) if path.is_file() else ""


def render_architecture(path: Path, target: str) -> str:
    """An architecture note with its ``${name}`` cost facts filled from the model (autocomp/search/arch_facts.py)."""
    from autocomp.search.arch_facts import arch_facts

    text = path.read_text(encoding="utf-8").strip()
    try:
        return string.Template(text).substitute(arch_facts(target))
    except KeyError as exc:
        raise PromptError(f"{path}: unknown cost fact ${{{exc.args[0]}}}; use one of the names in "
                          "autocomp/search/arch_facts.py") from None
    except ValueError as exc:
        raise PromptError(f"{path}: {exc}; write a literal dollar sign as $$") from None


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from ``parts``, the same in every process (``hash()`` is salted per process)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def stable_rng(*parts: object) -> random.Random:
    """A generator seeded from ``parts`` the same way in every process."""
    return random.Random(stable_seed(*parts))


def sample_menu(items: Sequence[MenuItem], rng: random.Random, *, dropout: float, tags: Sequence[str] = (),
                minimum: int = 3) -> list[MenuItem]:
    """A shuffled subset: each item dropped with probability ``dropout``, items matching the tags kept likelier.

    Different plans see different menus, which spreads the search over more ideas.
    """
    tagset = set(tags)
    kept = []
    for item in items:
        p_drop = dropout / 2 if tagset & set(item.when) else dropout
        if rng.random() >= p_drop:
            kept.append(item)
    dropped = [i for i in items if i not in kept]
    rng.shuffle(dropped)
    kept += dropped[: max(0, min(minimum, len(items)) - len(kept))]
    rng.shuffle(kept)
    return kept


# --------------------------------------------------------------------------- rendering
@dataclass
class ProblemBrief:
    """The facts about a problem that every prompt repeats."""

    name: str
    description: str
    function: str
    dialect: str
    target: str
    input_shapes: str
    tolerance: str
    precision_note: str
    tags: tuple[str, ...] = ()
    baseline_latency_us: float | None = None
    baseline_source: str = ""
    extra: dict = field(default_factory=dict)
    # Every shape the kernel runs at, per seed, for correctness and for timing (see run_shapes).
    check_shapes: str = ""
    timing_shapes: str = ""
    seeds: tuple[int, ...] = ()
    accuracy: str = ""  # the tolerance rule alone, without the seed count
    several_shapes: bool = False  # the problem declares timing shapes (docs/evaluation.md#problems-over-several-shapes)

    @classmethod
    def from_problem(cls, problem, *, target: str | None = None,
                     parameter_names: Sequence[str] | None = None) -> ProblemBrief:
        """``parameter_names`` name the inputs when the problem has no kernel yet (else the kernel's are used)."""
        spec = problem.spec
        names = (list(parameter_names) if parameter_names is not None
                 else _parameter_names(problem.baseline_source, spec.function))
        try:
            shapes = ", ".join(f"{list(s.shape)} {_dtype_name(s.dtype)}" for s in problem.input_specs())
            if spec.shapes:  # every declared shape, each with its weight in the geometric mean
                views = [(s, problem.at_shape(s.name)) for s in spec.shapes]
                timing = "; ".join(f"shape {s.label()}, weight {s.weight:g}: "
                                   + _shape_list(names, [(a.shape, a.dtype) for a in view.input_specs()])
                                   for s, view in views)
                check = ("; ".join(f"shape {s.name}: {run_shapes(view, names)}" for s, view in views)
                         if spec.check_shapes else "")
            else:
                timing = _shape_list(names, [(s.shape, s.dtype) for s in problem.input_specs()])
                check = run_shapes(problem, names) if spec.check_shapes else ""
        except Exception:  # the shapes are a nicety; a broken reference is reported elsewhere
            shapes = timing = "see the kernel"
            check = ""
        tol = spec.tolerance
        accuracy = (f"relative L2 error <= {tol.rel_l2:g} and |out - ref| <= {tol.atol:g} + {tol.rtol:g}*|ref| "
                    "for every element")
        return cls(
            name=spec.name, description=spec.description.strip(), function=spec.function, dialect=spec.dialect,
            target=target or spec.target, input_shapes=shapes,
            tolerance=f"relative L2 error <= {tol.rel_l2:g} and |out - ref| <= {tol.atol:g} + {tol.rtol:g}*|ref| "
                      f"elementwise, on {len(spec.seeds)} random inputs",
            precision_note=("Lower-precision intermediates are allowed if the result stays within tolerance."
                            if spec.allow_downcast else
                            "Do not lower the precision of inputs, outputs or accumulations below what the "
                            "baseline uses."),
            tags=tuple(spec.tags), baseline_source=problem.baseline_source, check_shapes=check,
            timing_shapes=timing, seeds=tuple(spec.seeds), accuracy=accuracy, several_shapes=bool(spec.shapes))

    def conditions(self, work_scaling_note: str = "") -> str:
        """The lines of every prompt that say where and how the kernel is run and judged."""
        seeds = ", ".join(str(s) for s in self.seeds) or "several random inputs"
        if self.check_shapes:
            runs = (f"- Correctness is checked on seeds {seeds} at smaller shapes than the timing: "
                    f"{self.check_shapes}. Latency is measured at {self.timing_shapes}. The kernel must be correct "
                    "at every one of these shapes: never special-case a size.")
        else:
            runs = f"- Correctness is checked on seeds {seeds} and latency measured at {self.timing_shapes}."
        if self.several_shapes:
            runs += ("\n- The kernel is judged at every one of these shapes: it must be correct at all of them, its "
                     "latency is the weighted geometric mean of the per-shape latencies, and a kernel slower than the "
                     "baseline at any shape is flagged. It reads its shapes from its inputs.")
        lines = [runs, f"- Correct means {self.accuracy or self.tolerance} against a float64 reference, on every "
                       f"seed; the fastest kernel is re-checked on fresh seeds before it is reported. "
                       f"{self.precision_note}"]
        if self.check_shapes and work_scaling_note:
            lines.append(f"- {work_scaling_note}")
        return "\n".join(lines)


def run_shapes(problem, names: Sequence[str]) -> str:
    """The correctness-check input shapes of every seed, seeds with the same shapes grouped."""
    by_shapes: dict[str, list[int]] = {}
    for seed in problem.spec.seeds:
        text = _shape_list(names, [(a.shape, a.dtype) for a in problem.inputs(seed, check=True)])
        by_shapes.setdefault(text, []).append(seed)
    if len(by_shapes) == 1:
        return next(iter(by_shapes))
    return "; ".join(f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}: {text}"
                     for text, seeds in by_shapes.items())


def _shape_list(names: Sequence[str], shapes: Sequence[tuple]) -> str:
    return ", ".join(f"{names[i] if i < len(names) else f'input {i + 1}'} {list(shape)} {_dtype_name(dtype)}"
                     for i, (shape, dtype) in enumerate(shapes))


def _parameter_names(source: str, function: str) -> list[str]:
    """The entry function's parameter names, as the kernel calls its inputs (empty when it cannot be read)."""
    try:
        tree = parse_python(source)
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            return [a.arg for a in node.args.posonlyargs + node.args.args]
    return []


def _dtype_name(dtype) -> str:
    return getattr(dtype, "name", str(dtype))


def system_message(lib: PromptLibrary, dialect: str, target: str, template: str = "system") -> str:
    """A system message: the template with the dialect, the target's notes, the rules and the API digest."""
    from autocomp.search.api_digest import digest

    rules = "\n".join(f"- {r}" for r in lib.rules(dialect))
    return lib.template(template).substitute(
        dialect_name=DIALECT_NAMES.get(dialect, dialect), architecture=lib.architecture(target), rules=rules,
        api_digest=digest(dialect, lib.root)).strip() + "\n"


def numbered(source: str, *, start: int = 1, mark: int | None = None) -> str:
    lines = source.rstrip("\n").splitlines()
    width = len(str(start + len(lines)))
    return "\n".join(f"{'>>' if start + i == mark else '  '}{start + i:>{width}} | {line}"
                     for i, line in enumerate(lines))


def error_line(reason: str) -> int | None:
    m = _LOCATION.search(reason or "")
    return int(m.group(1)) if m else None


def excerpt(source: str, line: int, context: int = 4) -> str:
    lines = source.rstrip("\n").splitlines()
    if not 1 <= line <= len(lines):
        return ""
    lo, hi = max(1, line - context), min(len(lines), line + context)
    return numbered("\n".join(lines[lo - 1:hi]), start=lo, mark=line)


def _latency(us: float | None) -> str:
    return f"{us:.1f} us" if us else "not measured"


def node_summary(node: Node, baseline_us: float | None) -> str:
    if not node.correct:
        return node.outcome.short() if node.outcome else "not evaluated"
    speed = f", {baseline_us / node.latency_us:.2f}x the baseline" if baseline_us else ""
    shapes = node.outcome.shape_text() if node.outcome is not None else ""
    return f"correct, {_latency(node.latency_us)} ({node.evidence}){speed}" + (f"; {shapes}" if shapes else "")


class PromptRenderer:
    """Builds the chat messages of each phase for one problem.

    The system message is the same for every call of a run (dialect, target notes, rules and
    the API digest): providers cache that prefix, so it is paid in full once.
    """

    def __init__(self, library: PromptLibrary, brief: ProblemBrief):
        self.lib = library
        self.brief = brief

    @cached_property
    def system(self) -> str:
        return system_message(self.lib, self.brief.dialect, self.brief.target)

    @cached_property
    def _common_values(self) -> dict[str, str]:
        b = self.brief
        return {"problem_name": b.name, "description": b.description, "function": b.function,
                "dialect_name": DIALECT_NAMES.get(b.dialect, b.dialect), "input_shapes": b.input_shapes,
                "tolerance": b.tolerance, "precision_note": b.precision_note,
                "conditions": b.conditions(self.lib.note("work_scaling")),
                "baseline_latency": _latency(b.baseline_latency_us)}

    def _common(self) -> dict[str, str]:
        return dict(self._common_values)

    def _messages(self, user: str) -> list[Message]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user.strip() + "\n"}]

    def plan(self, parent: Node, *, history: Sequence[str], menu: Sequence[MenuItem], number: int = 1,
             count: int = 1, siblings: Sequence[str] = (), memory: str = "") -> list[Message]:
        """The planning prompt for plan ``number`` of ``count``; ``siblings`` are the plans already made for
        ``parent`` in this iteration (plans 1..number-1), which this one must not repeat; ``memory`` is the
        experience-memory section chosen for ``parent`` (autocomp/search/experience.py), or empty."""
        from autocomp.search.profile_section import profile_section

        if siblings:
            made = "\n\n".join(f"Plan {i} of {count}:\n{text.strip()}" for i, text in enumerate(siblings, 1))
            others = (f"## Plans already made for this kernel in this iteration\n{made}\n\n"
                      "Each of them is being implemented: yours must be a different idea, not a variant of one "
                      "of them.\n\n")
        else:
            others = ""
        user = self.lib.template("plan").substitute(
            **self._common(),
            parent_summary=node_summary(parent, self.brief.baseline_latency_us),
            parent_listing=numbered(parent.source),
            profile=profile_section(parent.outcome, parent.source),
            history="\n".join(history) if history else "Nothing yet: this is the first attempt from this kernel.",
            menu="\n".join(item.render() for item in menu), plan_number=number, plan_count=count,
            sibling_plans=others, memory=memory)
        return self._messages(user)

    def implement(self, parent: Node, plan: str) -> list[Message]:
        user = self.lib.template("implement").substitute(
            **self._common(), parent_summary=node_summary(parent, self.brief.baseline_latency_us),
            parent_code=parent.source.rstrip("\n"), plan=plan.strip())
        return self._messages(user)

    def repair(self, code: str, *, status: str, reason: str, error_report: str, plan: str) -> list[Message]:
        line = error_line(reason)
        location = f"\nAt line {line}:\n```text\n{excerpt(code, line)}\n```" if line and excerpt(code, line) else ""
        report = f"\nNumerical error against the reference:\n{error_report}" if error_report else ""
        user = self.lib.template("repair").substitute(
            **self._common(), plan=plan.strip() or "(no plan: the kernel was written directly)",
            code=code.rstrip("\n"), status=status, reason=(reason or "(no message)").strip(),
            location=location, error_report=report, status_advice=_STATUS_ADVICE.get(status, ""))
        return self._messages(user)
