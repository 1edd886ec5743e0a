"""Run directories: ``runs/<run-id>/`` with run.sqlite (WAL), config.toml, events.jsonl and candidates/<id>/.

The search loop writes through one :class:`RunStore`::

    store = RunStore.create("runs", problem, config, seed=0)
    base = store.add_candidate(problem.baseline_source, origin="baseline", iteration=0)
    store.record_evaluation(base, eval_result)          # one transaction, committed before returning
    llm = build_service(settings, on_call=store.record_llm_call)
    ...
    store.record_decisions(iteration, [(key, kind, data, parent_id)])  # before acting on them (resume replays)
    store.record_beam(iteration, beam_ids)               # checkpoint: the iteration is complete
    store.set_status("finished")

and continues an interrupted run with ``store, state = RunStore.resume(path)``
(see :class:`ResumeState`). Readers use :meth:`RunReader.open_readonly`; they
never block the writer.
"""

from autocomp.sources import normalize_source, source_hash
from autocomp.store.errors import (
    CorruptRunError,
    DuplicateEvaluationError,
    RunLockedError,
    RunNotFoundError,
    SchemaTooNewError,
    StoreError,
)
from autocomp.store.locate import RunSummary, effective_status, list_runs, resolve_run
from autocomp.store.reader import RunReader
from autocomp.store.records import BeamSnapshot, Candidate, Decision, Evaluation, LLMCall, ResumeState, RunInfo, Spend
from autocomp.store.run_store import RunStore, new_run_id

__all__ = [
    "BeamSnapshot",
    "Candidate",
    "CorruptRunError",
    "Decision",
    "DuplicateEvaluationError",
    "Evaluation",
    "LLMCall",
    "ResumeState",
    "RunInfo",
    "RunLockedError",
    "RunNotFoundError",
    "RunReader",
    "RunStore",
    "RunSummary",
    "SchemaTooNewError",
    "Spend",
    "StoreError",
    "effective_status",
    "list_runs",
    "new_run_id",
    "normalize_source",
    "resolve_run",
    "source_hash",
]
