"""Beam selection, noise margins, diversity and early stop (autocomp.search.selection)."""

from __future__ import annotations

from autocomp.search.node import Node
from autocomp.search.outcome import Outcome
from autocomp.search.selection import improved, rank, select_beam, stale_iterations


def node(i: int, latency: float | None, *, parent: str = "root", iteration: int = 1, evidence: str = "sim",
         status: str = "correct") -> Node:
    n = Node(id=i, source=f"K = {i}\n", iteration=iteration, origin="llm", meta={"beam_parent": parent})
    n.outcome = Outcome(status=status, latency_us=latency, evidence=evidence)
    return n


def test_rank_keeps_only_correct_fastest_first():
    nodes = [node(1, 30.0), node(2, 10.0), node(3, None, status="incorrect"), node(4, 20.0)]
    assert [n.id for n in rank(nodes, iteration=1)] == [2, 4, 1]


def test_ties_break_by_iteration_then_hash_never_by_id():
    a, b = node(7, 10.0, iteration=2), node(3, 10.0, iteration=1)
    assert [n.id for n in rank([a, b], iteration=3)] == [3, 7]
    c, d = node(1, 10.0), node(2, 10.0)
    assert [n.id for n in rank([c, d], iteration=1)] == [n.id for n in rank([d, c], iteration=1)]


def test_diversity_limits_slots_per_parent_but_fills_the_beam():
    nodes = [node(1, 10.0, parent="A"), node(2, 11.0, parent="A"), node(3, 12.0, parent="A"),
             node(4, 13.0, parent="A"), node(5, 50.0, parent="B")]
    beam = select_beam(nodes, 4, iteration=1)
    assert [n.id for n in beam] == [1, 2, 5, 3]  # at most 2 of 4 from parent A while B is available
    assert [n.id for n in select_beam(nodes[:4], 3, iteration=1)] == [1, 2, 3]  # nothing else: fill anyway
    assert [n.id for n in select_beam(nodes, 4, iteration=1, max_per_parent=4)] == [1, 2, 3, 4]
    assert [n.id for n in select_beam(nodes, 1, iteration=1)] == [1]


def test_hardware_newcomer_must_beat_the_incumbent_by_the_margin():
    old = node(1, 100.0, iteration=1, evidence="hw")
    close = node(2, 99.5, iteration=2, evidence="hw")  # 0.5% faster: noise
    clear = node(3, 97.0, iteration=2, evidence="hw")  # 3% faster: real
    assert [n.id for n in rank([old, close], iteration=2, hw_margin=0.01)] == [1, 2]
    assert [n.id for n in rank([old, clear], iteration=2, hw_margin=0.01)] == [3, 1]
    # Simulator timings are deterministic: no margin.
    assert [n.id for n in rank([node(1, 100.0), node(2, 99.9, iteration=2)], iteration=2)] == [2, 1]


def test_improved_uses_margins():
    assert improved(node(2, 99.0), node(1, 100.0), min_gain=0.002)
    assert not improved(node(2, 99.9), node(1, 100.0), min_gain=0.002)
    assert not improved(node(2, 99.5, evidence="hw"), node(1, 100.0, evidence="hw"), hw_margin=0.01)
    assert improved(node(2, 98.0, evidence="hw"), node(1, 100.0, evidence="hw"), hw_margin=0.01)
    assert improved(node(1, 5.0), None) and not improved(None, node(1, 5.0))


def test_stale_iterations_counts_since_the_last_real_gain():
    a, b, c = node(1, 100.0), node(2, 80.0), node(3, 79.99)
    assert stale_iterations([a, b, b, c]) == 2
    assert stale_iterations([a, a, b]) == 0
    assert stale_iterations([a]) == 0
