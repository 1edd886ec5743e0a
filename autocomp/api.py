"""The Python API: ``autocomp.optimize(problem, **options) -> RunResult``.

    import autocomp
    result = autocomp.optimize("gemm_bf16", agent="knobs", iterations=4)
    result.speedup, result.best_kernel_path

Options are those of ``autocomp optimize`` by their flat names (``beam=2``, ``workers=4``,
``llm_timeout=60``; see :class:`autocomp.search.SearchConfig`), or whole tables
(``search={"beam": 2}``); ``config`` names a TOML file whose values the keywords override (a run's
config.toml reruns that run: ``problem`` may then be left out);
``calibration=path`` applies a cost-model calibration file (``autocomp calibrate``) to the sim
backend's estimates; ``memory_path=path`` names the experience memory and ``memory_enabled=False`` turns it off
(docs/architecture.md#experience-memory).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from autocomp.search.config import build_config, options_layers, read_config_file
from autocomp.search.runner import RunResult, run_optimization


def optimize(problem: Any = None, *, config: str | Path | None = None, resume: str | Path | None = None,
             evaluator: Any = None, llm: Any = None, on_event: Callable[[str, dict], None] | None = None,
             env: Mapping[str, str] | None = None, **options: Any) -> RunResult:
    """Optimize ``problem`` (a Problem, a problem directory, or a suite problem's name) and return the result.

    ``resume`` continues an interrupted run instead (``problem`` is then read from the
    run). ``evaluator`` and ``llm`` replace the default sandboxed evaluator and the
    LLM service built from the options; ``on_event(kind, data)`` observes progress.
    """
    from autocomp.search.reuse import check_calibration, problem_for_config

    file_values, identity = read_config_file(config) if config is not None else ({}, {})
    cfg = build_config(file_values, **options)
    if config is not None and resume is None:  # a run's config.toml names its problem and calibration
        problem = problem_for_config(problem, identity, str(config))
        check_calibration(cfg, file_values, identity, str(config))
    return run_optimization(problem, cfg, resume=resume, resume_overrides=options_layers(file_values, options),
                            evaluator=evaluator, llm=llm, on_event=on_event, env=env)


__all__ = ["RunResult", "optimize"]
