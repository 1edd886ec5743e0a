"""The run configuration in tables ([search], [evaluation], [llm]); flat files, [optimize] tables and the flat
config.toml of runs from earlier versions still load; keys in the wrong place are named with where they belong."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import autocomp
from autocomp.cli import app
from autocomp.search.config import (
    ConfigError,
    SearchConfig,
    build_config,
    flat_name,
    load_config_file,
    options_layers,
)
from autocomp.search.runner import config_from_run
from autocomp.store import RunReader
from autocomp.store.config import render_config
from tests.fakes.search import FakeEvaluator, grid_latency, grid_problem

NESTED = """\
agent = "llm"
seed = 7

[search]
beam = 3
polish-iterations = 1

[evaluation]
workers = 2
backend = "sim"

[llm]
model = "openai:gpt-5"
timeout = 60
max_usd = 2.5

[llm.prices]
"openai:gpt-5" = { input = 1.25, output = 10.0 }
"""

FLAT = """\
agent = "llm"
seed = 7
beam = 3
polish_iterations = 1
workers = 2
backend = "sim"
model = "openai:gpt-5"
llm_timeout = 60
max_usd = 2.5

[llm_prices]
"openai:gpt-5" = { input = 1.25, output = 10.0 }
"""


def _load(tmp_path, text: str) -> SearchConfig:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return build_config(load_config_file(path))


def test_old_run_configs_name_the_runs_dir_out(tmp_path):
    # Runs of earlier versions stored the runs directory as `out`; their config.toml still loads and resumes.
    assert _load(tmp_path, 'out = "old-runs"\nbeam = 2\n').runs_dir == Path("old-runs")
    assert _load(tmp_path, '[optimize]\nout = "old-runs"\n').runs_dir == Path("old-runs")


def test_tables_flat_names_and_the_optimize_table_give_one_configuration(tmp_path):
    nested = _load(tmp_path, NESTED)
    assert (nested.agent, nested.seed, nested.search.beam, nested.search.polish_iterations) == ("llm", 7, 3, 1)
    assert (nested.evaluation.workers, nested.evaluation.backend) == (2, "sim")
    assert (nested.llm.models, nested.llm.timeout, nested.llm.max_usd) == (["openai:gpt-5"], 60.0, 2.5)
    assert nested.llm.prices == {"openai:gpt-5": {"input": 1.25, "output": 10.0}}
    assert _load(tmp_path, FLAT) == nested
    optimize_table = "[optimize]\n" + FLAT.replace("[llm_prices]", "[optimize.llm_prices]")
    assert _load(tmp_path, optimize_table) == nested
    # Keywords and CLI options use the flat names too, and override the file.
    assert build_config(load_config_file(tmp_path / "run.toml"), beam=5, llm_timeout=9).search.beam == 5
    assert SearchConfig(beam=3, workers=2, backend="sim", agent="llm", seed=7, model="openai:gpt-5", llm_timeout=60,
                        max_usd=2.5, polish_iterations=1, llm_prices=nested.llm.prices) == nested


@pytest.mark.parametrize("text, message", [
    ("[search]\nworkers = 2\n", r"run.toml: line 2: \[search\] workers: belongs in \[evaluation\]"),
    ("[llm]\nbeam = 2\n", r"run.toml: line 2: \[llm\] beam: belongs in \[search\]"),
    ("[evaluation]\nseed = 2\n", r"run.toml: line 2: \[evaluation\] seed: belongs at the top level"),
    ("[search]\nllm-timeout = 2\n", r"run.toml: line 2: \[search\] llm-timeout: belongs in \[llm\] as timeout"),
    ("base_url = 'http://x'\n", r"run.toml: line 1: base_url: belongs in \[llm\] \(or give it as llm_base_url at the"),
    ("[search]\nbeem = 2\n", r"run.toml: line 2: \[search\] beem: unknown option; did you mean beam\?$"),
    ("[search]\nzzz = 2\n", r"run.toml: line 2: \[search\] zzz: unknown option; \[search\] takes beam, plans"),
    ("agent = 'knobs'\n\nbeem = 2\n", r"run.toml: line 3: unknown option beem; did you mean beam\?$"),
    ("wokers = 2\n", r"run.toml: line 1: unknown option wokers; did you mean workers\?$"),
    ("zzz = 2\n", r"run.toml: line 1: unknown option zzz; known options: agent"),
    ("[optimize]\nbeem = 2\n", r"run.toml \[optimize\]: line 2: unknown option beem; did you mean beam\?$"),
    ("beam = 2\n[search]\nbeam = 3\n", r"run.toml: beam and \[search\] beam both set \[search\] beam; keep one"),
])
def test_a_key_in_the_wrong_place_names_the_file_the_key_and_where_it_belongs(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, text)


def test_a_bad_value_names_its_table_and_its_flat_name(tmp_path):
    with pytest.raises(ConfigError, match=r"llm\.timeout \(llm_timeout\): Input should be greater than 0"):
        _load(tmp_path, "[llm]\ntimeout = 0\n")
    with pytest.raises(ConfigError, match=r"search\.beam: Input should be greater than or equal to 1"):
        build_config(beam=0)


def test_later_layers_win_and_none_means_not_given(tmp_path):
    (tmp_path / "run.toml").write_text(NESTED)
    layers = options_layers(load_config_file(tmp_path / "run.toml"), {"beam": 6, "max_usd": None, "workers": None})
    assert layers["search"] == {"beam": 6, "polish_iterations": 1}
    assert layers["llm"]["max_usd"] == 2.5 and layers["evaluation"]["workers"] == 2


def test_the_stored_config_is_nested_and_reads_back_whole(tmp_path):
    cfg = _load(tmp_path, NESTED)
    text, _ = render_config({"problem": "p", **cfg.model_dump(mode="json")})
    assert "\n[search]\nbeam = 3\n" in text and "\n[evaluation]\n" in text and '\n[llm.prices."openai:gpt-5"]\n' in text
    (tmp_path / "config.toml").write_text(text)
    from autocomp.store.config import load_config

    assert config_from_run(load_config(tmp_path / "config.toml")) == cfg


def _flat_config_toml(stored: dict) -> str:
    """A config.toml as versions before the tables wrote it: every option at the top level by its flat name."""
    flat = {k: v for k, v in stored.items() if not isinstance(v, dict)}
    for section in ("search", "evaluation", "llm"):
        flat.update({flat_name(section, k): v for k, v in stored[section].items()})
    return render_config(flat)[0]


def test_a_run_with_an_old_flat_config_resumes_into_the_uninterrupted_run(tmp_path):
    def stop_at_iteration_2(kind, data):
        if kind == "iteration_start" and data["iteration"] == 2:
            raise KeyboardInterrupt

    ev = FakeEvaluator(grid_latency)
    first = autocomp.optimize(grid_problem(tmp_path), agent="knobs", evaluator=ev, out=tmp_path / "runs", workers=2,
                              beam=2, knob_batch=3, on_event=stop_at_iteration_2)
    assert first.status == "interrupted"
    stored = (first.run_dir / "config.toml")
    with RunReader.open_readonly(first.run_dir) as reader:
        old = _flat_config_toml(reader.config())
    assert "[search]" not in old and "\nbeam = 2\n" in old and "\nknob_batch = 3\n" in old
    stored.write_text(old)

    second = autocomp.optimize(resume=first.run_dir, evaluator=ev, out=tmp_path / "runs")
    reference = autocomp.optimize(grid_problem(tmp_path / "ref"), agent="knobs", evaluator=FakeEvaluator(grid_latency),
                                  out=tmp_path / "ref" / "runs", workers=2, beam=2, knob_batch=3)
    assert second.status == "finished"
    assert (second.best_latency_us, second.evaluations) == (reference.best_latency_us, reference.evaluations)
    with RunReader.open_readonly(second.run_dir) as r1, RunReader.open_readonly(reference.run_dir) as r2:
        assert [c.source_hash for c in r1.candidates()] == [c.source_hash for c in r2.candidates()]
        assert [b.beam for b in r1.beams()] == [b.beam for b in r2.beams()]


def test_the_cli_names_a_key_in_the_wrong_table(tmp_path, problem_dir):
    cfg = tmp_path / "autocomp.toml"
    cfg.write_text('agent = "knobs"\n[search]\niterations = 1\nworkers = 2\n')
    res = CliRunner().invoke(app, ["optimize", str(problem_dir), "--config", str(cfg), "--runs-dir",
                                   str(tmp_path / "r")])
    assert res.exit_code == 2 and "autocomp.toml: line 4: [search] workers: belongs in [evaluation]" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "r").exists()
