"""Fakes at the search's seams: a tiny problem on disk, an evaluator with a formula for latency,
an LLM client and an OpenAI-compatible HTTP handler whose answers are pure functions of the prompt."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

from autocomp.llm.types import Completion
from autocomp.problem import module_constants
from autocomp.pyparse import parse_python
from tests.fakes.llm_server import Reply, SeenRequest, openai_ok

PROBLEM_TOML = """\
name = "{name}"
description = "y = 2x + 1 elementwise on an fp32 matrix."
function = "scale_add"
dialect = "v1"
target = "trn1"
seeds = [0, 1, 2]
check_shapes = true
{extra}
[tolerance]
rel_l2 = 1e-5
atol = 1e-5
rtol = 1e-5
{knobs}"""

KERNEL = '''\
"""y = 2x + 1, one [128, TILE_F] tile at a time."""

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

TILE_F = {tile_f}  # columns per tile


@nki.jit
def scale_add(x):
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    for r in nl.affine_range(N // 128):
        for c in nl.affine_range(D // TILE_F):
            t = nl.load(x[r * 128:(r + 1) * 128, c * TILE_F:(c + 1) * TILE_F])
            y = nl.add(nl.multiply(t, 2.0), 1.0)
            nl.store(out[r * 128:(r + 1) * 128, c * TILE_F:(c + 1) * TILE_F], value=y)
    return out
'''

REFERENCE = '''\
import numpy as np


def make_inputs(rng):
    return (rng.standard_normal((256, 2048)).astype(np.float32),)


def make_check_inputs(rng):
    return (rng.standard_normal((128, 512)).astype(np.float32),)


def reference(x):
    return 2.0 * x.astype(np.float64) + 1.0
'''


def write_problem(root: Path, name: str = "scale_add", *, tile_f: int = 64, knobs: bool = True,
                  kernel: str | None = None) -> Path:
    """A small, fast problem: y = 2x + 1 with one knob TILE_F (values 64..512, baseline 64)."""
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    knob_table = "\n[knobs]\nTILE_F = [64, 128, 256, 512]\n" if knobs else ""
    (d / "problem.toml").write_text(PROBLEM_TOML.format(name=name, extra="", knobs=knob_table))
    (d / "kernel.py").write_text(kernel if kernel is not None else KERNEL.format(tile_f=tile_f))
    (d / "reference.py").write_text(REFERENCE)
    return d


def kernel_with(tile_f: int, *, scale: str = "2.0", rows: str = "128") -> str:
    """The problem's kernel with TILE_F set, optionally wrong (scale) or broken (rows > 128)."""
    src = KERNEL.format(tile_f=tile_f).replace("nl.multiply(t, 2.0)", f"nl.multiply(t, {scale})")
    if rows != "128":
        src = src.replace("t = nl.load(x[r * 128:(r + 1) * 128,", f"t = nl.load(x[r * {rows}:(r + 1) * {rows},")
    return src


GRID_KERNEL = '''\
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

TILE_N = 512
BLOCK_M = 1
BLOCK_N = 1


@nki.jit
def scale_add(x):
    return x
'''
GRID_TOML_KNOBS = "[knobs]\nTILE_N = [128, 256, 512]\nBLOCK_M = [1, 2, 4]\nBLOCK_N = [1, 2, 4]\n"


def grid_latency(c: dict) -> float:
    """Shaped like gemm_bf16 in the cost model: bigger blocks and the widest tile win."""
    return 4000.0 * (512 / c["TILE_N"]) ** 0.6 / (c["BLOCK_M"] ** 0.8 * c["BLOCK_N"] ** 0.6)


def grid_problem(tmp_path: Path) -> Path:
    """A problem with three declared knobs (27 configurations) for knob-tuner runs."""
    d = write_problem(tmp_path / "problems", "grid", kernel=GRID_KERNEL, knobs=False)
    (d / "problem.toml").write_text((d / "problem.toml").read_text() + GRID_TOML_KNOBS)
    return d


