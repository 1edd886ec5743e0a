"""The resolved configuration of one optimization run: CLI options over a TOML file over defaults.

A config file has run-level options at the top and a table for each part of a run::

    agent = "llm"
    seed = 0

    [search]        # beam search, knob tuner, selection
    beam = 4
    plans = 2
    iterations = 8

    [evaluation]    # how candidates are evaluated
    workers = 4
    backend = "sim"

    [llm]           # models, sampling, prompts, the LLM budget
    models = ["anthropic:claude-sonnet-4-5"]
    max_usd = 5.0

    [llm.prices]
    "openai:gpt-5" = { input = 1.25, output = 10.0 }

    [memory]        # the experience memory shared across runs
    enabled = true
    path = "~/autocomp-memory.sqlite"

Option names take dashes or underscores. Files written before the tables existed still load:
every option may also be given at the top level (or under an ``[optimize]`` table) by its
flat name, the one the command line and ``autocomp.optimize`` keywords use (``beam``,
``workers``, ``llm_timeout`` for ``[llm] timeout``, ``model`` for ``[llm] models``). Every
stored run of an earlier version has such a flat config.toml, and ``--resume`` reads it.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from autocomp import targets
from autocomp.settings import default_runs_dir
from autocomp.validation import error_message

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


class SearchOptions(BaseModel):
    """``[search]``: the beam search, the knob tuner and how candidates are ranked."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    beam: int = Field(4, ge=1, description="B: candidates kept per iteration")
    plans: int = Field(2, ge=1, description="N: plans per beam candidate")
    impls: int = Field(2, ge=1, description="K: implementations per plan")
    iterations: int = Field(6, ge=0, description="T: search iterations")
    early_stop: int = Field(3, ge=1, description="S: stop after this many iterations without improvement")
    repairs: int = Field(1, ge=0, description="R: repair attempts per failed candidate")
    max_per_parent: int | None = Field(None, ge=1, description="diversity: beam slots one parent's children may take")
    hw_margin: float = Field(0.01, ge=0, le=0.5, description="hardware noise margin for ranking and improvement")
    min_gain: float = Field(0.002, ge=0, le=0.5, description="smallest relative gain that counts as improvement")
    # knob tuner (alone it uses beam / iterations / early_stop; after the LLM, the polish_* settings)
    knob_batch: int = Field(8, ge=1, description="most configurations evaluated per knob iteration")
    tune_after_llm: bool = True
    polish_beam: int = Field(2, ge=1, description="beam of the knob tuning that follows the LLM search")
    polish_iterations: int = Field(4, ge=0)
    polish_early_stop: int = Field(2, ge=1)
    strategy: str = Field("beam", description="how the candidates to build on are chosen (search/strategy.py)")

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, v: str) -> str:
        from autocomp.search.strategy import STRATEGIES, unknown_strategy

        if v not in STRATEGIES:
            raise ValueError(unknown_strategy(v))
        return v


