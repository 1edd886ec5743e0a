"""Problems over several declared shapes: the spec, the per-shape views, the combined verdict and score
(docs/evaluation.md#problems-over-several-shapes)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from autocomp.evaluate import Evaluator
from autocomp.evaluate.multishape import combine, weighted_geomean
from autocomp.evaluate.result import FLAG_SHAPE_REGRESSION, EvalResult
from autocomp.problem import Problem, ProblemError
from tests.fakes.eval_support import PROBLEMS, problem

TILE = "        z = nl.ndarray((128, a.shape[1]), dtype=a.dtype, buffer=nl.sbuf)\n"
ADD = "        nisa.tensor_tensor(dst=z, data1=x, data2=y, op=nl.add)\n"


def _kernel(extra: str = "", op: str = "nl.add") -> str:
    src = (PROBLEMS / "multi_add" / "kernel.py").read_text()
    assert ADD in src
    return src.replace(ADD, ADD.replace("nl.add", op) + extra)


# Right at 128 rows, wrong (a - b) wherever the kernel sees more rows.
WRONG_AT_512 = _kernel("        if a.shape[0] > 128:\n"
                       "            nisa.tensor_tensor(dst=z, data1=x, data2=y, op=nl.subtract)\n")
# Same answer, but eight redundant adds at 128 rows: slower there, as fast as the baseline at 512 rows.
SLOW_AT_128 = _kernel("        if a.shape[0] == 128:\n"
                      "            for _ in nl.sequential_range(8):\n"
                      "                nisa.tensor_tensor(dst=z, data1=x, data2=y, op=nl.add)\n")


# ---------------------------------------------------------------- the spec
def _copy(tmp_path: Path, toml_tail: str = "", toml_replace: tuple[str, str] | None = None) -> Path:
    root = tmp_path / "multi_add"
    shutil.copytree(PROBLEMS / "multi_add", root)
    toml = (root / "problem.toml").read_text()
    if toml_replace:
        toml = toml.replace(*toml_replace)
    (root / "problem.toml").write_text(toml + toml_tail)
    return root


def test_shapes_load_with_names_weights_and_params():
    p = problem("multi_add")
    assert [(s.name, s.weight, s.params) for s in p.shapes] == [("rows128", 1.0, {"rows": 128}),
                                                                ("rows512", 3.0, {"rows": 512})]
    view = p.at_shape("rows512")
    assert view.shapes == [] and view.shape.name == "rows512"
    assert view.inputs(0)[0].shape == (512, 256)
    assert p.at_shape("rows128").inputs(0)[0].shape == (128, 256)
    assert p.inputs(0)[0].shape == (128, 256)  # single-shape tools see the first (primary) shape
    assert len({p.content_hash, view.content_hash, p.at_shape("rows128").content_hash}) == 3
    assert p.describe()["shapes"][1]["params"] == {"rows": 512}
    with pytest.raises(ProblemError, match="no shape 'rows9'.*rows128, rows512"):
        p.at_shape("rows9")


@pytest.mark.parametrize("tail, replace, message", [
    ('\n[[shapes]]\nname = "rows128"\nparams = { rows = 256 }\n', None, "'rows128' is declared twice"),
    ("", ("weight = 3", "weight = 0"), r"shapes\.1\.weight"),
    ("", ("weight = 3", "wieght = 3"), "unknown key 'shapes.1.wieght': did you mean 'weight'"),
    ("", ("params = { rows = 512 }", "params = { cols = 512 }"), "does not accept the params of shape 'rows512'"),
    ("", ('name = "rows512"', 'name = "rows 512"'), r"shapes\.1\.name"),
])
def test_bad_shape_declarations_name_the_file_and_the_fix(tmp_path, tail, replace, message):
    root = _copy(tmp_path, tail, replace)
    with pytest.raises(ProblemError, match=message) as e:
        Problem.load(root)
    assert str(root) in str(e.value)


def test_a_shape_whose_inputs_fail_is_named(tmp_path):
    root = _copy(tmp_path, toml_replace=("params = { rows = 512 }", "params = { rows = -1 }"))
    with pytest.raises(ProblemError, match="at shape rows512 failed"):
        Problem.load(root)


# ---------------------------------------------------------------- the score
def test_weighted_geomean():
    assert weighted_geomean([2.0, 8.0], [1, 1]) == pytest.approx(4.0)
    assert weighted_geomean([2.0, 8.0], [1, 3]) == pytest.approx(math.exp((math.log(2) + 3 * math.log(8)) / 4))
    assert weighted_geomean([5.0], [0.5]) == pytest.approx(5.0)
    for values, weights in (([], []), ([1.0], [1, 2]), ([0.0, 1.0], [1, 1]), ([1.0], [0])):
        with pytest.raises(ValueError):
            weighted_geomean(values, weights)


def _shape_result(latency: float, baseline: float, **kw) -> EvalResult:
    return EvalResult(status="correct", reason="ok", latency_us=latency, baseline_latency_us=baseline,
                      speedup=baseline / latency, seeds=[0, 1, 2], **kw)


def test_combine_scores_by_weighted_geomeans_and_flags_a_slower_shape():
    p = problem("multi_add")
    small, large = p.shapes
    out = combine(p, [(small, _shape_result(12.0, 10.0)), (large, _shape_result(20.0, 40.0))])
    assert out.latency_us == pytest.approx(weighted_geomean([12.0, 20.0], [1, 3]))
    assert out.baseline_latency_us == pytest.approx(weighted_geomean([10.0, 40.0], [1, 3]))
    assert out.speedup == pytest.approx(weighted_geomean([10 / 12, 2.0], [1, 3]))
    assert out.regressed_shapes == ["rows128"] and FLAG_SHAPE_REGRESSION in out.flags
    assert [s.name for s in out.shapes] == ["rows128", "rows512"] and out.shapes[1].speedup == pytest.approx(2.0)
    assert "slower than the baseline at rows128" in out.reason and out.problem_hash == p.content_hash
    even = combine(p, [(small, _shape_result(10.0, 10.0)), (large, _shape_result(20.0, 40.0))])
    assert even.regressed_shapes == [] and FLAG_SHAPE_REGRESSION not in even.flags


# ---------------------------------------------------------------- end to end in the simulator
@pytest.fixture(scope="module")
def ev(tmp_path_factory) -> Evaluator:
    return Evaluator("sim", workers=2, cache=False, cache_dir=tmp_path_factory.mktemp("cache"), timeout_s=120)


@pytest.fixture(scope="module")
def judged(ev):
    p = problem("multi_add")
    sources = {"baseline": p.baseline_source, "wrong": WRONG_AT_512, "slow": SLOW_AT_128}
    results = ev.evaluate_many(p, list(sources.values()))
    return ev.baseline(p), dict(zip(sources, results))


def test_baseline_is_measured_at_every_shape(judged):
    base, _ = judged
    assert base.status == "correct", base.reason
    assert [s.name for s in base.shapes] == ["rows128", "rows512"]
    small, large = (s.latency_us for s in base.shapes)
    assert 0 < small < large
    assert base.latency_us == pytest.approx(weighted_geomean([small, large], [1, 3]))
    assert base.speedup is None and base.regressed_shapes == []


def test_the_baseline_source_scores_as_the_baseline(judged):
    base, results = judged
    same = results["baseline"]
    assert same.status == "correct" and same.speedup == pytest.approx(1.0)
    assert same.regressed_shapes == [] and all(s.speedup == pytest.approx(1.0) for s in same.shapes)


def test_a_kernel_wrong_at_one_shape_is_incorrect_naming_it(judged):
    _, results = judged
    wrong = results["wrong"]
    assert wrong.status == "incorrect"
    assert wrong.reason.startswith("at shape rows512 (rows=512): ")
    assert wrong.failure_at["shape"] == "rows512"
    assert [(s.name, s.status) for s in wrong.shapes] == [("rows128", "correct"), ("rows512", "incorrect")]
    assert wrong.latency_us is None and wrong.speedup is None
    assert any(e.shape == "rows512" and not e.passed for e in wrong.errors)


def test_a_kernel_slower_at_one_shape_is_flagged(judged):
    _, results = judged
    slow = results["slow"]
    assert slow.status == "correct", slow.reason
    assert slow.regressed_shapes == ["rows128"] and FLAG_SHAPE_REGRESSION in slow.flags
    small, large = slow.shapes
    assert small.speedup < 0.99 and large.speedup == pytest.approx(1.0)
    assert slow.speedup == pytest.approx(weighted_geomean([small.speedup, large.speedup], [1, 3]))


def test_the_win_verdict_weighs_every_shape(judged):
    from autocomp.store.win import win_verdict

    base, results = judged
    slow = results["slow"]
    assert all(s.estimate.get("total_time") and s.estimate.get("uncertainty") for s in slow.shapes)
    verdict = win_verdict(base.model_dump(), slow.model_dump())
    assert verdict is not None and not verdict.certain
    assert verdict.speedup == pytest.approx(slow.speedup, rel=1e-3)
    assert verdict.low < verdict.speedup < verdict.high and "2 shapes" in verdict.reason
    # a result without per-shape estimates (written before they were kept) gets no verdict, not a wrong one
    bare = slow.model_dump()
    for s in bare["shapes"]:
        s["estimate"] = {}
    assert win_verdict(base.model_dump(), bare) is None
