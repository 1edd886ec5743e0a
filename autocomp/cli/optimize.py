"""`autocomp optimize`: search for a faster kernel (LLM agent or knob tuner) and report the best one."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import typer

from autocomp import targets
from autocomp.cli._common import console, err_console, fail, json_errors
from autocomp.cli._inputs import check_timeout, check_workers, read_text_file

EXIT_INTERRUPTED = 130


def optimize(
    problem: str = typer.Argument(None, help="Problem name ($AUTOCOMP_PROBLEMS, ./problems, the suite) or directory."),
    config: Path = typer.Option(None, "--config", "-c", help="TOML file with options (CLI options override it); a "
                                "run's config.toml reruns that run (PROBLEM may then be left out)."),
    model: list[str] = typer.Option(None, "--model", "-m",
                                    help="LLM as provider:model; repeat for an ensemble."),
    llm_base_url: str = typer.Option(None, "--llm-base-url", help="Base URL of an OpenAI-compatible server."),
    llm_timeout: float = typer.Option(None, "--llm-timeout", metavar="SECONDS",
                                      help="Longest one LLM request may take (default 300)."),
    manual_timeout: float = typer.Option(None, "--manual-timeout", metavar="SECONDS",
                                         help="With --model manual: how long to wait for each answer file before "
                                              "the run stops, resumable (default 3600)."),
    manual_stdin: bool = typer.Option(None, "--manual-stdin",
                                      help="With --model manual: print each prompt and read the answer from stdin, "
                                           "up to a line holding only EOF."),
    agent: str = typer.Option(None, "--agent",
                              help="auto (LLM when a model or API key is configured, else knobs), llm or knobs."),
    beam: int = typer.Option(None, "--beam", help="Beam width B: candidates kept per iteration."),
    plans: int = typer.Option(None, "--plans", help="N: plans per beam candidate."),
    impls: int = typer.Option(None, "--impls", help="K: implementations per plan."),
    iterations: int = typer.Option(None, "--iterations", help="T: search iterations."),
    early_stop: int = typer.Option(None, "--early-stop", help="S: stop after S iterations without improvement."),
    repairs: int = typer.Option(None, "--repairs", help="R: repair attempts per failed candidate."),
    max_usd: float = typer.Option(None, "--max-usd", help="Stop before LLM spend could exceed this many dollars."),
    max_llm_calls: int = typer.Option(None, "--max-llm-calls", help="Stop before this many LLM calls."),
    workers: int = typer.Option(None, "--workers", "-j", help="Candidates evaluated in parallel."),
    backend: str = typer.Option(None, "--backend", help="sim, hw (alias neuron: Trainium, the current Neuron SDK) or "
                                                        "auto."),
    hw_top_k: int = typer.Option(None, "--hw-top-k", help="With --backend hw: the sim-fastest candidates per "
                                                         "iteration measured on hardware (default 2), besides those "
                                                         "the cost model cannot rank."),
    hw_profile: bool = typer.Option(None, "--hw-profile/--no-hw-profile",
                                    help="With --backend hw: capture a Neuron Explorer profile of each measurement."),
    target: str = typer.Option(None, "--target", help=f"{targets.choices()} (default: the problem's)."),
    isolation: str = typer.Option(None, "--isolation",
                                  help="Sandbox for candidates: auto (strongest available), bwrap, userns or none."),
    allow_unisolated: bool = typer.Option(None, "--allow-unisolated",
                                          help="Run LLM-written kernels without a sandbox when none is available "
                                               "(they can read and write what you can)."),
    calibration: Path = typer.Option(None, "--calibration",
                                     help="Cost-model calibration file from `autocomp calibrate` for the sim "
                                          "backend's estimates (the run keeps a copy; --resume uses it). The "
                                          "neuron (hw) backend measures and ignores it."),
    nki_version: str = typer.Option(None, "--nki-version",
                                    help="Release of the current NKI dialect (e.g. 0.6) v2 kernels follow, over the "
                                         "problem's own nki_version (default: the one the simulator models; "
                                         "--resume keeps the run's)."),
    executor: str = typer.Option(None, "--executor",
                                 help="Where candidates run: local (this machine) or ray (Ray tasks on a cluster; "
                                      "pip install 'autocomp[ray]')."),
    ray_address: str = typer.Option(None, "--ray-address", metavar="ADDR",
                                    help="With --executor ray: the cluster to join (auto, host:port); default: a "
                                         "private Ray cluster on this machine."),
    runs_dir: Path = typer.Option(None, "--runs-dir", help="Directory that holds run directories (default: "
                                  "$AUTOCOMP_RUNS, else runs/)."),
    # --out names what a command writes everywhere else; it was once this option's name, so it fails with the fix.
    old_out: str = typer.Option(None, "--out", hidden=True, help="Not an option: use --runs-dir."),
    memory: Path = typer.Option(None, "--memory", metavar="PATH",
                                help="Experience memory file shared across runs (default: $AUTOCOMP_MEMORY, else "
                                     "$XDG_DATA_HOME/autocomp/memory.sqlite)."),
    no_memory: bool = typer.Option(False, "--no-memory",
                                   help="Neither show earlier runs' experience in plan prompts nor record this "
                                        "run's."),
    seed: int = typer.Option(None, "--seed", help="Seed for reproducible sampling (menus, ensembles, knobs)."),
    no_llm_cache: bool = typer.Option(None, "--no-llm-cache/--llm-cache",
                                      help="Ignore cached LLM answers (fresh ones are still stored)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print estimated LLM calls and dollars (and whether an "
                                 "API key is set); spend nothing."),
    resume: str = typer.Option(None, "--resume", help="Continue an interrupted run (id, prefix or path)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Optimize PROBLEM: beam search with an LLM agent (plan, implement, repair) or the knob tuner."""
    from autocomp.llm import BudgetExceeded, LLMConfigError
    from autocomp.problem import ProblemError
    from autocomp.search.config import ConfigError, build_config, options_layers, read_config_file
    from autocomp.search.display import RunDisplay, summary_lines
    from autocomp.search.prompts import PromptError
    from autocomp.search.reuse import check_calibration, problem_for_config
    from autocomp.search.runner import SearchError, run_optimization
    from autocomp.settings import SettingsError
    from autocomp.store import StoreError

    json_errors(as_json)
    if old_out is not None:
        fail(f"optimize has no --out (it names the file a command writes); give the runs directory as "
             f"--runs-dir {old_out}")
    if problem is None and resume is None and config is None:
        fail("give a PROBLEM (a directory or a suite name, e.g. `autocomp optimize gemm_bf16`) or --resume RUN")
    options = {"models": model or None, "llm_base_url": llm_base_url, "llm_timeout": llm_timeout,
               "manual_timeout": manual_timeout, "manual_stdin": manual_stdin, "agent": agent,
               "beam": beam, "plans": plans, "impls": impls, "iterations": iterations, "early_stop": early_stop,
               "repairs": repairs, "max_usd": max_usd, "max_llm_calls": max_llm_calls, "workers": workers,
               "backend": backend, "target": target, "isolation": isolation,
               "allow_unisolated": allow_unisolated, "runs_dir": runs_dir, "seed": seed,
               "no_llm_cache": no_llm_cache,
               "calibration": calibration, "nki_version": nki_version,
               "memory_path": memory, "memory_enabled": False if no_memory else None, "hw_top_k": hw_top_k,
               "hw_profile": hw_profile, "executor": executor, "ray_address": ray_address}
    options = {k: v for k, v in options.items() if v is not None}
    if memory is not None and no_memory:
        fail("--memory and --no-memory contradict each other; give one")
    if config is not None:
        read_text_file(config, "config file", "save it as UTF-8 TOML")
    try:
        file_values, identity = read_config_file(config) if config is not None else ({}, {})
        cfg = build_config(file_values, **options)
        if config is not None and resume is None:  # a run's config.toml names the problem and calibration it used
            problem = problem_for_config(problem, identity, str(config))
            if problem is None:
                fail(f"{config}: names no problem; give a PROBLEM (e.g. `autocomp optimize gemm_bf16 --config "
                     f"{config}`)")
            check_calibration(cfg, file_values, identity, str(config))
    except (ConfigError, LLMConfigError, SettingsError, ProblemError) as e:
        fail(str(e))
    _check_settings(cfg)

    if dry_run:
        _dry_run(problem, resume, cfg)
        return

    if resume is not None:
        _check_resumable(resume, cfg)
    # A person answering prompts reads them in the terminal: no live table redrawn over them.
    manual = any(m.startswith("manual:") for m in cfg.llm.models)
    # Candidate-level progress goes to a terminal's stderr (never into piped or --json stdout).
    display = RunDisplay(err_console if as_json else console, quiet=quiet, live=False if manual else None,
                         progress=err_console if err_console.is_terminal else None)
    # SIGTERM stops like Ctrl-C: finished work is kept and the run can be resumed; the stop reason names it.
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        result = run_optimization(problem, cfg, resume=resume, resume_overrides=options_layers(file_values, options),
                                  on_event=display, on_start=display.attach)
    except (ProblemError, ConfigError, SearchError, PromptError, StoreError, LLMConfigError) as e:
        display.close()
        fail(str(e))
    except BudgetExceeded as e:  # a limit too small for even the first call
        display.close()
        fail(str(e))
    finally:
        display.close()
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json", exclude={"best_source"}), indent=2))
    else:
        for line in summary_lines(result):
            console.print(line, highlight=False, soft_wrap=True)
    if result.status == "interrupted":
        sys.stdout.flush()
        sys.stderr.flush()
        # Evaluations still running in the background are not waited for: they were not committed.
        os._exit(EXIT_INTERRUPTED)


