"""One CLI voice: --version, -h everywhere, --json listings, the runs directory's one name (and $AUTOCOMP_RUNS) in
every command and printed hint, a dry run that says a key is missing, SIGTERM named as such, output that does
not wrap when piped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.store import RunReader
from tests.fakes import child_env
from tests.fakes.search import write_problem

DRIVER = [sys.executable, "-m", "tests.fakes.crash_driver", "optimize"]


def invoke(*args: str, **env: str):
    return CliRunner().invoke(app, list(args), env=env or None)


def _commands(group, path: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        yield (*path, name)
        if hasattr(cmd, "commands"):  # a group (typer may vendor its own click)
            yield from _commands(cmd, (*path, name))


def test_version_and_h_on_every_command():
    res = invoke("--version")
    assert res.exit_code == 0 and res.output.startswith("autocomp ")
    commands = list(_commands(get_command(app)))
    assert ("runs", "list") in commands and ("optimize",) in commands
    for path in commands:
        res = invoke(*path, "-h")
        assert res.exit_code == 0 and "Usage:" in res.output, path


@pytest.fixture(scope="module")
def knob_run(tmp_path_factory) -> tuple[Path, dict]:
    """A small knob run in a runs directory that is not ./runs."""
    root = tmp_path_factory.mktemp("voice")
    problem = write_problem(root / "problems")
    runs = root / "my runs"
    res = CliRunner().invoke(app, ["optimize", str(problem), "--agent", "knobs", "--iterations", "1", "--runs-dir",
                                   str(runs), "--workers", "2", "--backend", "sim"])
    assert res.exit_code == 0, res.output
    return runs, {"output": res.output}


def test_printed_hints_name_a_runs_dir_that_is_not_the_default_and_work_when_copied(knob_run):
    runs, first = knob_run
    hint = next(line for line in first["output"].splitlines() if "report: autocomp report" in line)
    command = hint[hint.index("autocomp report") + len("autocomp "):].rstrip(")")
    assert "--runs-dir" in command
    import shlex

    args = shlex.split(command) + ["-o", str(runs.parent / "copied.html"), "--no-reprofile"]
    res = invoke(*args)
    assert res.exit_code == 0, res.output
    assert (runs.parent / "copied.html").is_file()


def test_listings_take_json_and_the_runs_dir_comes_from_autocomp_runs(knob_run):
    runs, _ = knob_run
    res = invoke("runs", "list", "--json", AUTOCOMP_RUNS=str(runs))
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert row["problem"] == "scale_add" and row["status"] == "finished" and row["best_speedup"] > 1
    shown = invoke("runs", "show", row["run_id"], "--json", "--runs-dir", str(runs))
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["run_id"] == row["run_id"] and data["best"]["id"] == data["lineage"][-1]["id"]
    assert data["counts"]["evaluations"] >= 2 and data["beams"]
    missing = invoke("runs", "show", "nope", "--json", "--runs-dir", str(runs))
    assert missing.exit_code == 2 and "error" in json.loads(missing.stdout)
    assert invoke("runs", "list", "--dir", str(runs)).exit_code == 0  # the old name still works


def test_piped_output_is_not_wrapped_and_has_no_colour(knob_run, tmp_path):
    runs, _ = knob_run
    env = child_env({**os.environ, "NO_COLOR": "1", "AUTOCOMP_RUNS": str(runs)})
    out = subprocess.run([sys.executable, "-m", "autocomp.cli", "runs", "show", "scale_add"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "\x1b[" not in out.stdout
    long_lines = [line for line in out.stdout.splitlines() if len(line) > 80]
    assert long_lines  # the LLM-spend-free run still has a header longer than 80 columns, kept on one line
    assert "candidates" in out.stdout.splitlines()[1]


def test_dry_run_says_when_the_api_key_is_missing(tmp_path):
    problem = write_problem(tmp_path / "problems")
    env = {"ANTHROPIC_API_KEY": ""}
    res = invoke("optimize", str(problem), "--model", "anthropic:claude-sonnet-4-5", "--dry-run", **env)
    assert res.exit_code == 0, res.output
    assert "API key missing" in res.output and "$ANTHROPIC_API_KEY" in res.output
    res = invoke("optimize", str(problem), "--model", "anthropic:claude-sonnet-4-5", "--dry-run",
                 ANTHROPIC_API_KEY="test-key-not-used")
    assert res.exit_code == 0 and "API key missing" not in res.output


def test_misspelt_values_get_a_suggestion(tmp_path):
    problem = write_problem(tmp_path / "problems")
    res = invoke("optimize", str(problem), "--backend", "simm", "--dry-run")
    assert res.exit_code == 2 and "did you mean sim?" in res.output
    res = invoke("optimize", str(problem), "--target", "trn22", "--dry-run")
    assert res.exit_code == 2 and "did you mean trn2?" in res.output and "Value error" not in res.output
    res = invoke("optimize", str(problem), "--model", "antropic:x", "--dry-run")
    assert res.exit_code == 2 and "Did you mean 'anthropic'?" in res.output


def test_sigterm_is_reported_as_sigterm_and_the_run_resumes(tmp_path):
    problem = write_problem(tmp_path / "problems")
    runs = tmp_path / "runs"
    env = child_env({**{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
                     "AUTOCOMP_CACHE_DIR": str(tmp_path / "cache"), "CRASH_STALL_AFTER": "2"})
    proc = subprocess.Popen([*DRIVER, str(problem), "--agent", "knobs", "--runs-dir", str(runs), "--workers", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180  # a guard against a hung test only
        while time.monotonic() < deadline and proc.poll() is None:
            dbs = [p for p in runs.glob("*/run.sqlite") if not p.parent.name.startswith(".")]
            if dbs:
                with RunReader.open_readonly(dbs[0].parent) as reader:
                    if len(reader.evaluations()) >= 2:
                        break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "SIGTERM" in out and "Ctrl-C" not in out + err
    with RunReader.open_readonly(dbs[0].parent) as reader:
        assert reader.info.status == "interrupted" and "stopped by SIGTERM" in reader.info.status_reason
    assert f"--resume {dbs[0].parent.name} --runs-dir" in out  # the copied hint finds the run


def test_optimize_out_is_not_the_runs_dir_and_says_what_to_give(tmp_path):
    # --out names what a command writes; the runs directory is --runs-dir everywhere, even where --out once was.
    problem = write_problem(tmp_path / "problems")
    runs = tmp_path / "runs"
    res = invoke("optimize", str(problem), "--agent", "knobs", "--out", str(runs))
    assert res.exit_code == 2 and f"--runs-dir {runs}" in res.stderr and "Traceback" not in res.output
    assert not runs.exists()
    res = invoke("optimize", str(problem), "--out", str(runs), "--json")
    assert res.exit_code == 2 and "--runs-dir" in json.loads(res.stdout)["error"]
    assert "--out" not in invoke("optimize", "-h").output