class EvaluationOptions(BaseModel):
    """``[evaluation]``: where and how candidates are evaluated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    workers: int = Field(default_factory=lambda: max(1, min(8, os.cpu_count() or 1)), ge=1)
    backend: str = "auto"
    target: str | None = None  # a registered target (autocomp.targets); None: the problem's
    timeout_s: float | None = Field(None, gt=0)
    isolation: Literal["auto", "bwrap", "userns", "none"] = Field(
        "auto", description="sandbox for candidates (the run's events record the one in force)")
    allow_unisolated: bool = Field(False, description="run LLM-written kernels even when no sandbox is available")
    executor: Literal["local", "ray"] = Field(
        "local", description="where candidates' sandboxed workers run: this machine, or Ray tasks on a cluster "
        "(pip install 'autocomp[ray]'; docs/evaluation.md#running-evaluations-on-a-ray-cluster)")
    ray_address: str | None = Field(None, description="with executor = \"ray\": the cluster to join (\"auto\", "
                                    "host:port, ray://...); none: a private cluster on this machine")
    revalidate_seeds: int = Field(3, ge=0, description="fresh seeds the winner is re-checked on (0: skip)")
    calibration: Path | None = Field(None, description="cost-model calibration file (autocomp calibrate) for the "
                                     "sim backend; the run keeps a copy; the hw backend ignores it")
    nki_version: str | None = Field(None, description="release of the current NKI dialect (\"0.6\") v2 kernels "
                                    "follow, over the problem's own nki_version; a resumed run keeps it")
    # The hardware backend (--backend hw, alias neuron): docs/evaluation.md#the-hardware-backend
    hw_top_k: int = Field(2, ge=1, description="two-tier search: the sim-fastest candidates of each iteration sent "
                                               "to hardware (besides those the cost model cannot rank)")
    two_tier: bool = Field(True, description="with the hw backend, check and score every candidate in the simulator "
                                             "first and measure only the selected ones on hardware")
    hw_profile: bool = Field(False, description="capture a Neuron Explorer profile of every hardware measurement "
                                                "and keep it in the run (profiles/)")
    hw_profile_max_mb: float = Field(256.0, gt=0, description="the largest Neuron Explorer profile a run keeps, in "
                                                              "MiB (larger ones are dropped with a notice)")
    sdk_pythonpath: list[str] = Field(default_factory=list, description="import paths of the NKI compiler (nki)")
    runtime_python: str | None = Field(None, description="interpreter of the environment that has nrtpy (it cannot "
                                                         "share one with nki); default: this one")
    runtime_pythonpath: list[str] = Field(default_factory=list, description="import paths of nrtpy")
    sdk_path: list[str] = Field(default_factory=list, description="directories of neuron-ls and neuron-explorer")
    cores: list[int] | None = Field(None, description="NeuronCores to use (default: all that neuron-ls lists)")
    lnc: int | None = Field(None, ge=1, le=2, description="logical NeuronCore config for the device workers, on "
                                                          "targets that pair cores (default: the runtime's)")

    def hw_options(self) -> dict[str, Any]:
        """The hw backend's keyword options from this table."""
        return {"compile_pythonpath": list(self.sdk_pythonpath), "runtime_pythonpath": list(self.runtime_pythonpath),
                "runtime_python": self.runtime_python, "path": list(self.sdk_path), "cores": self.cores,
                "lnc": self.lnc, "profile": self.hw_profile}

    @property
    def hardware(self) -> bool:
        return self.backend in ("hw", "neuron")

    @field_validator("target")
    @classmethod
    def _known_target(cls, v: str | None) -> str | None:
        return None if v is None else targets.resolve(v)

    @field_validator("nki_version")
    @classmethod
    def _known_nki_version(cls, v: str | None) -> str | None:
        from autocomp.nki import versions

        return None if v is None else versions.normalize(v)


