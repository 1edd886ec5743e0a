"""`--model manual` from the command line and the config file, its options, and a start that fails cleanly."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import autocomp
from autocomp.cli import app
from autocomp.llm import LLMConfigError, build_service
from autocomp.llm.manual import ManualClient
from autocomp.search.config import ConfigError, build_config, load_config_file
from autocomp.search.runner import SearchError, llm_settings
from autocomp.store import RunReader
from tests.fakes.search import FakeEvaluator


def test_a_bare_manual_model_is_a_person_answering(tmp_path):
    cfg = build_config(models=["manual"])
    assert cfg.llm.models == ["manual:chat"] and cfg.llm_requested({})
    assert build_config(models=["manual:my-chat-ui"]).llm.models == ["manual:my-chat-ui"]
    settings = llm_settings(cfg, tmp_path / "run")
    assert settings.manual_dir == tmp_path / "run" / "manual"
    service = build_service(settings.model_copy(update={"cache_path": None}))
    client = service.clients["manual"]
    assert isinstance(client, ManualClient) and client.directory == tmp_path / "run" / "manual"
    assert client.timeout_s == 3600.0


def test_the_config_file_takes_the_manual_options(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('model = "manual"\nmanual-timeout = 90\nmanual_stdin = true\n')
    cfg = build_config(load_config_file(path))
    settings = llm_settings(cfg, tmp_path)
    assert (cfg.llm.models, settings.manual_timeout_s, settings.manual_stdin) == (["manual:chat"], 90.0, True)
    path.write_text('model = "manual"\nmanual_timeout = 0\n')
    with pytest.raises(ConfigError, match="manual_timeout: .*greater than 0"):
        build_config(load_config_file(path))


def test_the_cli_options_reach_the_run(tmp_path, problem_dir, monkeypatch):
    seen = {}

    def run(problem, cfg, **kw):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr("autocomp.search.runner.run_optimization", run)
    res = CliRunner().invoke(app, ["optimize", str(problem_dir), "--model", "manual", "--manual-timeout", "12",
                                   "--manual-stdin", "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 0, res.output
    cfg = seen["cfg"]
    assert (cfg.llm.models, cfg.llm.manual_timeout, cfg.llm.manual_stdin) == (["manual:chat"], 12.0, True)


def test_a_run_that_fails_to_start_leaves_no_run_behind(tmp_path, problem_dir, monkeypatch):
    def refuse(*args, **kw):
        raise LLMConfigError("the manual provider cannot create its prompt directory")

    monkeypatch.setattr("autocomp.llm.build_service", refuse)
    out = tmp_path / "runs"
    with pytest.raises(LLMConfigError, match="prompt directory"):
        autocomp.optimize(problem_dir, models=["manual"], evaluator=FakeEvaluator(), out=out)
    assert list(out.iterdir()) == []
    # A run that started and then failed is kept, marked failed, for its record.
    broken = FakeEvaluator(latency=lambda consts: -1.0)  # every kernel, the baseline too, "fails to compile"
    with pytest.raises(SearchError, match="baseline kernel fails its own evaluation"):
        autocomp.optimize(problem_dir, agent="knobs", evaluator=broken, out=out, iterations=1)
    (kept,) = out.iterdir()
    with RunReader.open_readonly(kept) as reader:
        assert reader.info.status == "failed"