def _check_settings(cfg) -> None:
    """What the config validation cannot see: a backend name, a finite timeout and a usable runs directory, checked
    before a run directory is created for a run that could not start."""
    from autocomp.evaluate.backends import BACKENDS
    from autocomp.search.config import did_you_mean

    if cfg.evaluation.backend not in BACKENDS:
        fail(f"--backend {cfg.evaluation.backend!r}: use one of {', '.join(BACKENDS)}"
             + did_you_mean(cfg.evaluation.backend, tuple(BACKENDS)))
    check_timeout(cfg.evaluation.timeout_s, "timeout_s")
    check_workers(cfg.evaluation.workers)
    if Path(cfg.runs_dir).exists() and not Path(cfg.runs_dir).is_dir():
        fail(f"--runs-dir {cfg.runs_dir}: is a file; give the directory that holds (or will hold) the run "
             "directories")


def _check_resumable(resume: str, cfg) -> None:
    """Read the whole run read-only before resuming it: a damaged run is refused before the resume writes to it."""
    from autocomp.cli._inputs import damaged_value
    from autocomp.store import RunReader, StoreError, resolve_run, schema

    try:
        run_dir = resolve_run(resume, cfg.runs_dir)
        if not schema.readable_as_is(schema.probe(run_dir / schema.DB_NAME)):
            return  # an older run that only the writer's migration makes readable; it checks it itself
        with RunReader.open_readonly(run_dir) as reader:
            try:
                reader.resume_state()
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                fail(damaged_value(reader.root, e))
    except StoreError as e:
        fail(str(e))


