"""`autocomp problems list/show/new/import-harness` through the CLI, including bad input (exit 2)."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager

import pytest

from autocomp.cli._common import CliConsole
from autocomp.problem import Problem
from autocomp.suite import check_kernel
from autocomp.suite.scaffold import scaffold
from tests.fakes.problem_harnesses import PREFIX_SUM_V1


@pytest.fixture
def problems(tmp_path):
    """A problems directory with one working problem and one broken one."""
    root = tmp_path / "problems"
    scaffold("good", root)
    broken = scaffold("broken", root)
    (broken / "kernel.py").write_text("def something_else():\n    pass\n")
    return root


def test_new_creates_a_passing_problem(runner, cli, tmp_path):
    for dialect in ("v1", "v2"):
        result = runner.invoke(cli, ["problems", "new", f"demo_{dialect}", "--dir", str(tmp_path),
                                     "--dialect", dialect])
        assert result.exit_code == 0, result.output
        assert "baseline passes on seeds [0, 1, 2]" in result.stdout
        problem = Problem.load(tmp_path / f"demo_{dialect}")
        assert problem.spec.dialect == dialect and problem.spec.knobs
        assert all(c.passed for seed in problem.spec.seeds for c in check_kernel(problem, seed))
    source = (tmp_path / "demo_v2" / "kernel.py").read_text()
    assert "import nki\n" in source and "nisa.dma_copy(dst=" in source
    default = runner.invoke(cli, ["problems", "new", "demo_default", "--dir", str(tmp_path)])
    assert default.exit_code == 0, default.output
    assert Problem.load(tmp_path / "demo_default").spec.dialect == "v2"  # new problems default to the current dialect


@pytest.mark.parametrize("args, message", [
    (["bad name!"], "letters, digits"),
    (["x", "--dialect", "v9"], "dialect 'v9'"),
])
def test_new_bad_input(runner, cli, tmp_path, args, message):
    result = runner.invoke(cli, ["problems", "new", *args, "--dir", str(tmp_path)])
    assert result.exit_code == 2 and message in result.stderr


def test_new_refuses_an_existing_directory(runner, cli, problems):
    result = runner.invoke(cli, ["problems", "new", "good", "--dir", str(problems)])
    assert result.exit_code == 2 and "already exists" in result.stderr


def test_list_reports_broken_problems_and_caches_figures(runner, cli, problems):
    first = runner.invoke(cli, ["problems", "list", "--dir", str(problems), "--json"])
    assert first.exit_code == 0, first.output
    rows = {r["name"]: r for r in json.loads(first.stdout)}
    assert rows["good"]["latency_us"] > 0 and rows["good"]["shapes"] == [{"shape": [1024, 2048],
                                                                          "dtype": "float32"}] * 2
    assert "no top-level function 'broken'" in rows["broken"]["error"]
    assert first.stderr == ""  # progress is for a terminal's stderr only

    second = runner.invoke(cli, ["problems", "list", "--dir", str(problems)])
    assert second.exit_code == 0 and "profiling" not in second.stderr  # served from the cache
    good = next(line for line in second.stdout.splitlines() if " good " in line)
    assert f"{rows['good']['latency_us']:.1f}" in good and "1024x2048 float32" in good
    assert "invalid" in next(line for line in second.stdout.splitlines() if " broken " in line)


@pytest.fixture
def progress_calls(monkeypatch, tmp_path):
    """The messages `problems list` shows on a terminal, recorded; baselines measured in a cache of this test's."""
    monkeypatch.setenv("AUTOCOMP_CACHE_DIR", str(tmp_path / "cache"))
    calls: list[str] = []

    @contextmanager
    def recording_status_line(quiet=False):
        yield calls.append

    monkeypatch.setattr("autocomp.cli.problems.status_line", recording_status_line)
    return calls


def test_list_shows_progress_per_uncached_baseline(runner, cli, problems, progress_calls):
    scaffold("other", problems)
    first = runner.invoke(cli, ["problems", "list", "--dir", str(problems), "--json"])
    assert first.exit_code == 0, first.output
    assert progress_calls == ["measuring baselines 1/2: good", "measuring baselines 2/2: other"]  # not the broken one
    progress_calls.clear()
    assert runner.invoke(cli, ["problems", "list", "--dir", str(problems)]).exit_code == 0
    assert progress_calls == []  # every baseline is cached now
    assert runner.invoke(cli, ["problems", "list", "--dir", str(problems), "--refresh"]).exit_code == 0
    assert progress_calls == ["measuring baselines 1/2: good", "measuring baselines 2/2: other"]


