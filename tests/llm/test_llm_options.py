"""The LLM timeout is an option, prices can be configured, and every option an LLM message names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

import autocomp.llm
from autocomp.cli import app
from autocomp.llm import LLMConfigError, LLMSettings, create_client
from autocomp.search.config import ConfigError, LLMOptions, SearchConfig, build_config, load_config_file
from autocomp.search.runner import llm_settings

LLM_SOURCES = sorted(Path(autocomp.llm.__file__).parent.glob("*.py"))
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
_CONFIG_KEY = re.compile(r"\b([a-z_]+) in the config file's \[llm\] table|\[llm\.([a-z_]+)\]")


def _optimize_options() -> set[str]:
    command = typer.main.get_command(app).commands["optimize"]
    return {o for p in command.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]}


def test_every_option_an_llm_message_names_exists():
    options = _optimize_options()
    named: dict[str, set[str]] = {}
    for path in LLM_SOURCES:
        for option in _OPTION.findall(path.read_text()):
            named.setdefault(option, set()).add(path.name)
    assert {"--llm-timeout", "--max-usd", "--max-llm-calls", "--llm-base-url", "--resume"} <= set(named)
    missing = {o: sorted(files) for o, files in named.items() if o not in options}
    assert not missing, f"LLM messages name options `autocomp optimize` does not have: {missing}"


def test_every_config_key_an_llm_message_names_exists():
    keys = set()
    for path in LLM_SOURCES:
        for a, b in _CONFIG_KEY.findall(path.read_text()):
            keys.add(a or b)
    assert keys >= {"timeout", "prices"}
    assert keys <= set(LLMOptions.model_fields)


def test_llm_timeout_from_the_command_line_and_the_config_file(tmp_path):
    assert "--llm-timeout" in _optimize_options()
    assert SearchConfig().llm.timeout == 300.0
    assert llm_settings(build_config(llm_timeout=42.5), tmp_path).timeout_s == 42.5
    for line in ("[llm]\ntimeout = 600", "llm_timeout = 600", "llm-timeout = 600", "[optimize]\nllm_timeout = 600"):
        (tmp_path / "run.toml").write_text(line + "\n")
        assert build_config(load_config_file(tmp_path / "run.toml")).llm.timeout == 600
    settings = llm_settings(build_config(models=["vllm:q"], llm_timeout=7), tmp_path)
    assert create_client("vllm", settings, env={}).endpoint.timeout_s == 7


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), "soon"])
def test_a_bad_llm_timeout_names_the_option(bad):
    with pytest.raises(ConfigError, match="llm_timeout"):
        build_config(llm_timeout=bad)


def test_the_cli_rejects_a_bad_llm_timeout_in_one_line(tmp_path):
    res = CliRunner().invoke(app, ["optimize", "gemm_bf16", "--llm-timeout", "0", "--runs-dir", str(tmp_path)])
    assert res.exit_code == 2 and "llm_timeout" in res.output and "Traceback" not in res.output


def test_an_unpriced_model_cannot_run_under_max_usd_until_priced(tmp_path):
    env = {"OPENAI_API_KEY": "sk-test-options-000000"}
    with pytest.raises(LLMConfigError, match=r'--max-usd cannot limit openai:gpt-99.*\[llm\.prices\] "openai:gpt-99"'):
        create_client("openai", LLMSettings(models=["openai:gpt-99"], max_usd=1.0), env=env)
    create_client("openai", LLMSettings(models=["openai:gpt-99"]), env=env)  # no cap, nothing to protect
    (tmp_path / "run.toml").write_text('[llm]\nmax_usd = 1.0\n\n[llm.prices]\n'
                                       '"openai:gpt-99" = { input = 2, output = 8 }\n')
    priced = llm_settings(build_config(load_config_file(tmp_path / "run.toml"), models=["openai:gpt-99"]), tmp_path)
    assert priced.prices == {"openai:gpt-99": {"input": 2.0, "output": 8.0}}
    create_client("openai", priced, env=env)