def _raise_terminated(signum, frame) -> None:
    from autocomp.search.runner import Terminated

    raise Terminated(f"stopped by {signal.Signals(signum).name}")


def _dry_run(problem: str | None, resume: str | None, cfg) -> None:
    from autocomp.problem import ProblemError
    from autocomp.search.config import ConfigError
    from autocomp.search.estimate import estimate_run
    from autocomp.search.runner import config_from_run
    from autocomp.store import StoreError
    from autocomp.suite.location import load_problem

    try:
        if resume is not None:
            from autocomp.problem import Problem
            from autocomp.store import RunReader, resolve_run

            with RunReader.open_readonly(resolve_run(resume, cfg.runs_dir)) as reader:
                cfg = config_from_run(reader.config(), {})
                loaded = Problem.load(reader.problem_dir() or reader.info.problem_path, reader.problem_variant)
        else:
            loaded = load_problem(problem)
        estimate = estimate_run(loaded, cfg)
    except (ProblemError, StoreError, ConfigError) as e:
        fail(str(e))
    console.print(f"[bold]dry run[/] for {loaded.name}: nothing will be called or spent", highlight=False)
    for line in estimate.lines():
        console.print(line, highlight=False)
    for line in _missing_keys(cfg):
        console.print(line, highlight=False, markup=False)
    if cfg.llm.max_usd is not None and estimate.cost_usd > cfg.llm.max_usd:
        console.print(f"the estimate exceeds --max-usd {cfg.llm.max_usd:.2f}: the run will stop when the budget is "
                      "spent", highlight=False)


def _missing_keys(cfg) -> list[str]:
    """For a dry run: each model whose provider needs an API key that is not set (the real run would stop)."""
    from autocomp.llm import parse_model_spec

    if not cfg.llm_requested():
        return []
    lines = []
    for model in cfg.resolved_models():
        info = parse_model_spec(model).info
        if info.key_required and info.key_env and not os.environ.get(info.key_env):
            lines.append(f"API key missing: {model} needs ${info.key_env}, which is not set; the run would stop "
                         f"at its first call (set it, or use --agent knobs)")
    return lines


def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)
