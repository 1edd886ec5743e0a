"""Every cheating or broken kernel in kernels/ is refused with the right status and reason; every honest
kernel in honest/ passes, so the suite cannot pass by refusing everything.

Each file states its expectation in its docstring: PROBLEM (a test problem), EXPECT (status), REASON (a
substring of the reason) and optionally ``GATE: off`` to show the sandbox and the parent's checks catch the
cheat without the static gate's help.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_support import kernel_meta, problem

from autocomp.evaluate import Evaluator

HERE = Path(__file__).parent
CHEATS = sorted((HERE / "kernels").glob("*.py"))
HONEST = sorted((HERE / "honest").glob("*.py"))
FILES = CHEATS + HONEST
SECRET = "sk-ant-test-0123456789"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, object]:
    """All files evaluated as two batches (gate on / gate off), in parallel, the way the search loop does."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AUTOCOMP_TEST_SECRET", SECRET)
    mp.setenv("ANTHROPIC_API_KEY", SECRET)
    cache = tmp_path_factory.mktemp("adversarial-cache")
    out: dict[str, object] = {}
    try:
        for gate in (True, False):
            ev = Evaluator("sim", workers=2, cache=False, cache_dir=cache, timeout_s=4, memory_mb=1024,
                           static_gate=gate)
            batch = [(f, f.read_text()) for f in FILES if (kernel_meta(f.read_text()).get("GATE") != "off") == gate]
            by_problem: dict[str, list] = {}
            for f, src in batch:
                by_problem.setdefault(kernel_meta(src)["PROBLEM"], []).append((f, src))
            for name, items in by_problem.items():
                evaluated = ev.evaluate_many(problem(name), [s for _, s in items], filenames=[f.name for f, _ in items])
                out.update({f.name: r for (f, _), r in zip(items, evaluated)})
    finally:
        mp.undo()
    return out


def test_the_suite_is_big_enough():
    assert len(CHEATS) >= 15
    assert len(HONEST) >= 3
    expected = {kernel_meta(f.read_text())["EXPECT"] for f in CHEATS}
    assert {"incorrect", "compile_error", "runtime_error", "timeout", "rejected"} <= expected


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_kernel_gets_its_verdict(path: Path, results):
    meta = kernel_meta(path.read_text())
    result = results[path.name]
    assert result.status == meta["EXPECT"], result.reason
    assert meta.get("REASON", "") in result.reason
    assert SECRET not in result.reason + result.log_tail
    if result.status == "correct":
        assert result.latency_us and result.latency_us > 0 and result.evidence == "sim"
        assert result.speedup is not None
    else:
        assert result.reason and "\n" not in result.reason


def test_gate_reasons_name_file_and_line(results):
    r = results["reads_env.py"]
    assert r.reason.startswith("reads_env.py:7: ") and r.location.line == 7
