"""Stored evaluation results read back as ``EvalResult``: the one place where old records are brought up to date.

A run directory keeps each evaluation's ``result_json`` exactly as it was recorded, and a
resumed run, the explorer and the report read records written by earlier versions of
autocomp. Readers that want the typed result get it here, migrated:

- fields added to ``EvalResult`` since the record was written (``warnings``, ``isolation``,
  ``compute_work``, ``failure_at``, ...) take their defaults;
- names that earlier search code accepted for a field (``OLD_NAMES``) fill that field when
  the record does not hold it under its own name;
- a neuron-profile summary stored whole (``{profile_id: {...}}``) is unwrapped to its fields;
- hints stored as ``{"message": ...}`` objects become their message;
- a record without a ``reason`` gets an empty one;
- fields this version does not know (a newer autocomp's, or a caller's own) are left out of
  the typed result; ``Evaluation.result`` still holds them.

Anything else that does not fit ``EvalResult`` is an error naming the candidate, the field and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from autocomp.evaluate.result import EvalResult
from autocomp.store.errors import StoreError
from autocomp.validation import error_message

# Old name -> the EvalResult field it meant.
OLD_NAMES = {
    "summary": "profile",
    "profile_summary": "profile",
    "spread": "timing_spread",
    "evidence_tier": "evidence",
    "tier": "evidence",
}


def migrate_result(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (a stored result's JSON) with old names and shapes turned into ``EvalResult``'s."""
    out = dict(data)
    for old, new in OLD_NAMES.items():
        if old in out:
            value = out.pop(old)
            if out.get(new) is None:
                out[new] = value
    out["profile"] = _inner_summary(out.get("profile"))
    if isinstance(out.get("hints"), list):
        out["hints"] = [_hint_text(h) for h in out["hints"]]
    if out.get("reason") is None:
        out["reason"] = ""
    return {k: v for k, v in out.items() if k in EvalResult.model_fields}


def parse_result(data: Any, *, what: str = "evaluation result") -> EvalResult:
    """An ``EvalResult`` from a stored result (or one already typed); ``what`` names it in errors."""
    if isinstance(data, EvalResult):
        return data
    if not isinstance(data, Mapping):
        raise StoreError(f"{what}: expected a JSON object, got {type(data).__name__}")
    try:
        return EvalResult.model_validate(migrate_result(data))
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "result"
        raise StoreError(f"{what}: field {field}: {error_message(err)} (got {err.get('input')!r}); the record does not "
                         "fit this version's EvalResult. Re-evaluate the candidate, or fix the record by hand") \
            from None


def as_stored(result: EvalResult) -> EvalResult:
    """``result`` as a run store gives it back: stored as JSON, where a non-finite number among the free-form
    fields (``profile``, ``failure_at``) becomes null."""
    return parse_result(result.model_dump(mode="json"))


def _inner_summary(summary: Any) -> Any:
    """neuron-profile's summary JSON is ``{profile_id: {...}}``; a result holds the inner fields."""
    if summary is None:
        return {}
    if isinstance(summary, Mapping) and len(summary) == 1:
        only = next(iter(summary.values()))
        if isinstance(only, Mapping):
            return dict(only)
    return summary


def _hint_text(hint: Any) -> Any:
    if isinstance(hint, Mapping) and "message" in hint:
        return str(hint["message"])
    return hint
