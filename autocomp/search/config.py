"""The resolved configuration of one optimization run: CLI options over a TOML file over defaults.

The TOML file uses the option names (dashes or underscores), flat or under an
``[optimize]`` table::

    model = ["anthropic:claude-sonnet-4-5"]
    beam = 4
    plans = 2
    iterations = 8
    max_usd = 5.0
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from autocomp import targets

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

AgentKind = Literal["auto", "llm", "knobs"]
# Env vars that mean "an LLM provider is configured" for --agent auto.
PROVIDER_KEY_ENVS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")
DEFAULT_MODELS = {"ANTHROPIC_API_KEY": "anthropic:claude-sonnet-4-5", "OPENAI_API_KEY": "openai:gpt-5"}
MANUAL_MODEL = "manual:chat"


class ConfigError(ValueError):
    """A bad option or config file; the message names the key and the fix."""


class SearchConfig(BaseModel):
    """Every knob of a run. Stored (without secrets) as the run's config.toml."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    agent: AgentKind = "auto"
    models: list[str] = Field(default_factory=list, description="provider:model, repeated for an ensemble")
    llm_base_url: str | None = None
    llm_timeout: float = Field(300.0, gt=0, allow_inf_nan=False, description="seconds one LLM request may take")
    llm_prices: dict[str, dict[str, float]] = Field(
        default_factory=dict, description='USD per million tokens, e.g. "openai:gpt-5" = {input = 1.25, output = 10.0}')
    # the manual provider (--model manual): prompts in <run>/manual/, answers from files or stdin
    manual_timeout: float = Field(3600.0, gt=0, allow_inf_nan=False,
                                  description="seconds to wait for each manual answer before the run stops")
    manual_stdin: bool = Field(False, description="print each manual prompt and read its answer from stdin")
    # beam search
    beam: int = Field(4, ge=1, description="B: candidates kept per iteration")
    plans: int = Field(2, ge=1, description="N: plans per beam candidate")
    impls: int = Field(2, ge=1, description="K: implementations per plan")
    iterations: int = Field(6, ge=0, description="T: search iterations")
    early_stop: int = Field(3, ge=1, description="S: stop after this many iterations without improvement")
    repairs: int = Field(1, ge=0, description="R: repair attempts per failed candidate")
    max_per_parent: int | None = Field(None, ge=1, description="diversity: beam slots one parent's children may take")
    hw_margin: float = Field(0.01, ge=0, le=0.5, description="hardware noise margin for ranking and improvement")
    min_gain: float = Field(0.002, ge=0, le=0.5, description="smallest relative gain that counts as improvement")
    menu_dropout: float = Field(0.35, ge=0, lt=1)
    plan_temperature: float = Field(0.8, ge=0, le=2)
    impl_temperature: float = Field(0.4, ge=0, le=2)
    repair_temperature: float = Field(0.2, ge=0, le=2)
    plan_max_tokens: int = Field(1500, ge=64)
    impl_max_tokens: int = Field(12000, ge=256)
    llm_concurrency: int = Field(8, ge=1)
    history_limit: int = Field(12, ge=0, description="lineage entries shown in plan prompts")
    # knob tuner (alone it uses beam / iterations / early_stop; after the LLM, the polish_* settings)
    knob_batch: int = Field(8, ge=1, description="most configurations evaluated per knob iteration")
    tune_after_llm: bool = True
    polish_beam: int = Field(2, ge=1, description="beam of the knob tuning that follows the LLM search")
    polish_iterations: int = Field(4, ge=0)
    polish_early_stop: int = Field(2, ge=1)
    # budget
    max_usd: float | None = Field(None, gt=0)
    max_llm_calls: int | None = Field(None, ge=1)
    # evaluation
    workers: int = Field(default_factory=lambda: max(1, min(8, os.cpu_count() or 1)), ge=1)
    backend: str = "auto"
    target: str | None = None  # a registered target (autocomp.targets); None: the problem's
    timeout_s: float | None = Field(None, gt=0)
    isolation: Literal["auto", "bwrap", "userns", "none"] = Field(
        "auto", description="sandbox for candidates (the run's events record the one in force)")
    allow_unisolated: bool = Field(False, description="run LLM-written kernels even when no sandbox is available")
    revalidate_seeds: int = Field(3, ge=0, description="fresh seeds the winner is re-checked on (0: skip)")
    calibration: Path | None = Field(None, description="cost-model calibration file (autocomp calibrate) for the "
                                     "sim backend; the run keeps a copy; the hw backend ignores it")
    # run
    out: Path = Path("runs")
    seed: int = 0
    no_cache: bool = False

    @field_validator("target")
    @classmethod
    def _known_target(cls, v: str | None) -> str | None:
        return None if v is None else targets.resolve(v)

    @field_validator("models")
    @classmethod
    def _check_models(cls, v: list[str]) -> list[str]:
        from autocomp.llm import parse_model_spec

        # The manual provider needs no model name: a bare "manual" is a person answering.
        return [parse_model_spec(MANUAL_MODEL if m.strip().lower() == "manual" else m).id for m in v]

    def llm_requested(self, env: Mapping[str, str] | None = None) -> bool:
        """Whether this run uses the LLM agent (resolving ``agent=auto``)."""
        if self.agent != "auto":
            return self.agent == "llm"
        env = os.environ if env is None else env
        return bool(self.models) or any(env.get(k) for k in PROVIDER_KEY_ENVS)

    def resolved_models(self, env: Mapping[str, str] | None = None) -> list[str]:
        """The configured models, or the default for whichever provider key is set."""
        if self.models:
            return list(self.models)
        env = os.environ if env is None else env
        for key in PROVIDER_KEY_ENVS:
            if env.get(key):
                return [DEFAULT_MODELS[key]]
        return [DEFAULT_MODELS["ANTHROPIC_API_KEY"]]


def _normalize_keys(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name == "model":
            name = "models"
            value = [value] if isinstance(value, str) else value
        out[name] = value
    return out


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Options from a TOML config file (flat, or under ``[optimize]``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    if isinstance(data.get("optimize"), Mapping):
        data = {**{k: v for k, v in data.items() if k != "optimize"}, **data["optimize"]}
    values = _normalize_keys(data, str(path))
    unknown = sorted(set(values) - set(SearchConfig.model_fields))
    if unknown:
        raise ConfigError(f"{path}: unknown option(s) {', '.join(unknown)}; known options: "
                          f"{', '.join(SearchConfig.model_fields)}")
    return values


def build_config(file_values: Mapping[str, Any] | None = None, **overrides: Any) -> SearchConfig:
    """Defaults, then the config file's values, then non-None ``overrides`` (CLI options, API keywords)."""
    merged = dict(file_values or {})
    merged.update({k: v for k, v in _normalize_keys(overrides, "options").items() if v is not None})
    unknown = sorted(set(merged) - set(SearchConfig.model_fields))
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}; known options: "
                          f"{', '.join(SearchConfig.model_fields)}")
    try:
        return SearchConfig(**merged)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "config"
            problems.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError("; ".join(problems)) from None