@pytest.mark.parametrize("quiet", [False, True])
def test_list_progress_is_one_transient_line_on_a_terminal_and_quiet_silences_it(runner, cli, problems, tmp_path,
                                                                                 monkeypatch, quiet):
    monkeypatch.setenv("AUTOCOMP_CACHE_DIR", str(tmp_path / "cache"))
    screen = io.StringIO()
    monkeypatch.setattr("autocomp.cli._common.err_console", CliConsole(file=screen, force_terminal=True, width=100))
    result = runner.invoke(cli, ["problems", "list", "--dir", str(problems), "--json", *(["-q"] if quiet else [])])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)  # stdout holds the JSON alone
    assert ("measuring baselines 1/1: good" in screen.getvalue()) is not quiet


def test_list_takes_the_directory_from_the_environment(runner, cli, problems):
    result = runner.invoke(cli, ["problems", "list", "--json"], env={"AUTOCOMP_PROBLEMS": str(problems)})
    assert result.exit_code == 0 and {r["name"] for r in json.loads(result.stdout)} == {"good", "broken"}


def test_list_missing_directory(runner, cli, tmp_path):
    result = runner.invoke(cli, ["problems", "list", "--dir", str(tmp_path / "absent")])
    assert result.exit_code == 2 and "no such problems directory" in result.stderr


def test_show_by_name_and_by_path(runner, cli, problems):
    result = runner.invoke(cli, ["problems", "show", "good", "--dir", str(problems)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in ("Scaled residual add", "function   good", "v2 (nki)", "seeds      0, 1, 2",
                     "rel-L2 <= 1e-05", "TILE_F in 256, 512, 1024, 2048  (baseline 512)", "space: 4 combinations",
                     "x: 1024x2048 float32  (timing)", "x: 256x2048 float32  (correctness check)", "µs on trn1",
                     "% of roofline", "engine utilisation", str(problems / "good" / "kernel.py")):
        assert expected in out, expected
    by_path = runner.invoke(cli, ["problems", "show", str(problems / "good"), "--json"])
    info = json.loads(by_path.stdout)
    assert info["knob_space_size"] == 4 and info["baseline"]["latency_us"] > 0 and info["check_shapes"]


def test_show_bad_input(runner, cli, problems):
    missing = runner.invoke(cli, ["problems", "show", "nope", "--dir", str(problems)])
    assert missing.exit_code == 2 and "nope: no such problem" in missing.stderr and "good" in missing.stderr
    broken = runner.invoke(cli, ["problems", "show", "broken", "--dir", str(problems)])
    assert broken.exit_code == 2 and "no top-level function 'broken'" in broken.stderr


def test_import_harness(runner, cli, tmp_path):
    harness = tmp_path / "4_prefix_sum_test.py"
    harness.write_text(PREFIX_SUM_V1)
    result = runner.invoke(cli, ["problems", "import-harness", str(harness), "--dir", str(tmp_path / "problems")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "function row_prefix_sum (v1)" in text
    assert "passes the evaluator's gate and its reference on seeds [0, 1, 2] at check shapes 200x250" in text
    shown = runner.invoke(cli, ["problems", "show", "prefix_sum", "--dir", str(tmp_path / "problems")])
    assert shown.exit_code == 0 and "x: 2048x1024 float32  (timing)" in shown.stdout


def test_import_harness_bad_input(runner, cli, tmp_path):
    plain = tmp_path / "plain.py"
    plain.write_text("print('hello')\n")
    result = runner.invoke(cli, ["problems", "import-harness", str(plain), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "not an Autocomp-style harness" in result.stderr
    assert not (tmp_path / "out").exists()
    missing = runner.invoke(cli, ["problems", "import-harness", str(tmp_path / "absent.py")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    harness = tmp_path / "prefix_test.py"
    harness.write_text(PREFIX_SUM_V1)
    target = runner.invoke(cli, ["problems", "import-harness", str(harness), "--target", "trn9"])
    assert target.exit_code == 2 and "unknown target 'trn9'" in target.stderr
