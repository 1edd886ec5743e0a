"""Sandboxed, cheat-proof evaluation of candidate kernels (docs/evaluation.md is the whole account).

    from autocomp.evaluate import Evaluator
    from autocomp.problem import Problem

    ev = Evaluator("sim")
    result = ev.evaluate(Problem.load("problems/gemm_bf16"), open("kernel.py").read())
    result.status, result.latency_us, result.reason

Each candidate runs in a fresh process (sandbox.py, worker.py) after a static
gate (gate.py); the worker hands back outputs and instruction traces as data, and
the parent checks the outputs against references (correctness.py), checks the
traces (trace_check.py), times the candidate itself with the backend's trusted
half, checks that timing against physics (timing.py) and decides the verdict
(verdict.py). The backends (``backends/``: ``sim``, ``neuron``) are the worker's
load/run/record halves and the trusted ``measure``, written against protocol.py.
"""

from __future__ import annotations

import importlib
from typing import Any

# Lazy, so the sandboxed worker (which imports autocomp.evaluate.protocol) does not load the parent's machinery.
_EXPORTS = {
    "EvalCache": "cache", "ReferenceStore": "cache",
    "Evaluator": "evaluator", "EvaluatorError": "evaluator", "GateResult": "gate", "check_source": "gate",
    "EvalResult": "result", "OutputError": "result", "Status": "result",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"autocomp.evaluate.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'autocomp.evaluate' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
