"""The API digest of the system prompt lists what the simulator accepts, with the engines it really uses, and the
system prompt stays one stable, bounded prefix."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from autocomp.llm.types import estimate_tokens
from autocomp.nki import run_kernel
from autocomp.nki.loader import load_kernel
from autocomp.nki.shapes import TensorSpec
from autocomp.perf.lines import lane
from autocomp.search import api_digest
from autocomp.search.prompts import ProblemBrief, PromptLibrary, PromptRenderer
from autocomp.suite.location import bundled_problems_dir
from tests.fakes.api_probes import V1, V2

DIALECTS = ("v1", "v2")
# The calls whose instructions the simulator names after the call that does the work.
TRACED_AS = {"nl.zeros": "nl.full"}
# The cached prefix every call of a run repeats: dialect, target notes, rules and this digest.
SYSTEM_TOKEN_BUDGET = 4200
_SIGNATURE = re.compile(r"^- `((?:nl|nisa)\.[A-Za-z0-9_.]+)\(", re.MULTILINE)
_ALSO = re.compile(r"(nl|nisa)\.\{([^}]*)\}")


def _listed(text: str) -> set[str]:
    names = set(_SIGNATURE.findall(text))
    for alias, group in _ALSO.findall(text):
        names |= {f"{alias}.{n.strip()}" for n in group.split(",")}
    return names


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_digest_lists_only_calls_the_simulator_accepts(dialect):
    text = api_digest.digest(dialect)
    listed = _listed(text)
    assert len(listed) > 60
    assert all(api_digest.resolve(dialect, name) is not None for name in listed), \
        sorted(n for n in listed if api_digest.resolve(dialect, n) is None)
    accepted = set(api_digest.registry(dialect, api_digest.excluded()))
    assert {n for n in listed if n.count(".") == 1} == accepted  # and every accepted call, once
    for call in ("nisa.activation_reduce", "nisa.tensor_scalar_reduce", "nisa.memset", "nisa.nc_matmul"):
        assert f"`{call}(" in text
    assert ".reshape(" in text
    # Signatures are the simulator's own: v2 instructions take dst, v1 ones return a tile.
    assert ("`nisa.memset(dst, value" in text) == (dialect == "v2")


def test_calls_the_simulator_only_refuses_are_left_out(monkeypatch):
    def refusing(*args, **kwargs):
        """Not simulated: defined only to refuse with a clear error."""

    nisa = api_digest.module("v2", "nisa")
    monkeypatch.setattr(nisa, "refusing_call", refusing, raising=False)
    accepted = api_digest.registry("v2")
    assert "nisa.refusing_call" not in accepted
    assert "nisa.nc_matmul" in accepted


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_described_call_exists_in_the_simulator(dialect):
    described, unknown = api_digest.entries(dialect)
    assert not unknown, f"prompts/api.yaml describes calls the simulator does not accept: {unknown}"
    assert len(described) >= 20


def test_a_described_call_the_simulator_lacks_is_dropped(tmp_path):
    (tmp_path / "api.yaml").write_text(
        "v1:\n  - group: G\n    call: nisa.no_such_call\n    engine: vector\n    does: x\n"
        "  - call: nl.load\n    engine: dma\n    does: HBM to SBUF.\n")
    described, unknown = api_digest.entries("v1", tmp_path)
    assert [e.call for e in described] == ["nl.load"] and unknown == ["nisa.no_such_call"]
    assert "no_such_call" not in api_digest.digest("v1", tmp_path)


@pytest.mark.parametrize("dialect, source", [("v1", V1), ("v2", V2)])
def test_the_engines_named_are_the_ones_the_simulator_runs_the_calls_on(dialect, source, tmp_path):
    path = tmp_path / "kernel.py"
    path.write_text(source)
    fn = load_kernel(path, "probe", "trn2")
    trace = run_kernel(fn, [TensorSpec((128, 512), np.float32)] * 2, target="trn2", numerics=False,
                       dialect=dialect).trace
    seen: dict[str, set[str]] = {}
    for ins in trace.instructions:
        seen.setdefault(ins.api, set()).add(lane(ins))
    described, _ = api_digest.entries(dialect)
    checked = 0
    for entry in described:
        if not entry.engines:
            continue
        name = TRACED_AS.get(entry.call, entry.call)
        assert set(entry.engines) == seen.get(name), f"{entry.call}: digest says {entry.engines}, " \
                                                     f"the simulator ran it on {sorted(seen.get(name, ()))}"
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("name", ["gemm_bf16", "gemm_bf16@legacy", "gqa_decode_bf16", "layernorm@legacy", "silu_bf16"])
def test_the_system_prompt_fits_its_budget_and_carries_the_digest(name):
    from autocomp.suite.location import load_problem

    brief = ProblemBrief.from_problem(load_problem(f"{bundled_problems_dir()}/{name}"))
    for target in ("trn1", "trn2", "trn3"):
        system = PromptRenderer(PromptLibrary(), dataclasses.replace(brief, target=target)).system
        assert estimate_tokens(system) <= SYSTEM_TOKEN_BUDGET, (target, estimate_tokens(system))
        assert "## NKI calls this kernel can use" in system and "${" not in system


def test_the_system_prompt_is_one_stable_prefix_for_every_call(problem):
    from autocomp.search.node import Node
    from autocomp.search.outcome import Outcome

    renderer = PromptRenderer(PromptLibrary(), ProblemBrief.from_problem(problem))
    parent = Node(id=1, source=problem.baseline_source, iteration=0, origin="baseline",
                  outcome=Outcome(status="correct", latency_us=10.0))
    library = PromptLibrary()
    systems = {renderer.plan(parent, history=[], menu=library.menu)[0]["content"],
               renderer.plan(parent, history=["- x"], menu=library.menu[:3], number=2, count=2,
                             siblings=["[hoist] plan one"])[0]["content"],
               renderer.implement(parent, "a plan")[0]["content"],
               renderer.repair(problem.baseline_source, status="incorrect", reason="r", error_report="",
                               plan="p")[0]["content"],
               PromptRenderer(PromptLibrary(), ProblemBrief.from_problem(problem)).system}
    assert len(systems) == 1
