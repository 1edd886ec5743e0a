"""What a finished run leaves in the memory: accepted improvements against the kernel they improved on, and
plans that never paid off."""

from __future__ import annotations

from types import SimpleNamespace

from autocomp.search.experience import compact_diff, failures, improvements, run_entries
from autocomp.search.node import Node
from autocomp.search.outcome import Outcome

PROFILE = {"roofline_bound": "hbm", "dma_active_time_percent": 0.8, "critical_path_shares": {"dma": 0.7,
                                                                                               "vector": 0.2}}


def node(i, origin, parent=None, *, latency=None, status="correct", plan=None, evidence="sim", src=None):
    outcome = Outcome(status=status, latency_us=latency, evidence=evidence, reason="kernel.py:3: bad tile",
                      profile_summary=PROFILE)
    return Node(id=i, source=src or f"A = {i}\n", iteration=0 if parent is None else 1, origin=origin,
                parent_id=parent, plan=plan, outcome=outcome)


PROBLEM = SimpleNamespace(spec=SimpleNamespace(name="p", family_name="elementwise", tags=["elementwise"],
                                               dialect="v1"))


def test_improvements_count_against_the_nearest_correct_ancestor_and_honour_the_threshold():
    nodes = [node(1, "baseline", latency=100.0),
             node(2, "llm", 1, status="compile_error", plan="[tiling] big tiles"),
             node(3, "repair", 2, latency=50.0, plan="[tiling] big tiles"),  # fixes #2: gain over #1
             node(4, "llm", 3, latency=49.99, plan="[hoist] tiny"),  # within min_gain: not an improvement
             node(5, "knob", 3, latency=40.0, plan="knobs: A=5"),
             node(6, "llm", 1, latency=20.0, plan="[x] fast but failed re-validation")]
    found = improvements(nodes, min_gain=0.002, hw_margin=0.01, exclude=[6])
    assert [(n.id, base.id, round(g, 3)) for n, base, g in found] == [(3, 1, 2.0), (5, 3, 1.25)]


def test_hardware_gains_must_beat_the_noise_margin_too():
    nodes = [node(1, "baseline", latency=100.0, evidence="hw"), node(2, "llm", 1, latency=99.0, plan="p",
                                                                     evidence="hw")]
    assert improvements(nodes, min_gain=0.002, hw_margin=0.01) == []
    assert improvements(nodes, min_gain=0.002, hw_margin=0.0)


def test_failures_are_plans_that_never_paid_off_wrong_results_first():
    nodes = [node(1, "baseline", latency=100.0),
             node(2, "llm", 1, status="incorrect", plan="[fuse] fuse everything"),
             node(3, "repair", 2, status="compile_error", plan="[fuse] fuse everything"),
             node(4, "llm", 1, latency=130.0, plan="[unroll] unroll the loop"),  # correct but slower
             node(5, "llm", 1, latency=60.0, plan="[tiling] big tiles"),  # paid off: not a failure
             node(6, "llm", 1, status="incorrect", plan="[tiling] big tiles")]  # its sibling did pay off
    found = failures(nodes)
    assert [(n.id, base.id) for n, base, _ in found] == [(3, 1), (4, 1)]
    assert found[0][2].startswith("compile_error: kernel.py:3") and "0.77x" in found[1][2]


def test_run_entries_carry_provenance_profile_and_a_compact_diff():
    before = "import x\n\nTILE = 64\n\n\ndef k():\n    pass\n"
    nodes = [node(1, "baseline", latency=100.0, src=before),
             node(2, "llm", 1, latency=50.0, plan="[tiling] Use TILE = 512.", src=before.replace("64", "512")),
             node(3, "llm", 1, status="incorrect", plan="[fuse] fuse")]
    entries = run_entries(nodes, problem=PROBLEM, target="trn1", run_id="r1", min_gain=0.002, hw_margin=0.01,
                          now=5.0)
    imp, fail = entries
    assert (imp.key, imp.kind, imp.gain, imp.parent_id, imp.candidate_id) == ("r1#2", "improvement", 2.0, 1, 2)
    assert imp.change == "@@ -2,3 +2,3 @@\n\n-TILE = 64\n+TILE = 512" and imp.bottleneck.lane == "dma"
    assert imp.family == "elementwise" and imp.idea == "Use TILE = 512."
    assert (fail.key, fail.kind, fail.outcome[:9]) == ("r1#3", "failure", "incorrect")
    assert compact_diff("a\n", "a\n") == ""