# --------------------------------------------------------------------------- evaluator
class FakeEvaluator:
    """Latency is a formula of the kernel's module constants; markers in the source decide failures.

    ``# BROKEN`` -> compile_error at that line; ``# WRONG`` -> incorrect with an error report.
    Counts calls per source so tests can prove nothing is evaluated twice.
    """

    def __init__(self, latency=None, *, evidence: str = "sim"):
        self.latency = latency or (lambda c: 1000.0 / c.get("TILE_F", 1) ** 0.5 + 10.0 * c.get("BLOCK", 1))
        self.evidence = evidence
        self.calls: list[str] = []
        self.seeds_seen: list[list[int] | None] = []
        self._lock = threading.Lock()

    def evaluate(self, problem, source: str, *, seeds=None) -> dict:
        with self._lock:
            self.calls.append(source)
            self.seeds_seen.append(seeds)
        lines = source.splitlines()
        for i, line in enumerate(lines, 1):
            if "# BROKEN" in line:
                return {"status": "compile_error", "reason": f"kernel.py:{i}: err_num_partition_exceed_arch_limit: "
                        "partition dimension 256 exceeds 128", "evidence": self.evidence}
            if "# WRONG" in line:
                return {"status": "incorrect", "reason": "wrong result on seed 0", "evidence": self.evidence,
                        "max_abs": 1.5, "rel_l2": 0.4,
                        "errors": [{"seed": 0, "output": 0, "passed": False, "max_abs": 1.5, "rel_l2": 0.4,
                                    "worst_index": [3, 7], "worst_value": 2.5, "worst_expected": 1.0,
                                    "mismatched": 100, "size": 1000, "nonfinite": 0}]}
        try:
            consts = module_constants(parse_python(source))
        except SyntaxError as e:
            return {"status": "compile_error", "reason": f"kernel.py:{e.lineno}: {e.msg}", "evidence": self.evidence}
        lat = float(self.latency(consts))
        if lat <= 0:
            return {"status": "compile_error", "reason": "kernel.py:1: invalid configuration",
                    "evidence": self.evidence}
        return {"status": "correct", "reason": "ok", "latency_us": lat, "evidence": self.evidence,
                "profile": {"total_time": lat * 1e-6, "vector_engine_active_time_percent": 0.5,
                            "dma_active_time_percent": 0.9, "roofline_percent": 0.4, "roofline_bound": "hbm"},
                "hints": ["dma-bound: most of the critical path is DMA"]}

    def count(self, needle: str) -> int:
        return sum(1 for s in self.calls if needle in s)


# --------------------------------------------------------------------------- LLM
_CODE = re.compile(r"```python\n(.*?)```", re.DOTALL)
_PLAN_NO = re.compile(r"This is plan (\d+) of (\d+)")


def scripted_answer(messages: list[dict]) -> str:
    """The fake model: a pure function of the prompt, so replays and resumed runs see the same answers.

    plan 1 -> "PLAN A" (TILE_F = 512), plan 2 -> "PLAN B" (TILE_F = 256, first written broken);
    implementing A gives a correct faster kernel (twice: the second is a duplicate); implementing B
    gives a kernel that fails to compile; its first repair computes wrong numbers; the second is correct.
    """
    user = messages[-1]["content"]
    if "## Your task\nThis is plan" in user:
        n = int(_PLAN_NO.search(user).group(1))
        return ("PLAN A: raise TILE_F to 512 so each DMA moves more data." if n % 2 == 1 else
                "PLAN B: use TILE_F = 256 and restructure the loads.")
    code = _CODE.search(user).group(1)
    tile = 512 if "PLAN A" in user else 256
    if "## Plan to implement" in user:
        if tile == 512:
            return "Here is the kernel:\n```python\n" + _set_tile(code, 512) + "```\nBigger tiles."
        broken = re.sub(r"t = nl.load\(x\[r \* 128:\(r \+ 1\) \* 128,(.*)$",
                        r"t = nl.load(x[r * 256:(r + 1) * 256,\1  # BROKEN", _set_tile(code, 256), flags=re.MULTILINE)
        return "```python\n" + broken + "```"
    if "## What went wrong" in user:
        fixed = re.sub(r"t = nl.load\(x\[r \* 256:\(r \+ 1\) \* 256,(.*)  # BROKEN$",
                       r"t = nl.load(x[r * 128:(r + 1) * 128,\1", code, flags=re.MULTILINE)
        if "compile_error" in user:
            wrong = re.sub(r"^(.*)nl\.multiply\(t, 2\.0\)(.*)$", r"\1nl.multiply(t, 3.0)\2  # WRONG", fixed,
                           flags=re.MULTILINE)
            return "```python\n" + wrong + "```"
        right = re.sub(r"^(.*)nl\.multiply\(t, 3\.0\)(.*)  # WRONG$", r"\1nl.multiply(t, 2.0)\2", fixed,
                       flags=re.MULTILINE)
        return "```python\n" + right + "```"
    return "I don't know."


