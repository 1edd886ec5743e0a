"""Check-shapes problems end to end: the work-scaling review compares computation, never bytes moved, and a
failing run names the seed and the input shapes it failed at."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocomp.evaluate import Evaluator
from autocomp.evaluate.assert_values import describe_assert
from autocomp.evaluate.result import FLAG_WORK_SCALING
from tests.fakes.eval_support import kernel_source, problem

EW_KERNEL = '''import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def scale_shift(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        {body}
    return out
'''
STORE = "nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, 2.0), 1.0))"
ASSERTS = EW_KERNEL.replace("    out = nl.ndarray", "    F = a.shape[1]\n    assert a.shape[1] % 512 == 0 and F > 0\n"
                                                  "    out = nl.ndarray").format(body=STORE)
# An NKI error only at the timed shapes: a 129-row load when the kernel sees more than 256 rows.
TIMING_ERROR = EW_KERNEL.format(body="if a.shape[0] > 256:\n            x = nl.load(a[i * 128:(i + 1) * 128 + 1, :])\n"
                                     "        " + STORE)
WRONG = EW_KERNEL.format(body=STORE.replace("1.0))", "1.5))"))


@pytest.fixture(scope="module")
def ev(tmp_path_factory) -> Evaluator:
    return Evaluator("sim", workers=2, cache=False, cache_dir=tmp_path_factory.mktemp("cache"), timeout_s=120)


@pytest.fixture(scope="module")
def mm(ev):
    p = problem("mm_check")
    names = ["honest/mm_resident_lhsT.py", "honest/mm_rhs_read_once.py", "kernels/shape_cheat_short_k.py"]
    results = ev.evaluate_many(p, [kernel_source(n) for n in names])
    return ev.baseline(p), dict(zip(names, results))


def test_operand_reuse_passes_without_the_review_flag(mm):
    base, results = mm
    base_dma = base.profile["dma_transfer_total_bytes"]
    for name, limit in (("honest/mm_resident_lhsT.py", 0.3), ("honest/mm_rhs_read_once.py", 0.5)):
        r = results[name]
        assert r.status == "correct", r.reason
        assert FLAG_WORK_SCALING not in r.flags
        # The reuse is real: at the timed shapes it moves a fraction of the baseline's bytes (its DMA growth is under
        # a quarter, resp. half, of the baseline's: a bytes-moved review refused the first and flagged the second),
        # while its computation grows exactly as the baseline's.
        assert r.profile["dma_transfer_total_bytes"] < limit * base_dma
        assert r.work_scaling["compute"] == pytest.approx(base.work_scaling["compute"])
        assert r.work_scaling["output"] == pytest.approx(32.0)  # [128, 512] checked, [512, 4096] timed


def test_skipping_matmuls_at_the_timed_shapes_is_still_refused(mm, ev):
    _, results = mm
    r = results["kernels/shape_cheat_short_k.py"]
    assert r.status == "rejected" and "special-case the timed shapes" in r.reason
    assert "compute (matmul MACs and engine elements) grows 16.1x where the baseline's grows" in r.reason
    copy = ev.evaluate(problem("ew_check"), kernel_source("kernels/shape_cheat_copy.py"))
    assert copy.status == "rejected" and copy.work_scaling["compute"] == 0.0


def test_a_failing_assert_names_its_values_the_seed_and_the_check_shapes(ev):
    r = ev.evaluate(problem("ew_check"), ASSERTS)
    assert r.status == "compile_error"
    assert r.reason.startswith("kernel.py:8: AssertionError: assert a.shape[1] % 512 == 0 and F > 0 "
                               "(a.shape=(256, 128), F=128)"), r.reason
    assert r.reason.endswith("on seed 0 at the check shapes a[256, 128] float32")
    assert r.failure_at == {"seed": 0, "run": "check", "shapes": {"a": "[256, 128] float32"}}


def test_an_nki_error_at_the_timing_shapes_names_them(ev):
    r = ev.evaluate(problem("ew_check"), TIMING_ERROR)
    assert r.status == "compile_error" and "129 partitions" in r.reason
    assert r.reason.endswith("in the timing run at the timing shapes a[2048, 512] float32")
    assert r.failure_at == {"seed": None, "run": "timing", "shapes": {"a": "[2048, 512] float32"}}


def test_a_wrong_output_names_the_seed_and_shapes(ev):
    r = ev.evaluate(problem("ew_check"), WRONG)
    assert r.status == "incorrect"
    assert r.reason.endswith("on seed 0 at the check shapes a[256, 128] float32")
    assert r.failure_at["run"] == "check" and r.failure_at["seed"] == 0


def test_assert_values_are_read_without_running_candidate_code(tmp_path: Path):
    path = tmp_path / "kernel.py"
    path.write_text("class Sneaky:\n"
                    "    ran = []\n"
                    "    @property\n"
                    "    def size(self):\n"
                    "        Sneaky.ran.append(1)\n"
                    "        return 7\n"
                    "\n"
                    "def kernel(a, s):\n"
                    "    n = len(a)\n"
                    "    assert n % 512 == 0 and s.size > a.ndim and helper(a), 'need 512'\n"
                    "\n"
                    "def helper(a):\n"
                    "    return False\n")
    scope: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), scope)
    import numpy as np

    try:
        scope["kernel"](np.zeros((384, 2)), scope["Sneaky"]())
    except AssertionError as e:
        text = describe_assert(e, path)
    assert text == "assert n % 512 == 0 and s.size > a.ndim and helper(a) (n=384, a.ndim=2)"
    assert scope["Sneaky"].ran == []  # the property was never evaluated
    assert describe_assert(ValueError("x"), path) is None
