"""`autocomp eval` through the CLI: one JSON object with --json, readable panels otherwise, exit codes."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from tests.fakes.eval_support import ADVERSARIAL, PROBLEMS

HONEST = str(ADVERSARIAL / "honest" / "muladd_isa.py")
PARTIAL = str(ADVERSARIAL / "kernels" / "partial_output.py")
PROBLEM = str(PROBLEMS / "ew_muladd")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_json_is_exactly_one_object(runner):
    result = runner.invoke(app, ["eval", PROBLEM, HONEST, "--json", "--no-cache"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "correct" and data["evidence"] == "sim" and data["latency_us"] > 0
    assert {"reason", "max_abs", "rel_l2", "errors", "profile", "speedup", "flags", "tool_version"} <= set(data)
    assert data["profile"]["total_time"] == pytest.approx(data["latency_us"] * 1e-6)


def test_a_failing_candidate_exits_1_with_its_reason(runner):
    result = runner.invoke(app, ["eval", PROBLEM, PARTIAL, "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["status"] == "incorrect" and "never written" in data["reason"]


def test_several_kernels_and_the_panel(runner):
    result = runner.invoke(app, ["eval", PROBLEM, HONEST, PARTIAL, "--json", "--workers", "2"])
    assert result.exit_code == 1
    assert [r["status"] for r in json.loads(result.stdout)["results"]] == ["correct", "incorrect"]
    panel = runner.invoke(app, ["eval", PROBLEM, HONEST])
    assert panel.exit_code == 0 and "correct" in panel.stdout and "latency" in panel.stdout


def test_problems_are_found_by_name_under_problems(runner, tmp_path, monkeypatch):
    shutil.copytree(PROBLEMS / "ew_muladd", tmp_path / "problems" / "ew_muladd")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["eval", "ew_muladd", HONEST, "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["problem"] == "ew_muladd"


def test_problems_are_found_by_name_in_autocomp_problems_before_problems(runner, tmp_path, monkeypatch):
    shutil.copytree(PROBLEMS / "ew_muladd", tmp_path / "mine" / "ew_muladd")
    (tmp_path / "problems").mkdir()  # an empty ./problems is searched after $AUTOCOMP_PROBLEMS
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTOCOMP_PROBLEMS", str(tmp_path / "mine"))
    result = runner.invoke(app, ["eval", "ew_muladd", HONEST, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["problem"] == "ew_muladd"
    missing = runner.invoke(app, ["eval", "ew_mulad", HONEST])
    assert missing.exit_code == 2 and "did you mean ew_muladd?" in missing.output
    assert f"$AUTOCOMP_PROBLEMS {tmp_path / 'mine'}" in " ".join(missing.output.split())


@pytest.mark.parametrize("args, message", [
    (["no_such_problem", HONEST], "no_such_problem: no such problem; looked for no_such_problem/problem.toml in"),
    ([PROBLEM, "missing.py"], "missing.py: no such kernel file"),
    ([PROBLEM, HONEST, "--backend", "gpu"], "--backend 'gpu'"),
    ([PROBLEM, HONEST, "--target", "trn9"], "unknown target"),
    ([PROBLEM, HONEST, "--backend", "neuron"], "not available"),
])
def test_bad_input_exits_2_with_one_line(runner, args, message):
    result = runner.invoke(app, ["eval", *args])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("error:") == 1


def _latin1_kernel(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_bytes(b"import neuronxcc.nki as nki\n# caf\xe9 (Latin-1, not UTF-8)\n")
    return bad


@pytest.mark.parametrize("extra, message", [
    (["--timeout", "-1"], "--timeout -1: give a positive number of seconds"),
    (["--timeout", "0"], "--timeout 0: give a positive number of seconds"),
    (["--timeout", "nan"], "--timeout nan: give a positive number of seconds"),
    (["--timeout", "inf"], "--timeout inf: give a positive number of seconds"),
    (["--timeout", "1e12"], "at most 86400 s"),
])
def test_absurd_timeouts_are_refused_before_any_work(runner, extra, message):
    result = runner.invoke(app, ["eval", PROBLEM, HONEST, *extra])
    assert result.exit_code == 2 and message in result.output and result.output.count("error:") == 1


def test_bad_kernel_files_name_the_file_and_line(runner, tmp_path):
    result = runner.invoke(app, ["eval", PROBLEM, str(_latin1_kernel(tmp_path))])
    assert result.exit_code == 2 and result.output.count("error:") == 1
    assert "bad.py:2: not UTF-8 text (byte 0xe9 at column 6)" in result.output
    result = runner.invoke(app, ["eval", PROBLEM, str(tmp_path)])
    assert result.exit_code == 2 and "is a directory, not a kernel file" in result.output


def test_json_errors_are_one_json_object_on_stdout(runner, tmp_path):
    for args in (["eval", PROBLEM, str(_latin1_kernel(tmp_path)), "--json"],
                 ["eval", PROBLEM, HONEST, "--timeout", "-5", "--json"],
                 ["eval", "no_such_problem", HONEST, "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        error = json.loads(result.stdout)
        assert set(error) == {"error", "code"} and error["code"] == 2 and error["error"]
    plain = runner.invoke(app, ["eval", PROBLEM, HONEST, "--timeout", "-5"])  # --json does not stick
    assert plain.stdout == "" and "error:" in plain.output
