"""Choosing an imported problem's correctness shapes and checking its baseline there, with progress lines.

Correctness runs in the simulator, which is slow at full Trainium shapes (4096x8192 takes minutes per seed).
When test_nki uses the timing shapes and they are large, import-harness shrinks every dimension
(``shrink_dim``) and keeps the smallest cap at which the harness's own kernel still runs and matches the
reference; a kernel that needs its full shapes keeps them (and says so).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from autocomp.harness.source import HarnessError

# Dimension caps tried for automatic check shapes, smallest (fastest) first; 1024 leaves room for a few
# tiles of the usual sizes, so candidates with larger tiles than the baseline still fit the check shapes.
CHECK_CAPS = (1024, 2048)
NO_CHECK_SHAPES = 0  # check_cap meaning "no make_check_inputs at all" (--no-check)


def _shapes_text(problem, check: bool = True) -> str:
    return ", ".join("x".join(map(str, a.shape)) for a in problem.inputs(problem.spec.seeds[0], check=check))


def _check(problem, seeds, progress: Callable[[str], None]) -> str | None:
    """None when the baseline matches the reference on every seed, else the first failure."""
    from autocomp.suite.check import check_kernel

    for seed in seeds:
        progress(f"checking the baseline against the reference on seed {seed} ({_shapes_text(problem)})...")
        start = time.monotonic()
        try:
            failures = [c.reason for c in check_kernel(problem, seed) if not c.passed]
        except Exception as e:  # the harness kernel cannot run at these shapes (an assert, a shape error)
            failures = [f"{type(e).__name__}: {e}"]
        elapsed = time.monotonic() - start
        if elapsed > 2:
            progress(f"  seed {seed}: {'ok' if not failures else 'failed'} in {elapsed:.0f} s")
        if failures:
            return failures[0]
    return None


def choose_check_shapes(convert: Callable, wanted: bool | None, force: bool, progress: Callable[[str], None]):
    """``(ImportResult, Problem, failure or None)``; ``convert(cap, force)`` writes the problem directory.

    ``wanted``: True = small check shapes (shrunk if test_nki has none), False = timing shapes only,
    None = small check shapes only when the inputs are large.
    """
    from autocomp.problem import Problem, ProblemError

    def load(result):
        try:
            return Problem.load(result.root)
        except ProblemError as e:
            raise HarnessError(str(e)) from None

    result = convert(NO_CHECK_SHAPES if wanted is False else None, force)
    problem = load(result)
    if wanted is False or result.check_specs is not None or not (wanted or result.large):
        return result, problem, _check(problem, problem.spec.seeds, progress)
    for cap in CHECK_CAPS:
        candidate = convert(cap, True)
        if candidate.check_specs is None:
            break  # nothing above this cap: the timing shapes are the check shapes
        trial = load(candidate)
        progress(f"trying check shapes {_shapes_text(trial)} (every dimension <= {cap})")
        failure = _check(trial, trial.spec.seeds[:1], progress)
        if failure is None:
            return candidate, trial, _check(trial, trial.spec.seeds[1:], progress)
        progress(f"  the harness kernel does not pass at these shapes ({failure}); trying larger ones")
    result = convert(NO_CHECK_SHAPES, True)
    result.notes.append("no smaller shapes worked for the harness kernel: correctness runs at the full timing "
                        "shapes (slow in the simulator); write a make_check_inputs by hand to speed it up")
    problem = load(result)
    return result, problem, _check(problem, problem.spec.seeds, progress)
