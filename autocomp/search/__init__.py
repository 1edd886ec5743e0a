"""The search: beam search (or another strategy) over candidate kernels with an LLM agent or the knob tuner.

    from autocomp.search import SearchConfig, run_optimization
    result = run_optimization("gemm_bf16", SearchConfig(agent="knobs"))

Parts, one job per module:

- ``config``      SearchConfig: every option, TOML loading
- ``runner``      one run start to finish (store, evaluator, stages, re-validation) -> RunResult
- ``loop``        SearchLoop: stages, early stop, checkpoints, resume by replay
- ``strategy``    the Strategy seam (which candidates to build on; checkpoint state) and its registry
- ``beam``        BeamSearch, the strategy shipped: the fastest correct candidates, a diversity rule
- ``decisions``   the decision record: what was decided is committed before it is acted on, replayed on resume
- ``selection``   ranking, hardware noise margin, diversity rule, improvement test
- ``session``     candidates: dedup by normalized source, slots, parallel evaluation, store records
- ``agent``       LLMAgent: plan -> implement -> repair
- ``prompts``     templates and Trainium context from ``prompts/``; menu dropout
- ``extract``     the kernel in an LLM answer, or why there is none
- ``knob_tuner``  the pattern-search proposer over knob spaces (``autocomp.knobs``: spaces and source rewriting)
- ``estimate``    ``--dry-run`` figures; ``display`` the live progress view
"""

from autocomp.knobs import KnobSpace, knob_space, rewrite_constants
from autocomp.search.beam import BeamSearch
from autocomp.search.config import ConfigError, SearchConfig, build_config, load_config_file
from autocomp.search.extract import ExtractionError, extract_kernel
from autocomp.search.knob_tuner import KnobTuner
from autocomp.search.loop import Proposer, SearchLoop, Stage
from autocomp.search.node import Node
from autocomp.search.outcome import Outcome
from autocomp.search.runner import RunResult, SearchError, run_optimization
from autocomp.search.selection import improved, rank, select_beam
from autocomp.search.session import Session
from autocomp.search.strategy import STRATEGIES, Strategy, register_strategy

__all__ = [
    "BeamSearch",
    "ConfigError",
    "ExtractionError",
    "KnobSpace",
    "KnobTuner",
    "Node",
    "Outcome",
    "Proposer",
    "RunResult",
    "STRATEGIES",
    "SearchConfig",
    "SearchError",
    "SearchLoop",
    "Session",
    "Stage",
    "Strategy",
    "build_config",
    "extract_kernel",
    "improved",
    "knob_space",
    "load_config_file",
    "rank",
    "register_strategy",
    "rewrite_constants",
    "run_optimization",
    "select_beam",
]
