"""A scripted model for translation tests (autocomp.search.translate): a pure function of the prompt.

It translates the suite's silu_bf16 reference: its first answer does not compile, the repair of that computes
the wrong numbers, and the repair of the wrong numbers is correct; every answer is read back from the prompt
it was given, so the test shows the repair loop carried each verdict to the next prompt.
"""

from __future__ import annotations

from pathlib import Path

SUITE = Path(__file__).resolve().parents[2] / "problems"
SILU_REFERENCE = SUITE / "silu_bf16" / "reference.py"
# Its timing size when no shape is named (a translated problem has no [[shapes]]) and the one these tests use: every
# new problem runs its reference once at the timing size, which takes seconds at 8192 tokens and a tenth of that at
# 2048. The check shapes, which every attempt is judged at, are the same at both.
SILU_TIMING = ("N, D = 8192, 4096", "N, D = 2048, 4096")


def silu_reference(directory: Path) -> Path:
    """The suite's silu_bf16 reference, timed at 2048 tokens instead of 8192, written into ``directory``."""
    text = SILU_REFERENCE.read_text()
    if SILU_TIMING[0] not in text:
        raise AssertionError(f"{SILU_REFERENCE} no longer says {SILU_TIMING[0]!r}: update SILU_TIMING")
    path = directory / "reference.py"
    path.write_text(text.replace(SILU_TIMING[0], SILU_TIMING[1]))
    return path

# Written for these tests in the current dialect: sigmoid on the Scalar engine, then a multiply on the Vector engine.
SILU_KERNEL = '''\
import nki
import nki.isa as nisa
import nki.language as nl

P = 128
TILE_F = 512


@nki.jit
def {function}(x):
    N, D = x.shape
    out = nl.ndarray((N, D), dtype=x.dtype, buffer=nl.shared_hbm)
    for r in range(N // P):
        for c in range(D // TILE_F):
            x_tile = nl.ndarray((P, TILE_F), dtype=x.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=x_tile, src=x[r * P:(r + 1) * P, c * TILE_F:(c + 1) * TILE_F])
            gate = nl.ndarray((P, TILE_F), dtype=nl.float32, buffer=nl.sbuf)
            nisa.activation(dst=gate, op=nl.sigmoid, data=x_tile)
            y_tile = nl.ndarray((P, TILE_F), dtype=x.dtype, buffer=nl.sbuf)
            nisa.tensor_tensor(dst=y_tile, data1=x_tile, data2=gate, op=nl.multiply)
            nisa.dma_copy(dst=out[r * P:(r + 1) * P, c * TILE_F:(c + 1) * TILE_F], src=y_tile)
    return out
'''
# A partition dimension of 256 breaks the 128-partition limit: a compile error naming the line.
BROKEN = "P = 256  # BROKEN"
# The gate alone: the right shapes and a plausible activation, the wrong numbers.
WRONG = "nisa.tensor_tensor(dst=y_tile, data1=gate, data2=gate, op=nl.multiply)  # WRONG"


def _entry(user: str) -> str:
    start = user.index("Entry function: `") + len("Entry function: `")
    return user[start:user.index("(", start)]


def _code(user: str) -> str:
    start = user.index("## The latest kernel")
    start = user.index("```python\n", start) + len("```python\n")
    return user[start:user.index("```", start)]


def silu_translator(messages: list[dict]) -> str:
    """First prompt: a kernel that does not compile; repair of a compile error: wrong numbers; repair of wrong
    numbers: the correct kernel."""
    user = messages[-1]["content"]
    if "## What went wrong: compile_error" in user:
        code = _code(user).replace(BROKEN, "P = 128")
        code = code.replace("nisa.tensor_tensor(dst=y_tile, data1=x_tile, data2=gate, op=nl.multiply)", WRONG)
        return "Fixed the partition count:\n```python\n" + code + "```"
    if "## What went wrong: incorrect" in user:
        code = _code(user).replace(WRONG, "nisa.tensor_tensor(dst=y_tile, data1=x_tile, data2=gate, op=nl.multiply)")
        return "```python\n" + code + "```\nMultiply by x, not by the gate."
    if "## What went wrong" in user:
        return "I cannot fix this."
    kernel = SILU_KERNEL.format(function=_entry(user)).replace("P = 128", BROKEN)
    return "Here is a first kernel:\n```python\n" + kernel + "```"


def correct_translator(messages: list[dict]) -> str:
    """Answers the first prompt with the correct kernel."""
    return "```python\n" + SILU_KERNEL.format(function=_entry(messages[-1]["content"])) + "```"


def hopeless_translator(messages: list[dict]) -> str:
    """Never writes a kernel."""
    return "I would start by tiling the input."


def rule_breaking_translator(messages: list[dict]) -> str:
    """First a kernel that imports os (the gate refuses it), then one that also writes its result into its input
    (correct numbers, but the input changed), then the correct kernel."""
    user = messages[-1]["content"]
    kernel = SILU_KERNEL.format(function=_entry(user))
    if "## What went wrong" not in user:
        return "```python\nimport os\n" + kernel + "```"
    if "attempt 2 (repair)" not in user:
        store = "            nisa.dma_copy(dst=out[r * P:(r + 1) * P, c * TILE_F:(c + 1) * TILE_F], src=y_tile)\n"
        into_input = store.replace("dst=out[", "dst=x[")
        return "```python\n" + kernel.replace(store, store + into_input) + "```"
    return "```python\n" + kernel + "```"