def _set_tile(code: str, value: int) -> str:
    return re.sub(r"^TILE_F = \d+", f"TILE_F = {value}", code, flags=re.MULTILINE)


_PLANNED = re.compile(r"set TILE_F = (\d+) and BLOCK = (\d+)")


def hashed_answer(messages: list[dict]) -> str:
    """A fake model with a wider repertoire: every answer is a pure function of the whole prompt's sha256.

    Any difference in a prompt (a candidate id, a history line, a menu sample) gives a different
    answer, so a search that is not reproducible shows up as different kernels. Plans pick TILE_F and
    BLOCK; an implementation is correct, broken (compile error), wrong or missing (no code); a repair
    fixes what it is shown, though sometimes into wrong numbers.
    """
    user = messages[-1]["content"]
    h = int.from_bytes(hashlib.sha256(user.encode()).digest()[:8], "big")
    if "## Your task\nThis is plan" in user:
        return f"PLAN: set TILE_F = {(64, 128, 256, 512)[h % 4]} and BLOCK = {1 + (h >> 2) % 4}, for fewer DMAs."
    code = _CODE.search(user).group(1)
    if "## Plan to implement" in user:
        tile, block = (int(g) for g in _PLANNED.search(user).groups())
        kernel = _set_consts(code, TILE_F=tile, BLOCK=block)
        fate = (h >> 8) % 5
        if fate == 0:
            return "I would change the tiling."
        kernel = _broken(kernel) if fate == 1 else _wrong(kernel) if fate == 2 else kernel
        return "```python\n" + kernel + "```"
    if "## What went wrong: no_kernel" in user:
        return "```python\n" + _set_consts(code, BLOCK=1 + (h >> 4) % 4) + "```"
    if "## What went wrong" in user:
        fixed = _fixed(code)
        return "```python\n" + (_wrong(fixed) if (h >> 8) % 3 == 0 else fixed) + "```"
    return "I don't know."


def _set_consts(code: str, **values: int) -> str:
    for name, value in values.items():
        if re.search(rf"^{name} = ", code, flags=re.MULTILINE):
            code = re.sub(rf"^{name} = \d+", f"{name} = {value}", code, flags=re.MULTILINE)
        else:
            code = re.sub(r"^(TILE_F = .*)$", rf"\1\n{name} = {value}", code, count=1, flags=re.MULTILINE)
    return code


def _broken(code: str) -> str:
    return re.sub(r"^(TILE_F = .*)$", r"\1\nPARTITIONS = 256  # BROKEN", code, count=1, flags=re.MULTILINE)


def _wrong(code: str) -> str:
    return code.replace("nl.multiply(t, 2.0)", "nl.multiply(t, 3.0)  # WRONG")


def _fixed(code: str) -> str:
    code = re.sub(r"^PARTITIONS = 256  # BROKEN\n", "", code, flags=re.MULTILINE)
    return code.replace("nl.multiply(t, 3.0)  # WRONG", "nl.multiply(t, 2.0)")


def hashed_openai(req: SeenRequest) -> Reply:
    """An OpenAI-compatible /chat/completions handler answering with :func:`hashed_answer`."""
    return Reply(200, openai_ok(hashed_answer(req.body["messages"]), model=req.body.get("model", "fake"),
                                prompt_tokens=1000, completion_tokens=200))


def scripted_openai(req: SeenRequest) -> Reply:
    """An OpenAI-compatible /chat/completions handler answering with :func:`scripted_answer`."""
    text = scripted_answer(req.body["messages"])
    return Reply(200, openai_ok(text, model=req.body.get("model", "fake"), prompt_tokens=1000,
                                completion_tokens=200))


class ScriptedClient:
    """An ``LLMClient`` for in-process tests, answering with :func:`scripted_answer` (or ``answer``).

    ``answer`` may return ``(text, finish_reason)`` to fake a cut-off answer.
    """

    provider = "vllm"

    def __init__(self, answer=scripted_answer, finish_reason: str = "stop"):
        self.answer = answer
        self.finish_reason = finish_reason
        self.requests: list[list[dict]] = []
        self._lock = threading.Lock()

    def complete(self, messages, *, model, temperature, max_tokens, stop) -> Completion:
        with self._lock:
            self.requests.append(list(messages))
        text = self.answer(list(messages))
        text, finish = text if isinstance(text, tuple) else (text, self.finish_reason)
        return Completion(text=text, finish_reason=finish, input_tokens=1000, output_tokens=200,
                          provider=self.provider, model=model)
