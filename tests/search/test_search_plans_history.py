"""Plans that know about each other: siblings see the plans made before them, and the history shows the lineage and
the same ideas on other branches, in whole sentences."""

from __future__ import annotations

import re

import autocomp
from autocomp.llm import Budget, LLMService
from autocomp.search import history
from autocomp.search.agent import LLMAgent
from autocomp.search.config import SearchConfig
from autocomp.search.node import BASELINE, LLM, Node
from autocomp.search.outcome import Outcome
from autocomp.search.prompts import ProblemBrief, PromptLibrary, PromptRenderer
from tests.fakes.search import FakeEvaluator, ScriptedClient, scripted_answer

_PLAN_NO = re.compile(r"This is plan (\d+) of (\d+)")


def _numbered_plans(messages: list[dict]) -> str:
    user = messages[-1]["content"]
    if "## Your task\nThis is plan" in user:
        n = _PLAN_NO.search(user).group(1)
        return f"[tiling] Plan number {n}: use TILE_F = 512. It moves more data per DMA."
    return scripted_answer(messages)


def test_each_plan_for_a_kernel_sees_the_plans_made_before_it(tmp_path, problem_dir):
    client = ScriptedClient(_numbered_plans)
    llm = LLMService("vllm:fake", {"vllm": client}, budget=Budget())
    autocomp.optimize(problem_dir, agent="llm", evaluator=FakeEvaluator(), llm=llm, out=tmp_path / "runs",
                      workers=2, beam=1, plans=3, impls=1, repairs=0, iterations=1, tune_after_llm=False,
                      llm_concurrency=4)
    plans = sorted((m[-1]["content"] for m in client.requests if "This is plan" in m[-1]["content"]),
                   key=lambda u: _PLAN_NO.search(u).group(1))
    assert len(plans) == 3
    first, second, third = plans
    assert "Plans already made for this kernel" not in first
    assert "Plan 1 of 3:\n[tiling] Plan number 1: use TILE_F = 512." in second and "Plan number 2" not in second
    assert "Plan number 1" in third and "Plan 2 of 3:\n[tiling] Plan number 2" in third
    assert "yours must be a different idea" in third


def _node(id, parent, iteration, plan, status="correct", latency=None, reason=""):
    outcome = Outcome(status=status, latency_us=latency, reason=reason)
    return Node(id=id, source=f"# kernel {id}\n", iteration=iteration, origin=BASELINE if parent is None else LLM,
                parent_id=parent, plan=plan, outcome=outcome)


class _Session:
    """The part of a Session the history reads."""

    def __init__(self, nodes):
        self.nodes = {n.id: n for n in nodes}

    def all_nodes(self):
        return list(self.nodes.values())

    def lineage(self, node):
        chain = [node]
        while chain[-1].parent_id is not None:
            chain.append(self.nodes[chain[-1].parent_id])
        return chain[::-1]


LONG_REASON = ("kernel.py:12: [err_num_partition_exceed_arch_limit] the partition dimension 256 exceeds the 128 "
               "partitions of SBUF. Split the tile into two tiles of 128 partitions each, or move the extra rows "
               "into a block dimension in front of the partition axis. " + "More detail follows here. " * 6)


def test_history_shows_the_lineage_and_a_cousin_branchs_failed_idea(problem):
    nodes = [
        _node(1, None, 0, "the problem's own kernel", latency=100.0),
        _node(2, 1, 1, "[hoist] Load the scale once. Then reuse it.", latency=80.0),
        _node(3, 1, 1, "[tiling] Use 512-column tiles.", latency=90.0),
        _node(4, 2, 2, "1. [fusion] Fuse the two passes.", latency=70.0),
        _node(5, 3, 2, "[dma-sizing] Coalesce the loads into one.", status="compile_error", reason=LONG_REASON),
        _node(6, 3, 2, "Unrolled everything by hand.", latency=95.0),
        _node(7, 4, 3, "[hoist] Not shown: planned in the iteration being planned.", latency=60.0),
    ]
    library = PromptLibrary()
    agent = LLMAgent(None, library, PromptRenderer(library, ProblemBrief.from_problem(problem)),
                     SearchConfig(history_limit=12))
    lines = agent.history(nodes[3], 3, _Session(nodes), offered=["dma-sizing", "tiling"])
    text = "\n".join(lines)
    own, _, elsewhere = text.partition("On other branches of this run, by idea:")
    assert own.startswith("From this kernel and its ancestors (oldest first):")
    assert "#1 -> #2 (iteration 1, llm): [hoist] Load the scale once. Then reuse it. -> correct, 80.0 us" in own
    assert "#1 -> #3 (iteration 1, llm): [tiling] Use 512-column tiles." in own
    assert "#2 -> #4 (iteration 2, llm): [fusion] Fuse the two passes. -> correct, 70.0 us (sim), 1.14x" in own
    # The cousin's failure (#5 from #3) leads the other branches, its reason cut at a sentence boundary.
    first = elsewhere.strip().splitlines()[0]
    assert first.startswith("- [dma-sizing]: 1 try, 0 correct; failed #5: compile_error: kernel.py:12: "
                            "[err_num_partition_exceed_arch_limit] the partition dimension 256 exceeds")
    assert first.endswith("partitions of SBUF.")
    assert '"Unrolled everything by hand.": 1 try, 1 correct; best #6 (from #3)' in elsewhere
    assert "Not shown" not in text and "#7" not in text


def test_summaries_end_at_sentence_boundaries():
    text = "First sentence is here. Second one follows it. Third sentence is long enough to pass the limit."
    assert history.summarize(text, 50) == "First sentence is here. Second one follows it."
    assert history.summarize(text, 30) == "First sentence is here."
    assert history.summarize("One sentence that is far too long " * 10, 40).endswith(" ...")
    assert history.summarize("Version 1.5 of x. Next.", 19) == "Version 1.5 of x."


def test_an_idea_is_its_menu_item_or_its_first_sentence():
    assert history.idea_of("1. [hoist] Load once.", {"hoist"}) == "hoist"
    assert history.idea_of("[other] Something new. More.", {"hoist"}) == "something new"
    assert history.idea_of("PLAN A: raise TILE_F to 512. Then more.") == "plan a raise tile_f to 512"
    assert history.plan_title("- [hoist] Load the bias once.\n2. details") == "Load the bias once."
