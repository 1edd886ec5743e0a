"""Bad input anywhere on the command line: one line naming the file or value and the fix, exit 2, no traceback;
under --json one JSON error object on stdout instead."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import autocomp.store
from autocomp.cli import app, main
from autocomp.problem import Problem, ProblemError

TESTS = Path(__file__).parent.parent
MATMUL = str(TESTS / "perf" / "kernels" / "matmul_tutorial.py")
LAYERNORM = str(TESTS / "perf" / "kernels" / "layernorm_tutorial.py")
NORM_ARGS = ["--shapes", "x=300x1000:float32", "--shapes", "gamma=1x1000", "--shapes", "beta=1x1000"]
EW_MULADD = TESTS / "evaluate" / "problems" / "ew_muladd"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """The console script itself (usage errors are handled there, outside the typer app)."""
    monkeypatch.setattr(sys, "argv", ["autocomp", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def one_line(res, message: str, code: int = 2) -> None:
    assert res.exit_code == code, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], res.output


@pytest.mark.parametrize("command", ["simulate", "profile"])
@pytest.mark.parametrize("shape, message", [
    ("x=0x1000", "--shapes x=0x1000: every dimension must be at least 1"),
    ("x=1000000x1000000", "1,000,000,000,000 elements (3.6 TiB) do not fit the 32.0 GiB of HBM of a trn1 chip"),
    ("x=-3x1000", "bad shape spec"),
    ("x=abcx1000", "bad shape spec"),
])
def test_absurd_shapes_are_refused_before_tracing(command, shape, message):
    one_line(invoke(command, LAYERNORM, "-f", "layernorm_v2", "--shapes", shape, *NORM_ARGS[2:],
                    *(["--scalar", "eps=1e-5"] if command == "profile" else [])), message)


def test_shapes_that_fit_the_chip_but_not_this_machine_are_left_to_profile(monkeypatch):
    monkeypatch.setattr("autocomp.cli._inputs._physical_memory", lambda: 1 << 30)  # a 1 GiB machine
    res = invoke("simulate", LAYERNORM, "-f", "layernorm_v2", "--shapes", "x=16384x16384", *NORM_ARGS[2:])
    one_line(res, "too much to simulate with values in this machine's 1.0 GiB of memory")
    assert "autocomp profile" in res.output


@pytest.mark.parametrize("grid, message", [("0x2", "at least 1"), ("-1", "at least 1"), ("2xa", "sizes joined by x"),
                                           ("100000x100000", "10,000,000,000 programs")])
def test_bad_grids_are_refused(grid, message):
    one_line(invoke("profile", LAYERNORM, "-f", "layernorm_v2", *NORM_ARGS, "--scalar", "eps=1e-5", "--grid", grid),
             message)


@pytest.mark.parametrize("command", ["simulate", "profile"])
def test_kernel_files_that_are_not_text_or_not_files(command, tmp_path):
    bad = tmp_path / "latin1.py"
    bad.write_bytes(b"x = 1\ny = '\xe9t\xe9'\n")
    one_line(invoke(command, str(bad), "-f", "k"), "latin1.py:2: not UTF-8 text (byte 0xe9 at column 6)")
    one_line(invoke(command, str(tmp_path), "-f", "k"), "is a directory, not a kernel file")


@pytest.mark.parametrize("command", ["simulate", "profile"])
def test_a_kernel_that_fails_on_its_inputs_is_named_with_its_line(command):
    """The kernel's own code raised (here: unpacking a 3-D shape into two names): exit 1, the kernel's line."""
    res = invoke(command, MATMUL, "-f", "matmul_basic", "--shapes", "lhsT=128x128x2", "--shapes", "rhs=128x512")
    one_line(res, "matmul_tutorial.py:20: matmul_basic raised ValueError: too many values to unpack", code=1)
    one_line(invoke(command, MATMUL, "-f", "matmul_basic", "--shapes", "lhsT=128x128"),
             "no value for parameter 'rhs'")


def test_output_paths_that_are_directories(tmp_path):
    one_line(invoke("simulate", LAYERNORM, "-f", "layernorm_v2", *NORM_ARGS, "--out", str(tmp_path)),
             "is a directory")
    one_line(invoke("profile", LAYERNORM, "-f", "layernorm_v2", *NORM_ARGS, "--scalar", "eps=1e-5",
                    "--timeline", str(tmp_path)), "is a directory")


def test_usage_errors_are_one_line_or_one_json_object(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "eval", "p", "k.py", "--timeout", "soon")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "Invalid value for '--timeout'" in err and "autocomp eval --help" in err
    code, out, err = run_main(monkeypatch, capsys, "eval", "p", "k.py", "--timeout", "soon", "--json")
    error = json.loads(out)
    assert code == 2 and error["code"] == 2 and "--timeout" in error["error"] and err == ""
    code, _, err = run_main(monkeypatch, capsys, "no-such-command")
    assert code == 2 and "No such command" in err and len(err.strip().splitlines()) == 1


def test_an_unforeseen_failure_is_one_line_unless_a_traceback_is_asked_for(monkeypatch, capsys, tmp_path):
    def broken(runs_dir):
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(autocomp.store, "list_runs", broken)
    code, _, err = run_main(monkeypatch, capsys, "runs", "list", "--dir", str(tmp_path))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "RuntimeError: the disk caught fire" in err and "AUTOCOMP_TRACEBACK=1" in err
    monkeypatch.setenv("AUTOCOMP_TRACEBACK", "1")
    monkeypatch.setattr(sys, "argv", ["autocomp", "runs", "list", "--dir", str(tmp_path)])
    with pytest.raises(RuntimeError, match="the disk caught fire"):
        main()


def test_problem_files_that_are_not_utf8_or_have_absurd_timeouts(tmp_path):
    for name, change in (("kernel.py", lambda p: p.write_bytes(p.read_bytes() + b"# \xff\n")),
                         ("problem.toml", lambda p: p.write_text(p.read_text() + "\n# \xff\n", "latin-1"))):
        root = tmp_path / name.replace(".", "_")
        shutil.copytree(EW_MULADD, root)
        change(root / name)
        with pytest.raises(ProblemError, match=rf"{name}:\d+: not UTF-8 text"):
            Problem.load(root)
    for value, message in (("inf", "finite number"), ("0", "greater than 0"), ("1e9", "less than or equal to 86400")):
        root = tmp_path / f"timeout_{value}"
        shutil.copytree(EW_MULADD, root)
        toml = root / "problem.toml"
        toml.write_text(re.sub(r"(?m)^timeout_s = .*$", f"timeout_s = {value}", toml.read_text()))
        with pytest.raises(ProblemError, match=f"timeout_s: .*{message}"):
            Problem.load(root)


def test_optimize_refuses_settings_it_cannot_run_before_creating_a_run(tmp_path):
    runs = tmp_path / "runs"
    one_line(invoke("optimize", str(EW_MULADD), "--backend", "gpu", "--agent", "knobs", "--runs-dir", str(runs)),
             "--backend 'gpu': use one of")
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("")
    one_line(invoke("optimize", str(EW_MULADD), "--agent", "knobs", "--runs-dir", str(a_file)), "is a file")
    config = tmp_path / "run.toml"
    config.write_bytes(b"beam = 2 # \xe9\n")
    one_line(invoke("optimize", str(EW_MULADD), "--config", str(config), "--dry-run"), "run.toml:1: not UTF-8 text")
    config.write_text("timeout_s = inf\n")
    one_line(invoke("optimize", str(EW_MULADD), "--config", str(config), "--agent", "knobs", "--runs-dir", str(runs)),
             "timeout_s inf")
    res = invoke("optimize", str(EW_MULADD), "--backend", "gpu", "--json", "--runs-dir", str(runs))
    assert res.exit_code == 2 and json.loads(res.stdout)["error"].startswith("--backend 'gpu'")
    assert not runs.exists()  # no run directory for a run that could not start


def test_counts_and_seeds_out_of_range(tmp_path):
    one_line(invoke("eval", str(EW_MULADD), LAYERNORM, "--workers", "100000"), "at most 256 candidates in parallel")
    one_line(invoke("optimize", str(EW_MULADD), "--workers", "100000", "--dry-run"), "at most 256")
    one_line(invoke("simulate", LAYERNORM, "-f", "layernorm_v2", *NORM_ARGS, "--seed", "-1"), "--seed -1")
    a_file = tmp_path / "plain-file"
    a_file.write_text("")
    one_line(invoke("problems", "new", "fresh", "--dir", str(a_file)), "cannot create the problem there")
