"""Every cheating or broken kernel in kernels/ is refused with the right status and reason; every honest
kernel in honest/ passes, so the suite cannot pass by refusing everything.

Each file states its expectation in its docstring: PROBLEM (a test problem), EXPECT (status), REASON (a
substring of the reason) and optionally ``GATE: off`` to show the sandbox and the parent's checks catch the
cheat without the static gate's help.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autocomp.evaluate import Evaluator
from tests.fakes.eval_support import kernel_meta, problem

HERE = Path(__file__).parent
CHEATS = sorted((HERE / "kernels").glob("*.py"))
HONEST = sorted((HERE / "honest").glob("*.py"))
FILES = CHEATS + HONEST
SECRET = "sk-ant-test-0123456789"
TIMEOUT_S = 60.0  # honest work (baselines, honest kernels): generous, so a machine with every core busy passes
# Kernels that never end (EXPECT: timeout) get status timeout at any limit, however busy the machine (a worker
# killed at the limit is a timeout wherever it was, even still starting): a short one spares the suite a core
# spinning.
NEVER_ENDS_TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, object]:
    """All files evaluated as two batches (gate on / gate off), in parallel, the way the search loop does."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AUTOCOMP_TEST_SECRET", SECRET)
    mp.setenv("ANTHROPIC_API_KEY", SECRET)
    cache = tmp_path_factory.mktemp("adversarial-cache")
    out: dict[str, object] = {}
    # One evaluator for both batches: the gate never looks at a baseline, so each is measured once.
    ev = Evaluator("sim", workers=2, cache=False, cache_dir=cache, timeout_s=TIMEOUT_S, memory_mb=1024)
    try:
        for gate in (True, False):
            ev.static_gate = gate
            batch = [(f, f.read_text()) for f in FILES if (kernel_meta(f.read_text()).get("GATE") != "off") == gate]
            by_problem: dict[str, list] = {}
            for f, src in batch:
                by_problem.setdefault(kernel_meta(src)["PROBLEM"], []).append((f, src))
            for name, items in by_problem.items():
                ends = [(f, s) for f, s in items if kernel_meta(s)["EXPECT"] != "timeout"]
                never_ends = [(f, s) for f, s in items if kernel_meta(s)["EXPECT"] == "timeout"]
                out.update(_evaluate(ev, name, ends))
                if never_ends:
                    ev.baseline(problem(name))  # measured at the generous limit before it is lowered
                    ev.timeout_s = NEVER_ENDS_TIMEOUT_S
                    out.update(_evaluate(ev, name, never_ends))
                    ev.timeout_s = TIMEOUT_S
    finally:
        ev.close()
        mp.undo()
    return out


def _evaluate(ev: Evaluator, name: str, items: list[tuple[Path, str]]) -> dict[str, object]:
    evaluated = ev.evaluate_many(problem(name), [s for _, s in items], filenames=[f.name for f, _ in items])
    return {f.name: r for (f, _), r in zip(items, evaluated)}


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


# Attacks on the static gate's allow-list (issue #20): each is refused by the gate itself, before any input is
# made or any process started, with a reason naming the file and the line.
GATE_ATTACKS = ["annotation_get_type_hints", "annotation_forward_ref", "annotation_eager_call", "frame_sys_getframe",
                "frame_generator", "frame_traceback", "function_globals", "getattr_dunder_pieces", "type_builds_class",
                "module_dict_alias_cache", "global_counter", "object_setattr", "foreign_decorator", "import_importlib",
                "dunder_import", "simulator_table_patch", "class_state", "class_method_on_module",
                "dataclass_default_call", "method_writes_other_object", "class_level_cache", "getattr_dunder_via_dtype"]


@pytest.mark.parametrize("name", GATE_ATTACKS)
def test_allow_list_attacks_are_refused_before_anything_runs(name: str, results):
    result = results[f"{name}.py"]
    assert result.status == "rejected", result.reason
    assert result.location is not None and result.reason.startswith(f"{name}.py:{result.location.line}: ")
    assert "gate" in result.timings and "inputs" not in result.timings


def test_a_simulator_warning_is_reported_as_a_warning_not_as_tampering(results):
    r = results["spill_warning.py"]
    assert r.status == "correct", r.reason
    assert any("[warn_sbuf_spill]" in w for w in r.warnings) and "modified" not in r.reason


def test_a_candidate_that_takes_over_the_worker_gets_no_latency(results):
    """Past the gate, wrapping the backend's methods, making the recorder drop instructions or editing the trace
    the backend keeps: refused every time, so no lowered latency reaches the search."""
    for name in ("backend_wrap_nogate.py", "recorder_drops_compute_nogate.py", "stored_trace_edit_nogate.py"):
        assert results[name].status == "rejected" and results[name].latency_us is None, results[name].reason
