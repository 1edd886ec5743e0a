"""What two runs must share to be the same search: the tests compare runs with these, candidate for candidate."""

from __future__ import annotations

import json
from pathlib import Path

from autocomp.store import RunReader


def run_trace(run_dir: Path) -> dict:
    """Candidates, verdicts, beams, decisions, winner and status of a run. LLM call ids are left out: a
    resumed run asks again what it had asked but not yet recorded, which adds call rows and shifts ids."""
    with RunReader.open_readonly(run_dir) as reader:
        evaluated = {e.candidate_id for e in reader.evaluations(purpose="search")}
        return {
            "candidates": [(c.id, c.parent_id, c.iteration, c.origin, c.source_hash, c.plan,
                            c.status if c.id in evaluated else None, c.latency_us) for c in reader.candidates()],
            "evaluations": sorted((e.candidate_id, e.purpose, e.status, e.latency_us) for e in reader.evaluations()),
            "beams": [(b.iteration, b.beam, b.best_candidate) for b in reader.beams()],
            "decisions": [(d.iteration, d.key, d.kind, d.parent_id, d.candidate_id,
                           {k: v for k, v in d.data.items() if k != "llm_call"}) for d in reader.decisions()],
            "best": reader.info.best_candidate,
            "status": (reader.info.status, reader.info.status_reason),
        }


def prompts_asked(run_dir: Path) -> set[str]:
    """Every distinct prompt a run sent (or replayed from the response cache), as canonical JSON."""
    with RunReader.open_readonly(run_dir) as reader:
        return {json.dumps(reader.llm_exchange(c.id)[0], sort_keys=True) for c in reader.llm_calls()}


def differences(a: dict, b: dict) -> list[str]:
    """The parts of two traces that differ, with the first differing entry of each."""
    out = []
    for part in a:
        if a[part] != b[part]:
            if isinstance(a[part], list):
                first = next((i for i, (x, y) in enumerate(zip(a[part], b[part])) if x != y),
                             min(len(a[part]), len(b[part])))
                out.append(f"{part}[{first}]: {a[part][first:first + 1]} vs {b[part][first:first + 1]} "
                           f"({len(a[part])} vs {len(b[part])} entries)")
            else:
                out.append(f"{part}: {a[part]} vs {b[part]}")
    return out
