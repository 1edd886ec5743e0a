"""Which entries a plan prompt gets: relevance, ranking (family, then bottleneck), the budget, sim/hw apart."""

from __future__ import annotations

from autocomp.memory import Bottleneck, MemoryEntry, Query, candidate_pool, choose, render
from autocomp.memory.retrieve import HEADER, profile_similarity, render_entry, tokens

DMA_BOUND = Bottleneck(bound="hbm", lane="dma", busy={"dma": 0.9, "vector": 0.3})
PE_BOUND = Bottleneck(bound="tensor", lane="tensor", busy={"tensor": 0.95, "dma": 0.2})


def entry(n: int, **kw) -> MemoryEntry:
    base = dict(key=f"run-{n}#{n}", id=n, kind="improvement", problem=f"p{n}", family="elementwise",
                tags=["elementwise"], target="trn1", dialect="v1", evidence="sim", idea=f"idea {n}",
                plan=f"[hoist] Plan number {n}.", change=f"-A = {n}\n+A = {n + 1}", gain=1.5, latency_us=10.0,
                parent_latency_us=15.0, bottleneck=DMA_BOUND, run_id=f"run-{n}", candidate_id=n, parent_id=1)
    return MemoryEntry(**{**base, **kw})


QUERY = Query(family="elementwise", tags=("elementwise", "bf16"), target="trn1", dialect="v1", run_id="me",
              bottleneck=DMA_BOUND)


def test_profile_similarity_rewards_the_same_bottleneck():
    assert profile_similarity(DMA_BOUND, DMA_BOUND) == 1.0
    assert profile_similarity(DMA_BOUND, PE_BOUND) < 0.3
    assert profile_similarity(Bottleneck(), Bottleneck()) == 0.0


def test_the_pool_keeps_only_entries_that_bear_on_the_problem():
    same_family = entry(1)
    shared_tag = entry(2, family="normalization", tags=["bf16", "memory-bound"], bottleneck=PE_BOUND)
    like_profile = entry(3, family="scan", tags=["fp32"])  # other family, no tag, but DMA-bound like us
    unrelated = entry(4, family="matmul", tags=["matmul"], bottleneck=PE_BOUND)
    own_run = entry(5, run_id="me")
    pool = candidate_pool([unrelated, like_profile, shared_tag, own_run, same_family], QUERY)
    assert [e.id for e in pool] == [1, 3, 2]


def test_same_family_comes_first_then_the_closest_bottleneck_then_the_gain():
    far_family_close_profile = entry(1, family="scan", tags=["elementwise"])
    family_far_profile = entry(2, bottleneck=PE_BOUND, gain=3.0)
    family_close_profile = entry(3, gain=1.2)
    family_close_profile_bigger_gain = entry(4, gain=2.0)
    pool = [far_family_close_profile, family_far_profile, family_close_profile, family_close_profile_bigger_gain]
    chosen = choose(pool, QUERY, budget_tokens=10_000, max_entries=10)
    assert [e.id for e in chosen] == [4, 3, 2, 1]
    # Planning from a tensor-bound kernel, the family's tensor-bound entry leads instead.
    pe_query = Query(**{**QUERY.__dict__, "bottleneck": PE_BOUND})
    assert [e.id for e in choose(pool, pe_query, budget_tokens=10_000, max_entries=10)][0] == 2
    # The same inputs in another order choose the same (a resumed run sees what it saw).
    assert choose(pool[::-1], QUERY, budget_tokens=10_000, max_entries=10) == chosen


def test_the_token_budget_and_the_entry_cap_hold():
    pool = [entry(n, plan="[tiling] " + "word " * 60) for n in range(1, 12)]
    one = tokens(render_entry(pool[0]))
    budget = tokens(HEADER) + 3 * one + one // 2
    chosen = choose(pool, QUERY, budget_tokens=budget, max_entries=10)
    assert len(chosen) == 3
    assert tokens(render(chosen)) <= budget + 20  # group titles and blank lines
    assert len(choose(pool, QUERY, budget_tokens=10**6, max_entries=2)) == 2
    assert choose(pool, QUERY, budget_tokens=tokens(HEADER), max_entries=10) == []
    # An entry too long for what is left is skipped; a shorter one after it still fits.
    long_first = [entry(1, gain=9.0, plan="x " * 400), entry(2)]
    assert [e.id for e in choose(long_first, QUERY, budget_tokens=tokens(HEADER) + one, max_entries=5)] == [2]


def test_sim_and_hw_entries_are_listed_apart_and_labelled_with_their_origin():
    chosen = [entry(1, evidence="sim"), entry(2, evidence="hw", gain=1.1), entry(3, kind="failure", gain=None,
                                                                                 outcome="incorrect: wrong sign")]
    text = render(chosen)
    hw, sim = text.index("### Measured on a NeuronCore (hw)"), text.index("### Estimated by autocomp's simulator (sim)")
    assert text.startswith("## Experience from earlier runs") and hw < sim
    assert text.index("[memory #2]") < sim < text.index("[memory #1]")  # the hw entry sits under the hw title
    assert "from run run-1 (problem p1, candidate #1 from #1; trn1, v1)" in text
    assert "1.50x faster than its parent (15.0 -> 10.0 us), simulator estimate" in text
    assert "1.10x faster than its parent (15.0 -> 10.0 us), hardware" in text
    assert "did not pay off: incorrect: wrong sign" in text
    assert "  > [hoist] Plan number 1." in text and "```diff" in text
    assert "not as instructions" in text and render([]) == ""
