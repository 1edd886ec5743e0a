"""`autocomp optimize` end to end: the real sandboxed simulator evaluator, and a fake LLM server on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.store import RunReader
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.search import scripted_openai


def invoke(*args: str):
    return CliRunner().invoke(app, ["optimize", *args], catch_exceptions=False)


def test_knob_tuner_improves_the_baseline_in_the_cost_model(tmp_path, problem_dir):
    res = invoke(str(problem_dir), "--agent", "knobs", "--runs-dir", str(tmp_path / "runs"), "--workers", "2", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{"):])
    assert out["status"] == "finished" and out["agent"] == "knobs" and out["evidence"] == "sim"
    assert out["speedup"] > 1.3 and out["revalidated"] is True and 0 < out["roofline_percent"] <= 100
    with RunReader.open_readonly(out["run_dir"]) as reader:
        best = reader.source(out["best_candidate"])
        assert "TILE_F = 512  # columns per tile" in best  # the comment survived the rewrite
        assert reader.info.status == "finished"
        assert all((reader.candidate_dir(c.id) / "eval.json").is_file() for c in reader.candidates())


SUITE = Path(__file__).resolve().parents[2] / "problems"


@pytest.mark.skipif(not (SUITE / "silu_bf16" / "problem.toml").is_file(), reason="suite problem not present")
def test_knob_tuner_improves_a_suite_problem(tmp_path):
    res = invoke("silu_bf16", "--agent", "knobs", "--iterations", "1", "--runs-dir", str(tmp_path / "runs"),
                 "--workers", "2", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{"):])
    assert out["problem"] == "silu_bf16" and out["speedup"] > 1.05 and out["evidence"] == "sim"
    assert out["best_latency_us"] < out["baseline_latency_us"] and out["revalidated"] is True


def test_auto_agent_without_a_provider_tunes_knobs_and_says_how_to_enable_the_llm(tmp_path, problem_dir):
    res = invoke(str(problem_dir), "--runs-dir", str(tmp_path / "runs"), "--iterations", "1", "--workers", "2")
    assert res.exit_code == 0, res.output
    notice = [line for line in res.output.splitlines() if line.startswith("note:")]
    assert len(notice) == 1 and "--model provider:model" in notice[0] and "ANTHROPIC_API_KEY" in notice[0]
    assert "best: candidate" in res.output and "(sim)" in res.output and "% of roofline (sim)" in res.output


def test_full_llm_run_against_a_fake_openai_compatible_server(tmp_path, problem_dir):
    with FakeLLMServer(scripted_openai) as server:
        res = invoke(str(problem_dir), "--model", "vllm:fake-coder", "--llm-base-url", server.url + "/v1",
                     "--beam", "1", "--plans", "2", "--impls", "2", "--repairs", "2", "--iterations", "1",
                     "--runs-dir", str(tmp_path / "runs"), "--workers", "2", "--json")
        requests = [r.body["messages"][-1]["content"] for r in server.requests]
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{"):])
    assert out["agent"] == "llm" and out["status"] == "finished" and out["speedup"] > 1.3
    assert out["duplicates_skipped"] >= 1 and out["llm_calls"] == len(requests)
    plans = [r for r in requests if "This is plan" in r]
    repairs = [r for r in requests if "## What went wrong" in r]
    assert len(plans) == 2 and len(repairs) == 2
    compile_fix = next(r for r in repairs if "What went wrong: compile_error" in r)
    assert "At line 15:" in compile_fix and ">>15 |" in compile_fix  # the simulator's error, with its line
    numbers_fix = next(r for r in repairs if "What went wrong: incorrect" in r)
    assert "relative L2 error" in numbers_fix and "worst at index" in numbers_fix
    with RunReader.open_readonly(out["run_dir"]) as reader:
        origins = [c.origin for c in reader.candidates()]
        assert origins.count("llm") == 2 and origins.count("repair") == 2
        statuses = {c.origin + ":" + c.status for c in reader.candidates()}
        assert {"llm:compile_error", "repair:incorrect", "repair:correct"} <= statuses
        assert "TILE_F = 512" in reader.source(out["best_candidate"])
        assert (reader.root / "llm_cache.sqlite").is_file()
        assert "fake-coder" in (reader.root / "config.toml").read_text()


def test_dry_run_prints_calls_and_dollars_and_spends_nothing(tmp_path, problem_dir):
    res = invoke(str(problem_dir), "--model", "anthropic:claude-sonnet-4-5", "--beam", "2", "--plans", "2",
                 "--impls", "3", "--iterations", "4", "--dry-run", "--runs-dir", str(tmp_path / "runs"))
    assert res.exit_code == 0, res.output
    assert "estimated LLM calls: " in res.output and "plan 16, implement 48" in res.output
    assert "estimated cost: $" in res.output and "$0.00 (" not in res.output
    assert not (tmp_path / "runs").exists()
    knobs = invoke(str(problem_dir), "--agent", "knobs", "--dry-run")
    assert "0 LLM calls, $0.00" in knobs.output


@pytest.mark.parametrize(("args", "message"), [
    (["no_such_problem"], "no_such_problem: no such problem"),
    (["--agent", "llm", "PROBLEM"], "ANTHROPIC_API_KEY is not set"),
    (["--model", "nope:x", "PROBLEM"], "Unknown LLM provider"),
    (["--beam", "0", "PROBLEM"], "beam"),
    ([], "give a PROBLEM"),
])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, problem_dir, args, message):
    args = [str(problem_dir) if a == "PROBLEM" else a for a in args]
    res = CliRunner().invoke(app, ["optimize", *args, "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing half-created


def test_config_file_values_and_unknown_keys(tmp_path, problem_dir):
    cfg = tmp_path / "autocomp.toml"
    cfg.write_text('[optimize]\nagent = "knobs"\niterations = 1\nbeem = 3\n')
    res = CliRunner().invoke(app, ["optimize", str(problem_dir), "--config", str(cfg)])
    assert res.exit_code == 2 and "[optimize]: line 4: unknown option beem; did you mean beam?" in res.output
    cfg.write_text('agent = "knobs"\niterations = 1\nworkers = 2\n')
    res = invoke(str(problem_dir), "--config", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--json")
    out = json.loads(res.stdout[res.stdout.index("{"):])
    assert out["iterations"] == 1 and out["agent"] == "knobs"
