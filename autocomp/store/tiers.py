"""A two-tier run's figures side by side: each candidate's simulator (``search``) and hardware (``hw``) evaluation.

Read by ``autocomp runs show`` (text and ``--json``) and the report, so both say the same thing
(docs/evaluation.md#two-tier-search).
"""

from __future__ import annotations

from typing import Any

from autocomp.store.reader import HW, SEARCH


def tier_rows(reader) -> list[dict[str, Any]]:
    """One dict per candidate: its sim status and latency, and its hw status, latency and SDK when measured."""
    sim = {e.candidate_id: e for e in reader.evaluations(purpose=SEARCH)}
    hw = {e.candidate_id: e for e in reader.evaluations(purpose=HW)}
    rows = []
    for c in reader.candidates():
        s, h = sim.get(c.id), hw.get(c.id)
        rows.append({"id": c.id, "iteration": c.iteration, "origin": c.origin,
                     "sim_status": s.status if s else None, "sim_latency_us": s.latency_us if s else None,
                     "sim_evidence": s.evidence if s else None,
                     "hw_status": h.status if h else None, "hw_latency_us": h.latency_us if h else None,
                     "hw_tool_version": h.result.get("tool_version") if h else None,
                     "hw_sdk": (h.result.get("profile") or {}).get("sdk") if h else None,
                     **measured_on((h.result.get("profile") or {}) if h else {})})
    return rows


def measured_on(profile: dict[str, Any]) -> dict[str, Any]:
    """Where a hw figure was measured, from its profile: the NeuronCore, and on a Ray cluster the node's IP and
    id (docs/evaluation.md#running-evaluations-on-a-ray-cluster); None where not recorded."""
    return {"hw_core": profile.get("neuron_core"), "hw_node_ip": profile.get("node_ip"),
            "hw_node_id": profile.get("node_id")}


def measured(rows: list[dict[str, Any]]) -> bool:
    """Whether any candidate of the run was measured on hardware beside its sim evaluation."""
    return any(row["hw_status"] is not None for row in rows)
