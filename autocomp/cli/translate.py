"""`autocomp problems new NAME --from-reference FILE`: a problem whose first kernel the LLM writes.

The problem directory is created from the reference (autocomp.suite.reference_import), then the LLM writes
and repairs kernels until one is correct in the simulator (autocomp.search.translate); ``--then-optimize``
goes on to optimise it like any other problem.
"""

from __future__ import annotations

from pathlib import Path

from autocomp.cli._common import console, err_console, fail

DEFAULT_MAX_ATTEMPTS = 5


def parse_tolerance(text: str) -> dict[str, float]:
    """``rel_l2=1e-2,atol=1e-2,rtol=2e-2`` (every key required) into a [tolerance] table."""
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in ("rel_l2", "atol", "rtol"):
            fail(f"--tolerance {text!r}: write rel_l2=X,atol=Y,rtol=Z ({part!r} is not one of them)")
        try:
            values[key] = float(value)
        except ValueError:
            fail(f"--tolerance {text!r}: {key} = {value.strip()!r} is not a number")
        if not values[key] >= 0:
            fail(f"--tolerance {text!r}: {key} must be a number >= 0")
    missing = [k for k in ("rel_l2", "atol", "rtol") if k not in values]
    if missing:
        fail(f"--tolerance {text!r}: give {', '.join(missing)} too (rel_l2=X,atol=Y,rtol=Z)")
    return values


def translate_command(name: str, parent: Path, reference: Path | None, *, dialect: str, target: str | None,
                      tolerance: str | None, resume: bool, max_attempts: int, options: dict,
                      then_optimize: bool) -> None:
    """Create (or with ``resume`` continue) NAME's translation; optionally optimise the result."""
    from autocomp.evaluate import EvaluatorError
    from autocomp.llm import BudgetExceeded, LLMConfigError, LLMError, build_service
    from autocomp.problem import TRANSLATION_DIR, ProblemError
    from autocomp.search.config import ConfigError, build_config
    from autocomp.search.prompts import PromptError
    from autocomp.search.runner import SearchError, default_evaluator, llm_settings, preflight_llm
    from autocomp.search.translate import TranslationError, Translator
    from autocomp.suite.reference_import import ReferenceImportError, create_from_reference
    from autocomp.targets import DEFAULT_TARGET

    if max_attempts < 1:
        fail(f"--max-attempts {max_attempts}: give at least 1")
    try:
        cfg = build_config({}, **{k: v for k, v in options.items() if v is not None})
    except (ConfigError, LLMConfigError) as e:
        fail(str(e))
    if not cfg.llm_requested():  # a --model, or a provider key in the environment
        fail("translating a reference needs an LLM: pass --model provider:model (--model manual to answer the "
             "prompts yourself) or set ANTHROPIC_API_KEY / OPENAI_API_KEY")
    root = parent / name
    if resume:
        if not (root / TRANSLATION_DIR).is_dir():
            fail(f"{root}: no translation to resume (no {TRANSLATION_DIR}/ directory); start one with "
                 f"`autocomp problems new {name} --from-reference FILE`")
        if reference is not None:
            err_console.print(f"[dim]--resume continues with {root / 'reference.py'}; {reference} is not read "
                              "again[/]", highlight=False)
    else:
        if reference is None:
            fail("give --from-reference FILE (or --resume to continue a translation)")
        try:
            preflight_llm(cfg)
            create_from_reference(name, parent, reference, dialect=dialect, target=target or DEFAULT_TARGET,
                                  tolerance=parse_tolerance(tolerance) if tolerance else None)
        except (ReferenceImportError, LLMConfigError, FileExistsError) as e:
            fail(str(e))
        except OSError as e:
            fail(f"{parent}: cannot create the problem there ({e.strerror or e}); pass --dir with a directory you "
                 "can write")
        console.print(f"created {root} from {reference} (problem.toml, reference.py); the LLM now writes kernel.py",
                      highlight=False)
    workdir = root / TRANSLATION_DIR
    evaluator = llm = None
    try:
        evaluator = default_evaluator(cfg)
        llm = build_service(llm_settings(cfg, workdir))
        translator = Translator(root, llm, evaluator, on_event=_progress,
                                temperature=cfg.llm.repair_temperature, max_tokens=cfg.llm.impl_max_tokens)
        result = translator.run(max_attempts)
        spent = llm.usage().total
        console.print(f"  LLM: {spent.calls} call(s), ${spent.cost_usd:.2f}"
                      + (f", {spent.cache_hits} from the cache" if spent.cache_hits else ""), highlight=False)
    except (ProblemError, TranslationError, EvaluatorError, SearchError, PromptError, LLMConfigError) as e:
        fail(str(e))
    except (BudgetExceeded, LLMError) as e:
        fail(str(e))
    finally:
        if llm is not None:
            llm.close()
        if evaluator is not None:
            evaluator.close()
    resume_cmd = f"autocomp problems new {name} --dir {parent} --resume --model {' --model '.join(cfg.llm.models)}" \
        if cfg.llm.models else f"autocomp problems new {name} --dir {parent} --resume"
    if result.status != "translated":
        why = {"pending": "waiting for a manual answer", "budget": "the LLM budget is spent",
               "failed": "no correct kernel yet"}[result.status]
        fail(f"{root}: {why}: {result.message}. Everything is kept in {workdir}: continue with `{resume_cmd}`, or "
             "write kernel.py yourself (e.g. from the last attempt's kernel.py)", code=1)
    console.print(f"translated: {result.message}; problem.toml says origin = \"translated\"", highlight=False)
    if not then_optimize:
        console.print(f"  next: optimise it with `autocomp optimize {root}`", highlight=False)
        return
    _optimize(root, cfg)


def _progress(kind: str, data: dict) -> None:
    if kind == "asking":
        err_console.print(f"[dim]attempt {data['attempt']}: asking the LLM ({data['phase']})...[/]", highlight=False)
    elif kind == "attempt":
        from autocomp.search.translate import Attempt

        console.print(f"  {Attempt(**data).line()}", highlight=False, soft_wrap=True)


def _optimize(root: Path, cfg) -> None:
    """`autocomp optimize ROOT` with the same LLM and evaluation options."""
    from autocomp.search.display import RunDisplay, summary_lines
    from autocomp.search.runner import SearchError, run_optimization

    manual = any(m.startswith("manual") for m in cfg.llm.models)
    display = RunDisplay(console, quiet=False, live=False if manual else None)
    try:
        result = run_optimization(root, cfg, on_event=display, on_start=display.attach)
    except SearchError as e:
        fail(str(e))
    finally:
        display.close()
    for line in summary_lines(result):
        console.print(line, highlight=False, soft_wrap=True)