class LLMOptions(BaseModel):
    """``[llm]``: models and endpoints, sampling, what prompts show, and the LLM budget."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    models: list[str] = Field(default_factory=list, description="provider:model, repeated for an ensemble")
    base_url: str | None = None
    timeout: float = Field(300.0, gt=0, allow_inf_nan=False, description="seconds one LLM request may take")
    prices: dict[str, dict[str, float]] = Field(
        default_factory=dict, description='USD per million tokens, e.g. "openai:gpt-5" = {input = 1.25, output = 10.0}')
    # the manual provider (--model manual): prompts in <run>/manual/, answers from files or stdin
    manual_timeout: float = Field(3600.0, gt=0, allow_inf_nan=False,
                                  description="seconds to wait for each manual answer before the run stops")
    manual_stdin: bool = Field(False, description="print each manual prompt and read its answer from stdin")
    # sampling and prompts
    plan_temperature: float = Field(0.8, ge=0, le=2)
    impl_temperature: float = Field(0.4, ge=0, le=2)
    repair_temperature: float = Field(0.2, ge=0, le=2)
    plan_max_tokens: int = Field(1500, ge=64)
    impl_max_tokens: int = Field(12000, ge=256)
    concurrency: int = Field(8, ge=1)
    menu_dropout: float = Field(0.35, ge=0, lt=1, description="share of the optimization menu left out of a plan "
                                                               "prompt")
    history_limit: int = Field(12, ge=0, description="lineage entries shown in plan prompts")
    # budget
    max_usd: float | None = Field(None, gt=0)
    max_llm_calls: int | None = Field(None, ge=1)

    @field_validator("models", mode="before")
    @classmethod
    def _one_model(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("models")
    @classmethod
    def _check_models(cls, v: list[str]) -> list[str]:
        from autocomp.llm import parse_model_spec

        # The manual provider needs no model name: a bare "manual" is a person answering.
        return [parse_model_spec(MANUAL_MODEL if m.strip().lower() == "manual" else m).id for m in v]


class MemoryOptions(BaseModel):
    """``[memory]``: the experience memory shared across runs (docs/architecture.md#experience-memory)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = Field(True, description="record this run's improvements and show plan prompts earlier ones")
    path: Path | None = Field(None, description="the memory file (default: $AUTOCOMP_MEMORY, else "
                                                "$XDG_DATA_HOME/autocomp/memory.sqlite)")
    budget_tokens: int = Field(700, ge=0, description="most tokens of memory one plan prompt shows")
    max_entries: int = Field(5, ge=0, description="most memory entries one plan prompt shows")


SECTIONS: dict[str, type[BaseModel]] = {"search": SearchOptions, "evaluation": EvaluationOptions, "llm": LLMOptions,
                                        "memory": MemoryOptions}
# Flat names (command line, API keywords, files without tables) that differ from the field's name in its table.
_FLAT_RENAMES = {("llm", "base_url"): "llm_base_url", ("llm", "timeout"): "llm_timeout",
                 ("llm", "prices"): "llm_prices", ("llm", "concurrency"): "llm_concurrency",
                 ("memory", "enabled"): "memory_enabled", ("memory", "path"): "memory_path",
                 ("memory", "budget_tokens"): "memory_budget_tokens", ("memory", "max_entries"): "memory_entries"}
# `model = "..."` / --model; `out`, the runs directory's name before it was called runs_dir everywhere (stored runs).
# `no_cache`, the LLM cache switch's name before evaluation and LLM caches had options of their own.
_FLAT_ALIASES = {"model": ("llm", "models"), "out": (None, "runs_dir"), "no_cache": (None, "no_llm_cache")}
# What a run's config.toml records besides options: which problem it optimized, the hash of its calibration, and
# why --backend auto chose the backend its [evaluation] table names. A --config file may hold them (a run's
# config.toml reproduces the run); they are never options.
RUN_IDENTITY = ("problem", "problem_path", "calibration_sha256", "backend_choice")


class SearchConfig(BaseModel):
    """Every knob of a run: run-level options and the ``search``, ``evaluation``, ``llm`` and ``memory`` tables. Stored
    (without secrets) as the run's config.toml. Flat keywords are accepted too (``SearchConfig(beam=2)``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    agent: AgentKind = "auto"
    runs_dir: Path = Field(default_factory=default_runs_dir, description="directory that holds run directories "
                           "($AUTOCOMP_RUNS, else runs/)")
    seed: int = 0
    no_llm_cache: bool = Field(False, description="ignore cached LLM answers (fresh ones are still stored)")
    search: SearchOptions = Field(default_factory=SearchOptions)
    evaluation: EvaluationOptions = Field(default_factory=EvaluationOptions)
    llm: LLMOptions = Field(default_factory=LLMOptions)
    memory: MemoryOptions = Field(default_factory=MemoryOptions)

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_options(cls, data: Any) -> Any:
        # Flat keywords (SearchConfig(beam=2)) are nested; data already in shape is left alone (assignments to a
        # field pass through here with every field's current value).
        if isinstance(data, Mapping) and any(_normalize(k) not in cls.model_fields for k in data):
            return nest(data, "options")
        return data

    def llm_requested(self, env: Mapping[str, str] | None = None) -> bool:
        """Whether this run uses the LLM agent (resolving ``agent=auto``)."""
        if self.agent != "auto":
            return self.agent == "llm"
        env = os.environ if env is None else env
        return bool(self.llm.models) or any(env.get(k) for k in PROVIDER_KEY_ENVS)

    def resolved_models(self, env: Mapping[str, str] | None = None) -> list[str]:
        """The configured models, or the default for whichever provider key is set."""
        if self.llm.models:
            return list(self.llm.models)
        env = os.environ if env is None else env
        for key in PROVIDER_KEY_ENVS:
            if env.get(key):
                return [DEFAULT_MODELS[key]]
        return [DEFAULT_MODELS["ANTHROPIC_API_KEY"]]


RUN_LEVEL = tuple(name for name in SearchConfig.model_fields if name not in SECTIONS)


def _flat_table() -> dict[str, tuple[str | None, str]]:
    """flat name -> (table or None for run-level, field)."""
    table: dict[str, tuple[str | None, str]] = {name: (None, name) for name in RUN_LEVEL}
    for section, model in SECTIONS.items():
        for name in model.model_fields:
            flat = _FLAT_RENAMES.get((section, name), name)
            assert flat not in table, f"flat option name {flat!r} is taken twice"
            table[flat] = (section, name)
    return table


FLAT_NAMES = _flat_table()


def flat_name(section: str | None, name: str) -> str:
    """The flat (command-line) name of ``name`` in ``section``."""
    return name if section is None else _FLAT_RENAMES.get((section, name), name)


def _normalize(key: Any) -> str:
    return str(key).replace("-", "_")


def _place(section: str | None) -> str:
    return "at the top level" if section is None else f"in [{section}]"


def _home(name: str) -> tuple[str | None, str] | None:
    """Where an option of this name lives: by flat name, alias, or a field name of exactly one table."""
    if name in FLAT_NAMES:
        return FLAT_NAMES[name]
    if name in _FLAT_ALIASES:
        return _FLAT_ALIASES[name]
    homes = [(s, name) for s, model in SECTIONS.items() if name in model.model_fields]
    return homes[0] if len(homes) == 1 else None


def _suggest(name: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """The known name closest to a misspelt one, if any is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(value: str, choices: list[str] | tuple[str, ...]) -> str:
    """``"; did you mean X?"`` when ``value`` is close to one of ``choices``, else ``""``."""
    close = _suggest(str(value), choices)
    return f"; did you mean {close}?" if close else ""


def nest(values: Mapping[str, Any], where: str, *, ignore_unknown: bool = False,
         line_of: Callable[[str | None, str], int | None] | None = None) -> dict[str, Any]:
    """``values`` (flat options, ``[search]``/``[evaluation]``/``[llm]`` tables, or both) in SearchConfig's shape.

    ``where`` names the source in errors (a file path, "options"); ``line_of(table, key)`` the line a key is on.
    An unknown key is an error naming it, the nearest known name ("did you mean") and, when it is a known option
    in the wrong place, where it belongs; ``ignore_unknown`` drops unknown keys instead (a stored run's config,
    which may come from another version). A key set twice in one source is an error; None values are left out
    (not given).
    """
    out: dict[str, Any] = {}
    errors: list[str] = []
    given_by: dict[tuple[str | None, str], str] = {}
    top_names = [*RUN_LEVEL, *SECTIONS, *(n for n in FLAT_NAMES if n not in RUN_LEVEL), *_FLAT_ALIASES]

    def at(section: str | None, key: str) -> str:
        line = line_of(section, key) if line_of is not None else None
        return f"line {line}: " if line else ""

    def put(section: str | None, name: str, value: Any, key: str) -> None:
        if value is None:  # an unset keyword or CLI option
            return
        target = out if section is None else out.setdefault(section, {})
        if (section, name) in given_by:
            option = name if section is None else f"[{section}] {name}"
            errors.append(f"{given_by[section, name]} and {key} both set {option}; keep one")
        given_by[section, name] = key
        target[name] = value

    for key, value in values.items():
        name = _normalize(key)
        if name in SECTIONS and isinstance(value, BaseModel):
            value = value.model_dump(exclude_unset=True)
        if name in SECTIONS and isinstance(value, Mapping):
            fields = SECTIONS[name].model_fields
            for sub_key, sub_value in value.items():
                sub = _normalize(sub_key)
                home = (name, sub) if sub in fields else _home(sub)
                if home is not None and home[0] == name:
                    put(name, home[1], sub_value, f"[{name}] {sub_key}")
                elif ignore_unknown:
                    continue
                elif home is not None:
                    errors.append(f"{at(name, str(sub_key))}[{name}] {sub_key}: belongs {_place(home[0])}"
                                  + (f" as {home[1]}" if home[1] != sub else ""))
                elif (close := _suggest(sub, list(fields))) is not None:
                    errors.append(f"{at(name, str(sub_key))}[{name}] {sub_key}: unknown option; did you mean "
                                  f"{close}?")
                else:
                    errors.append(f"{at(name, str(sub_key))}[{name}] {sub_key}: unknown option; [{name}] takes "
                                  f"{', '.join(fields)}")
        elif name in FLAT_NAMES or name in _FLAT_ALIASES:
            put(*(FLAT_NAMES.get(name) or _FLAT_ALIASES[name]), value, str(key))
        elif ignore_unknown or name in RUN_IDENTITY:
            continue  # a run's identity is read by read_config_file, never an option
        elif (home := _home(name)) is not None:
            errors.append(f"{at(None, str(key))}{key}: belongs {_place(home[0])} (or give it as {flat_name(*home)} "
                          "at the top level)")
        elif (close := _suggest(name, top_names)) is not None:
            errors.append(f"{at(None, str(key))}unknown option {key}; did you mean {close}?")
        else:
            errors.append(f"{at(None, str(key))}unknown option {key}; known options: {', '.join(RUN_LEVEL)} and "
                          f"the tables {', '.join(f'[{s}]' for s in SECTIONS)} (or any option by its flat name: "
                          f"{', '.join(n for n in FLAT_NAMES if n not in RUN_LEVEL)})")
    if errors:
        raise ConfigError(f"{where}: " + "; ".join(errors))
    return out


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Nested option dicts, later layers winning key by key (tables are merged, not replaced). None is "not given"
    (an unset keyword or CLI option), never a value: it overrides nothing."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key in SECTIONS and isinstance(value, Mapping):
                out[key] = {**out.get(key, {}), **{k: v for k, v in value.items() if v is not None}}
            elif value is not None:
                out[key] = value
    return out


_TABLE_LINE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_LINE = re.compile(r"""^\s*["']?([A-Za-z0-9_.-]+)["']?\s*=""")


def _key_lines(text: str) -> Callable[[str | None, str], int | None]:
    """``line_of(table, key)``: the 1-based line of ``key`` in ``table`` (None: the top level) of a TOML text."""
    lines: dict[tuple[str | None, str], int] = {}
    table: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if m := _TABLE_LINE.match(line):
            table = m.group(1).strip().strip('"')
            if table == "optimize":
                table = None  # the old [optimize] table holds top-level options
            lines.setdefault((None, table.split(".")[0]) if table else (None, ""), number)
        elif m := _KEY_LINE.match(line):
            lines.setdefault((table, m.group(1)), number)
    return lambda section, key: lines.get((section, key))


def read_config_file(path: str | Path) -> tuple[dict[str, Any], dict[str, str]]:
    """A TOML config file's options, nested (tables, flat names, or an old ``[optimize]`` table), and the run
    identity it records (``problem``, ``problem_path``, ``calibration_sha256``: a run's config.toml has them)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    identity: dict[str, str] = {}
    for key in RUN_IDENTITY:
        if key in data:
            value = data.pop(key)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{path}: {key} = {value!r}: must be a non-empty string (it names the run's "
                                  f"{'calibration hash' if key == 'calibration_sha256' else key.replace('_', ' ')})")
            identity[key] = value
    line_of = _key_lines(text)
    wrapped = data.pop("optimize", None) if isinstance(data.get("optimize"), Mapping) else None
    values = nest(data, str(path), line_of=line_of)
    if wrapped is not None:  # earlier files put everything under [optimize]; its values win over the top level's
        values = merge(values, nest(wrapped, f"{path} [optimize]", line_of=line_of))
    return values, identity


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Options from a TOML config file, nested (tables, flat names, or an old ``[optimize]`` table); a run's
    identity keys in it are read by :func:`read_config_file`."""
    return read_config_file(path)[0]


def options_layers(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Several sources of options (a config file's values, then CLI options or keywords), later winning, nested."""
    return merge(*(nest(layer, "options") for layer in layers))


def build_config(file_values: Mapping[str, Any] | None = None, **overrides: Any) -> SearchConfig:
    """Defaults, then the config file's values, then non-None ``overrides`` (CLI options, API keywords; flat names
    or tables)."""
    merged = merge(nest(file_values or {}, "options"), nest(overrides, "options"))
    try:
        return SearchConfig.model_validate(merged)
    except ValidationError as e:
        raise ConfigError("; ".join(_describe(err) for err in e.errors())) from None


def _describe(err: Mapping[str, Any]) -> str:
    loc = [str(p) for p in err["loc"]]
    where = ".".join(loc) or "config"
    if loc and (loc[0] in SECTIONS and len(loc) > 1):
        flat = flat_name(loc[0], loc[1])
        if flat != loc[1]:
            where += f" ({flat})"
    return f"{where}: {error_message(err)} (got {err.get('input')!r})"
