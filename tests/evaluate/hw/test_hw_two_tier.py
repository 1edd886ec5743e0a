"""Two-tier search (search/hw_tier.py) on the fake current SDK: `autocomp optimize --backend hw` end to end, and
which candidates go to hardware."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.problem import Problem
from autocomp.search.hw_tier import HardwareTier
from autocomp.search.node import Node
from autocomp.search.outcome import Outcome
from autocomp.search.selection import rank
from tests.fakes.fake_hw_sdk import device_log, make_fake_sdk, write_sdk_config, write_small_silu_problem

BAND = {"log_bias": 0.0, "log_sigma": 0.1, "pair_sigma": 0.05, "n": 10}


def _node(i: int, iteration: int, sim_us: float, hw_us: float | None = None) -> Node:
    summary = {"total_time": sim_us * 1e-6, "estimate_class": "dma", "uncertainty": dict(BAND)}
    node = Node(id=i, source=f"# kernel {i}\n", iteration=iteration, origin="knob",
                outcome=Outcome(status="correct", latency_us=sim_us, evidence="sim", profile_summary=summary))
    if hw_us is not None:
        node.hw_outcome = Outcome(status="correct", latency_us=hw_us, evidence="hw")
    return node


def test_top_k_and_the_ones_the_cost_model_cannot_rank_go_to_hardware_not_the_sure_losers():
    best = _node(1, 0, 100.0, hw_us=80.0)
    fresh = [_node(2, 1, 90.0), _node(3, 1, 104.0), _node(4, 1, 300.0), _node(5, 1, 95.0)]
    tier = HardwareTier(pools=None, store=None, problem=None, top_k=1)
    chosen = {n.id: why for n, why in tier.choose(fresh, best)}
    assert chosen[2] == "top 1 in sim"
    assert 5 in chosen and 3 in chosen and "cannot rank" in chosen[3]  # within the model's error of the best
    assert 4 not in chosen  # 3x slower than the best: certainly a loser, no device time spent


def test_a_measurement_is_never_compared_with_an_estimate():
    measured_slow = _node(1, 0, 100.0, hw_us=120.0)
    estimated_fast = _node(2, 1, 50.0)  # the cost model was confident it loses: never sent, never ranked above
    measured_fast = _node(3, 1, 90.0, hw_us=70.0)
    assert [n.id for n in rank([measured_slow, estimated_fast, measured_fast], iteration=2)] == [3, 1, 2]
    failed_on_device = _node(4, 1, 40.0)
    failed_on_device.hw_outcome = replace(Outcome(status="runtime_error"), reason="device fault")
    assert failed_on_device.sim_correct and not failed_on_device.correct  # the device's verdict stands


def _run(tmp_path, sdk_root, problem, *extra):
    opts = make_fake_sdk(sdk_root, cores=3)
    cfg = tmp_path / "hw.toml"
    write_sdk_config(cfg, opts)
    runs = tmp_path / "runs"
    res = CliRunner().invoke(app, ["optimize", str(problem), "--agent", "knobs", "--backend", "hw", "--config",
                                   str(cfg), "--iterations", "2", "--beam", "2", "--workers", "2", "--hw-top-k", "1",
                                   "--runs-dir", str(runs), "--json", *extra], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{\n"):])
    show = CliRunner().invoke(app, ["runs", "show", "--json", "--runs-dir", str(runs), out["run_id"]],
                              catch_exceptions=False)
    assert show.exit_code == 0, show.output
    return out, json.loads(show.output), runs / out["run_id"]


def test_optimize_on_hw_triages_in_sim_spreads_over_the_cores_and_keeps_both_figures(tmp_path):
    sdk_root = tmp_path / "sdk"
    sdk_root.mkdir()
    problem = write_small_silu_problem(tmp_path / "problems")  # silu_bf16 at small shapes: same steps, less work
    out, shown, run_dir = _run(tmp_path, sdk_root, problem)
    assert out["status"] == "finished" and out["evidence"] == "hw"

    rows = {row["id"]: row for row in shown["tiers"]}
    assert all(row["sim_status"] == "correct" and row["sim_evidence"] == "sim" for row in rows.values())
    measured = {i for i, row in rows.items() if row["hw_status"] is not None}
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    selected = {c for e in events if e["kind"] == "hw_selected" for c in e["candidates"]}
    assert measured == selected and shown["baseline"]["id"] in measured  # only what the sim triage chose
    for i in measured:
        assert rows[i]["hw_latency_us"] > 0 and rows[i]["hw_sdk"] == {"nki": "0.7.0", "nrtpy": "0.7.0"}
        assert rows[i]["hw_tool_version"].startswith("nki-0.7.0+nrtpy-0.7.0")
    best = shown["best"]["id"]
    assert best == out["best_candidate"] and out["best_latency_us"] == rows[best]["hw_latency_us"]

    # The device ran exactly each selected candidate (the baseline once) and the winner's re-validation.
    log = device_log(sdk_root)
    benchmarks = [r for r in log if r["event"] == "benchmark"]
    # ... at every shape the problem declares (silu_bf16 is timed over several lengths)
    shapes = len(Problem.load(problem).spec.shapes)
    assert shapes > 1
    assert len(benchmarks) == (len(measured) + (1 if out["revalidated"] else 0)) * shapes
    assert len({r["cores"] for r in benchmarks}) > 1  # spread over the fake's NeuronCores
    assert all(len({r["cores"] for r in log if r["pid"] == pid}) == 1 for pid in {r["pid"] for r in log})

    # `autocomp calibrate --from-runs` finds the hardware figures of the two-tier run.
    from autocomp.store.hw_evidence import hw_evaluations

    stored = hw_evaluations([run_dir])
    assert {m.candidate for m in stored} == measured
    assert all(m.measured_us == pytest.approx(rows[m.candidate]["hw_latency_us"]) for m in stored)

    # The text views say the same: `runs show` and the report list sim vs hw per candidate.
    text = CliRunner().invoke(app, ["runs", "show", "--runs-dir", str(run_dir.parent), out["run_id"]]).output
    assert "sim vs hw per candidate" in text and "(hw; " in text
    html = tmp_path / "report.html"
    assert CliRunner().invoke(app, ["report", str(run_dir), "-o", str(html)]).exit_code == 0
    assert "Simulator vs hardware" in html.read_text() and "measured on hardware" in html.read_text()


def test_a_resumed_run_reads_both_tiers_back_and_ranks_by_the_measurement(tmp_path):
    from autocomp.search.session import Session
    from autocomp.store import RunReader, RunStore
    from autocomp.store.reader import HW
    from tests.fakes.store_fixtures import result, write_problem

    problem = Problem.load(write_problem(tmp_path / "p"))
    store = RunStore.create(tmp_path / "runs", problem, {})
    base = store.add_candidate(problem.baseline_source, origin="baseline", iteration=0)
    fast_in_sim = store.add_candidate(problem.baseline_source + "\n# b\n", origin="knob", iteration=1)
    fast_on_hw = store.add_candidate(problem.baseline_source + "\n# c\n", origin="knob", iteration=1)
    for cid, sim in ((base, 100.0), (fast_in_sim, 80.0), (fast_on_hw, 90.0)):
        store.record_evaluation(cid, result(latency_us=sim))
    for cid, hw in ((base, 50.0), (fast_on_hw, 40.0)):
        store.record_evaluation(cid, result(latency_us=hw, evidence="hw"), purpose=HW)
    with RunReader.open_readonly(store.root) as reader:
        assert reader.best().id == fast_on_hw  # the measurement, not the lower estimate of #b

    session = Session(problem, store, evaluator=None)
    session.load_existing()
    nodes = session.all_nodes()
    assert [n.id for n in rank(nodes, iteration=2)] == [fast_on_hw, base, fast_in_sim]
    assert session.node(fast_on_hw).evidence == "hw" and session.node(fast_in_sim).evidence == "sim"
    tier = HardwareTier(pools=None, store=store, problem=problem, top_k=5)
    again = [n.id for n, _ in tier.choose([n for n in nodes if n.iteration == 1], session.node(fast_on_hw))]
    assert again == [fast_in_sim]  # what was measured is not measured twice
    session.close()


def test_an_lnc_setting_is_refused_on_a_target_whose_cores_do_not_pair():
    from autocomp.search.config import SearchConfig
    from autocomp.search.runner import SearchError, hardware_evaluator

    config = SearchConfig(backend="hw", lnc=2)
    with pytest.raises(SearchError, match="trn1 NeuronCores cannot be paired"):
        hardware_evaluator(config, "trn1")
