"""Translation from a reference: the LLM writes a problem's first kernel, repairing it until it is correct.

A problem made by ``autocomp problems new NAME --from-reference reference.py`` has problem.toml and
reference.py but no kernel.py. Attempt 1 shows the model the reference (source, input shapes and dtypes,
tolerance), the dialect's API digest and the target's notes, and asks for a kernel; every later attempt
shows the latest kernel and its verdict (the compile error and its line, or how wrong the numbers were) and
asks for a fix, up to ``max_attempts`` per call. Each kernel is evaluated like any untrusted candidate
(gate, sandbox, every seed against the reference: ``Evaluator.evaluate_first``). The first correct one
becomes kernel.py, problem.toml gets ``origin = "translated"``, and the problem is then optimised like any
other.

Nothing is lost on the way: ``<problem>/translation/`` keeps every attempt (``NNN/prompt.md``,
``response.md``, ``kernel.py``, ``attempt.json``), the LLM response cache and the manual provider's prompt
files, so a failed or interrupted translation continues where it stopped (``--resume``: an answer already
received is not asked for again) or is finished by hand (write kernel.py).
docs/architecture.md#translation-from-a-reference has the data flow.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autocomp.llm import BudgetExceeded, LLMError, ManualResponseTimeout
from autocomp.llm.manual import prompt_context
from autocomp.llm.types import Message
from autocomp.problem import TRANSLATION_DIR, Problem
from autocomp.search.extract import ExtractionError, extract_kernel
from autocomp.search.outcome import Outcome
from autocomp.search.prompts import (
    _STATUS_ADVICE,
    DIALECT_NAMES,
    ProblemBrief,
    PromptLibrary,
    error_line,
    excerpt,
    system_message,
)

EventSink = Callable[[str, dict], None]
ATTEMPTS_DIR = "attempts"
RESULT_FILE = "result.json"
ORIGIN = "translated"
PRECISION_NOTE = ("Return the outputs in the inputs' precision and accumulate sums and products in float32 at "
                  "least; the kernels optimised from yours may not lower the precision below what yours uses.")
_NO_KERNEL_ADVICE = "Your previous answer had no usable kernel; reply with the complete kernel file."


class TranslationError(RuntimeError):
    """The translation cannot start or go on (no such problem, a kernel already there); the message says what to do."""


@dataclass
class Attempt:
    """One kernel the model wrote (or failed to write) and its verdict."""

    number: int
    phase: str  # "translate" (the first prompt) or "repair"
    status: str = "pending"  # an evaluation status, "no_kernel", or "pending" before the verdict
    reason: str = ""
    error_report: str = ""
    latency_us: float | None = None
    has_kernel: bool = False
    llm_error: str = ""

    def line(self) -> str:
        latency = f", {self.latency_us:.1f} us (cost model)" if self.latency_us else ""
        return f"attempt {self.number} ({self.phase}): {self.status}{latency}" + (
            f": {self.reason.splitlines()[0]}" if self.reason and self.status != "correct" else "")


@dataclass
class TranslationResult:
    problem_dir: Path
    status: str  # "translated", "failed" (attempts used up), "pending" (a manual answer not given yet) or "budget"
    attempts: list[Attempt] = field(default_factory=list)
    message: str = ""

    @property
    def kernel_path(self) -> Path:
        return self.problem_dir / "kernel.py"


class Translator:
    """Runs the attempts of one problem's translation. See the module docstring."""

    def __init__(self, problem_dir: str | Path, llm: Any, evaluator: Any, *, library: PromptLibrary | None = None,
                 on_event: EventSink | None = None, temperature: float = 0.2, max_tokens: int = 12000):
        self.root = Path(problem_dir)
        self.problem = Problem.load(self.root, require_kernel=False)
        if self.problem.has_kernel:
            raise TranslationError(f"{self.problem.kernel_path}: the problem already has a kernel; optimise it with "
                                   f"`autocomp optimize {self.root}` (or remove kernel.py to translate again)")
        self.llm = llm
        self.evaluator = evaluator
        self.library = library or PromptLibrary()
        self.on_event = on_event or (lambda kind, data: None)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.workdir = self.root / TRANSLATION_DIR
        self.workdir.mkdir(exist_ok=True)
        from autocomp.suite.reference_import import NUMPY, TORCH, parameter_names

        self.parameters = parameter_names(self.problem)
        self.reference_source = self.problem.reference_path.read_text(encoding="utf-8")
        self.reference_kind = TORCH if "_autocomp_numpy_reference" in self.reference_source else NUMPY
        self.brief = ProblemBrief.from_problem(self.problem, parameter_names=self.parameters)
        # There is no baseline yet to keep the precision of (the optimisation that follows compares with this kernel).
        self.brief.precision_note = (PRECISION_NOTE if not self.problem.spec.allow_downcast else
                                     "Lower-precision intermediates are allowed if the result stays within tolerance.")

    # ------------------------------------------------------------------ the loop
    def run(self, max_attempts: int) -> TranslationResult:
        """Up to ``max_attempts`` new attempts (after those already on disk); stops at the first correct kernel."""
        attempts = self.attempts()
        done = next((a for a in attempts if a.status == "correct"), None)
        if done is not None:  # stopped between the verdict and writing kernel.py
            return self._finish(done, attempts)
        if attempts and attempts[-1].status == "pending" and attempts[-1].has_kernel:
            self._judge(attempts[-1])  # stopped before its verdict: evaluate the kernel we have
            if attempts[-1].status == "correct":
                return self._finish(attempts[-1], attempts)
        for _ in range(max_attempts):
            previous = attempts[-1] if attempts else None
            attempt = Attempt(len(attempts) + 1, "repair" if previous else "translate")
            try:
                self._write(attempt, previous)
            except ManualResponseTimeout as e:
                return TranslationResult(self.root, "pending", attempts, str(e))
            except BudgetExceeded as e:
                return TranslationResult(self.root, "budget", attempts, str(e))
            attempts.append(attempt)
            if attempt.has_kernel:
                self._judge(attempt)
            else:
                self._save(attempt)
            self.on_event("attempt", asdict(attempt))
            if attempt.status == "correct":
                return self._finish(attempt, attempts)
        last = attempts[-1].line() if attempts else "no attempt"
        return TranslationResult(self.root, "failed", attempts,
                                 f"no correct kernel after {len(attempts)} attempt(s) (last: {last}); every attempt is "
                                 f"in {self.workdir / ATTEMPTS_DIR}")

    def attempts(self) -> list[Attempt]:
        """The attempts on disk, in order."""
        out = []
        directory = self.workdir / ATTEMPTS_DIR
        for path in sorted(directory.glob("*/attempt.json")) if directory.is_dir() else []:
            out.append(Attempt(**json.loads(path.read_text(encoding="utf-8"))))
        return out

    # ------------------------------------------------------------------ one attempt
    def _dir(self, attempt: Attempt) -> Path:
        return self.workdir / ATTEMPTS_DIR / f"{attempt.number:03d}"

    def _save(self, attempt: Attempt) -> None:
        path = self._dir(attempt) / "attempt.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(attempt), indent=1), encoding="utf-8")
        tmp.replace(path)

    def _write(self, attempt: Attempt, previous: Attempt | None) -> None:
        """Ask for the attempt's kernel (or take the answer already saved for it) and store it."""
        directory = self._dir(attempt)
        directory.mkdir(parents=True, exist_ok=True)
        messages = self.repair_messages(previous) if previous else self.first_messages()
        (directory / "prompt.md").write_text(_render(messages), encoding="utf-8")
        response = directory / "response.md"
        if response.is_file():  # answered before an interruption: never pay for it twice
            text, finish = response.read_text(encoding="utf-8"), "stop"
        else:
            self.on_event("asking", {"attempt": attempt.number, "phase": attempt.phase})
            where = {"phase": attempt.phase, "slot": f"translate:{attempt.number}",
                     "round": f"attempt {attempt.number}"}
            try:
                with prompt_context(where):
                    completion = self.llm.complete(messages, phase=attempt.phase, sample_index=attempt.number - 1,
                                                   temperature=self.temperature, max_tokens=self.max_tokens,
                                                   expects_code=True)
            except (ManualResponseTimeout, BudgetExceeded):
                raise
            except LLMError as e:
                attempt.status, attempt.llm_error = "no_kernel", f"{type(e).__name__}: {e}"
                attempt.reason = f"the LLM call failed: {attempt.llm_error}"
                return
            text, finish = completion.text, completion.finish_reason
            response.write_text(text, encoding="utf-8")
        try:
            source = extract_kernel(text, self.problem.spec.function, finish_reason=finish)
        except ExtractionError as e:
            attempt.status, attempt.reason = "no_kernel", str(e)
            return
        (directory / "kernel.py").write_text(source, encoding="utf-8")
        attempt.has_kernel = True
        self._save(attempt)  # pending: the kernel is on disk before it is evaluated

    def _judge(self, attempt: Attempt) -> None:
        source = (self._dir(attempt) / "kernel.py").read_text(encoding="utf-8")
        self.on_event("evaluating", {"attempt": attempt.number})
        result = self.evaluator.evaluate_first(self.problem, source, filename="kernel.py")
        outcome = Outcome.from_result(result)
        attempt.status, attempt.reason = outcome.status, outcome.reason
        attempt.error_report, attempt.latency_us = outcome.error_report, outcome.latency_us
        if result.status == "correct" and result.mutated_inputs:
            # Nothing to compare with yet: a translated kernel may not write its inputs, which the reference never does.
            attempt.status = "rejected"
            attempt.reason = (f"input {result.mutated_inputs[0]} was modified by the kernel; it must leave its inputs "
                              "unchanged and write its results to new output tensors")
            attempt.latency_us = None
        (self._dir(attempt) / "eval.json").write_text(result.model_dump_json(indent=1), encoding="utf-8")
        self._save(attempt)

    def _finish(self, attempt: Attempt, attempts: list[Attempt]) -> TranslationResult:
        """The correct kernel becomes kernel.py and problem.toml says where it came from."""
        source = (self._dir(attempt) / "kernel.py").read_text(encoding="utf-8")
        toml_path = self.root / "problem.toml"
        toml = toml_path.read_text(encoding="utf-8")
        if "\norigin = " not in f"\n{toml}":
            toml = _with_origin(toml)
            toml_path.write_text(toml, encoding="utf-8")
        self.problem.kernel_path.write_text(source, encoding="utf-8")
        (self.workdir / RESULT_FILE).write_text(json.dumps({"status": "translated", "attempt": attempt.number,
                                                            "attempts": len(attempts)}, indent=1), encoding="utf-8")
        Problem.load(self.root)  # the finished problem must load like any other
        return TranslationResult(self.root, "translated", attempts,
                                 f"attempt {attempt.number} is correct; it is now {self.problem.kernel_path}")

    # ------------------------------------------------------------------ prompts
    def _system(self) -> str:
        return system_message(self.library, self.brief.dialect, self.brief.target, template="translate_system")

    def _values(self) -> dict[str, str]:
        b = self.brief
        return {"problem_name": b.name, "description": b.description, "function": b.function,
                "parameters": ", ".join(self.parameters), "dialect_name": DIALECT_NAMES.get(b.dialect, b.dialect),
                "conditions": b.conditions(),  # no work-scaling review: there is no baseline to compare with
                "reference_kind": self.reference_kind, "reference_source": self.reference_source.rstrip("\n"),
                "outputs": self._outputs()}

    def _outputs(self) -> str:
        seed = self.problem.spec.seeds[0]
        outs = self.problem.reference_outputs(seed)
        shapes = [f"[{', '.join(map(str, o.shape))}]" for o in outs]
        where = " at the check shapes" if self.problem.spec.check_shapes else ""
        if len(outs) == 1:
            return f"one output, shaped {shapes[0]}{where} for seed {seed}"
        return f"a tuple of {len(outs)} outputs, shaped {', '.join(shapes)}{where} for seed {seed}, in that order"

    def _messages(self, user: str) -> list[Message]:
        return [{"role": "system", "content": self._system()}, {"role": "user", "content": user.strip() + "\n"}]

    def first_messages(self) -> list[Message]:
        return self._messages(self.library.template("translate").substitute(**self._values()))

    def repair_messages(self, previous: Attempt) -> list[Message]:
        history = "\n".join(f"- {a.line()}" for a in self.attempts() if a.number <= previous.number) or "- none"
        source_path = self._dir(previous) / "kernel.py"
        if previous.has_kernel and source_path.is_file():
            code = source_path.read_text(encoding="utf-8")
            advice = _STATUS_ADVICE.get(previous.status, "")
        else:
            code, advice = "# (no kernel in the previous answer)", _NO_KERNEL_ADVICE
        line = error_line(previous.reason)
        location = f"\nAt line {line}:\n```text\n{excerpt(code, line)}\n```" if line and excerpt(code, line) else ""
        report = f"\nNumerical error against the reference:\n{previous.error_report}" if previous.error_report else ""
        user = self.library.template("translate_repair").substitute(
            **self._values(), attempts=history, attempt=previous.number, code=code.rstrip("\n"),
            status=previous.status, reason=(previous.reason or "(no message)").strip(), location=location,
            error_report=report, status_advice=advice)
        return self._messages(user)


def _with_origin(toml: str) -> str:
    """``origin = "translated"`` as the first line: a top-level key wherever the file's tables start."""
    return f'origin = "{ORIGIN}"  # kernel.py was written by the LLM from reference.py\n' + toml


def _render(messages: list[Message]) -> str:
    return "".join(f"## {m['role']}\n\n{m['content'].rstrip()}\n\n" for m in messages)
