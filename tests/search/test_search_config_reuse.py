"""A run's config.toml is a valid --config that reruns the run: same problem, options, seed and candidates."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.store import RunReader
from tests.fakes.search import write_problem


def _optimize(*args: str):
    res = CliRunner().invoke(app, ["optimize", *args, "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout[res.stdout.index("{"):])


def _history(run_dir: str) -> tuple[list, list]:
    with RunReader.open_readonly(run_dir) as reader:
        return [c.source_hash for c in reader.candidates()], [b.beam for b in reader.beams()]


def test_optimize_with_a_runs_config_toml_reproduces_the_run(tmp_path, problem_dir):
    runs = tmp_path / "runs"
    first = _optimize(str(problem_dir), "--agent", "knobs", "--iterations", "2", "--beam", "2", "--seed", "7",
                      "--backend", "sim", "--runs-dir", str(runs), "--workers", "2")
    config = Path(first["run_dir"]) / "config.toml"
    text = config.read_text()
    assert 'problem = "' in text and 'runs_dir = "' in text and "\nout =" not in text

    again = _optimize("--config", str(config))  # no PROBLEM: the file names it; no --runs-dir: the file does too
    assert again["run_dir"] != first["run_dir"] and Path(again["run_dir"]).parent == runs
    for key in ("problem", "agent", "evaluations", "best_latency_us", "best_candidate", "speedup"):
        assert again[key] == first[key], key
    assert _history(again["run_dir"]) == _history(first["run_dir"])
    with RunReader.open_readonly(again["run_dir"]) as reader:
        assert reader.config()["seed"] == 7 and reader.config()["search"]["beam"] == 2

    # The same problem named on the command line agrees; another problem is refused before anything runs.
    other = write_problem(tmp_path / "elsewhere", name="other_problem")
    res = CliRunner().invoke(app, ["optimize", str(other), "--config", str(config)])
    assert res.exit_code == 2, res.output
    assert "problem = " in res.output and "drop PROBLEM" in res.output and "Traceback" not in res.output
    assert len(list(runs.iterdir())) == 2


def test_a_config_without_a_problem_still_needs_one(tmp_path):
    config = tmp_path / "autocomp.toml"
    config.write_text('agent = "knobs"\n')
    res = CliRunner().invoke(app, ["optimize", "--config", str(config), "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 2 and "names no problem; give a PROBLEM" in res.output


def test_the_old_option_names_of_a_stored_run_still_load(tmp_path):
    from autocomp.search.config import build_config, read_config_file

    config = tmp_path / "config.toml"
    config.write_text('problem = "x"\nproblem_path = "/nowhere"\nout = "elsewhere"\nno_cache = true\n')
    values, identity = read_config_file(config)
    cfg = build_config(values)
    assert cfg.runs_dir == Path("elsewhere") and cfg.no_llm_cache is True
    assert identity == {"problem": "x", "problem_path": "/nowhere"}
