"""Stored evaluation results read back as EvalResult (autocomp/store/results.py): old records migrate, bad ones name
the candidate and the field."""

from __future__ import annotations

import math

import pytest

from autocomp.evaluate.result import EvalResult
from autocomp.store import RunStore, StoreError
from autocomp.store.results import as_stored, migrate_result
from tests.fakes.store_fixtures import BASELINE, VARIANT, result

# A search evaluation as the first EvalResult wrote it (before warnings, isolation, compute_work and failure_at),
# with the names and shapes earlier search code also accepted: a whole neuron-profile summary, "spread", hint
# objects, "evidence_tier".
OLD_RECORD = {
    "status": "correct", "reason": "correct on seeds [0, 1]", "latency_us": 12.5, "baseline_latency_us": 20.0,
    "speedup": 1.6, "location": None, "max_abs": 0.0, "rel_l2": 0.0, "errors": [],
    "summary": {"prof-1": {"total_time": 1.25e-05, "dma_active_time_percent": 0.75, "roofline_percent": 0.5,
                           "roofline_bound": "hbm"}},
    "profile_id": "prof-1", "hints": [{"message": "dma-bound: issue fewer, larger DMAs"}],
    "timing_samples_us": [12.5], "spread": 0.01, "timing_rounds": 1, "output_dtypes": ["float32"],
    "compute_dtypes": ["float32"], "mutated_inputs": [], "work_scaling": {}, "flags": [], "backend": "sim",
    "target": "trn2", "tool_version": "autocomp-sim-0.1.0+abc", "seeds": [0, 1], "problem": "vec_add",
    "problem_hash": "p" * 16, "source_hash": "s" * 16, "cache_hit": False, "timings": {"run": 0.5}, "log_tail": "",
    "evidence_tier": "sim",
}


@pytest.fixture
def store(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {"beam": 2}, seed=0) as s:
        yield s


def test_an_old_format_record_loads_as_an_eval_result(store):
    cid = store.add_candidate(BASELINE, origin="baseline", iteration=0)
    store.record_evaluation(cid, OLD_RECORD)
    typed = store.evaluation(cid).eval_result
    assert isinstance(typed, EvalResult)
    assert (typed.status, typed.latency_us, typed.evidence, typed.target) == ("correct", 12.5, "sim", "trn2")
    assert typed.profile == {"total_time": 1.25e-05, "dma_active_time_percent": 0.75, "roofline_percent": 0.5,
                             "roofline_bound": "hbm"}
    assert typed.timing_spread == 0.01 and typed.hints == ["dma-bound: issue fewer, larger DMAs"]
    assert (typed.warnings, typed.isolation, typed.compute_work, typed.failure_at) == ([], "", None, {})
    # The raw record is left as it was written.
    assert store.evaluation(cid).result["summary"] == OLD_RECORD["summary"]


def test_migration_keeps_the_current_name_over_an_old_one_and_drops_unknown_fields():
    data = migrate_result({"status": "correct", "timing_spread": 0.02, "spread": 0.5, "from_the_future": 1})
    assert data == {"status": "correct", "timing_spread": 0.02, "profile": {}, "reason": ""}


def test_a_record_that_fits_no_eval_result_names_the_candidate_and_the_field(store):
    cid = store.add_candidate(BASELINE, origin="baseline", iteration=0)
    store.record_evaluation(cid, result(latency_us="fast"))
    with pytest.raises(StoreError, match=rf"'search' evaluation of candidate {cid}: field latency_us: .*'fast'"):
        _ = store.evaluation(cid).eval_result


def test_a_fresh_result_and_its_stored_record_read_the_same(store):
    fresh = EvalResult(status="correct", reason="ok", latency_us=3.0, target="trn2", max_abs=float("nan"),
                       profile={"total_time": 3e-6, "mfu_estimated_percent": float("nan")}, hints=["h"])
    cid = store.add_candidate(VARIANT, origin="llm", iteration=1)
    store.record_evaluation(cid, fresh)
    stored, again = store.evaluation(cid).eval_result, as_stored(fresh)
    assert stored.profile == again.profile == {"total_time": 3e-6, "mfu_estimated_percent": None}
    assert math.isnan(stored.max_abs) and math.isnan(again.max_abs)
    assert stored.model_dump(exclude={"max_abs"}) == again.model_dump(exclude={"max_abs"})
