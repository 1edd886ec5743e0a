"""`autocomp profile`: argument errors and one run through the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app

LAYERNORM = str(Path(__file__).parent / "kernels" / "layernorm_tutorial.py")
ARGS = ["--shapes", "x=300x1000:float32", "--shapes", "gamma=1x1000", "--shapes", "beta=1x1000",
        "--scalar", "eps=1e-5"]
runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["profile", *args])


@pytest.mark.parametrize("args,message", [
    ([LAYERNORM, "-f", "layernorm_v2", "--target", "trn9", *ARGS], "unknown target"),
    (["no_such_kernel.py", "-f", "k", *ARGS], "no such kernel file"),
    ([LAYERNORM, "-f", "missing_fn", *ARGS], "missing_fn"),
    ([LAYERNORM, "-f", "layernorm_v2", "--shapes", "x=300by1000"], "bad shape spec"),
    ([LAYERNORM, "-f", "layernorm_v2", "--shapes", "x=300x1000"], "no value for parameter 'eps'"),
    ([LAYERNORM, "-f", "layernorm_v2", *ARGS, "--shapes", "zeta=4x4"], "not parameters of layernorm_v2"),
    ([LAYERNORM, "-f", "layernorm_v2", *ARGS, "--scalar", "k"], "bad --scalar"),
])
def test_bad_arguments_fail_with_one_line_and_exit_2(args, message):
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_profile_prints_a_report_and_writes_a_timeline(tmp_path):
    html = tmp_path / "t.html"
    result = _run(LAYERNORM, "-f", "layernorm_v2", *ARGS, "--timeline", str(html))
    assert result.exit_code == 0, result.output
    assert "layernorm_v2 on trn1" in result.output and "Roofline" in result.output
    assert "<svg" in html.read_text()


def test_profile_json_is_the_summary_shape():
    result = _run(LAYERNORM, "-f", "layernorm_v2", *ARGS, "--json", "--target", "trn2")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    (fields,) = summary.values()
    assert fields["target"] == "trn2" and fields["total_time"] > 0
