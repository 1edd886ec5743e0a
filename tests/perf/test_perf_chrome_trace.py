"""`autocomp profile --trace`: the schedule as a Chrome trace (Trace Event Format), checked against the format's
rules and against the profile it came from."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.perf.chrome_trace import rows_trace
from tests.fakes.trace_format import check_trace_format

LAYERNORM = str(Path(__file__).parent / "kernels" / "layernorm_tutorial.py")
ARGS = ["--shapes", "x=300x1000:float32", "--shapes", "gamma=1x1000", "--shapes", "beta=1x1000",
        "--scalar", "eps=1e-5"]
# Summary field prefix of each engine thread the trace names (autocomp.perf.engines labels).
ENGINE_FIELDS = {"Tensor": "tensor", "Vector": "vector", "Scalar": "scalar", "GpSimd": "gpsimd"}
def test_the_checker_catches_broken_events():
    bad = {"traceEvents": [{"name": "x", "ph": "X", "ts": "0", "pid": 1, "tid": 1},
                           {"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {}},
                           {"name": 3, "ph": "B", "pid": 1.5, "tid": 1}], "displayTimeUnit": "s"}
    problems = check_trace_format(bad)
    assert any("ts must" in p for p in problems) and any("dur must" in p for p in problems)
    assert any("needs args.name" in p for p in problems) and any("phase 'B'" in p for p in problems)
    assert any("pid must" in p for p in problems) and any("displayTimeUnit" in p for p in problems)


def _profile(tmp_path: Path) -> tuple[dict, dict]:
    out = tmp_path / "trace.json"
    runner = CliRunner()
    res = runner.invoke(app, ["profile", LAYERNORM, "-f", "layernorm_v2", *ARGS, "--trace", str(out), "--json"])
    assert res.exit_code == 0, res.output
    (summary,) = json.loads(res.output).values()
    return json.loads(out.read_text()), summary


def _union_us(spans: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for s, e in sorted(spans):
        total += max(0.0, e - max(s, end))
        end = max(end, e)
    return total


def test_profile_trace_follows_the_format_and_matches_the_profile(tmp_path):
    doc, summary = _profile(tmp_path)
    assert check_trace_format(doc) == []
    assert doc["displayTimeUnit"] == "ns"
    names = {ev["tid"]: ev["args"]["name"] for ev in doc["traceEvents"] if ev["name"] == "thread_name"}
    assert len(set(names.values())) == len(names)  # one tid per row
    assert {"Tensor", "Vector", "Scalar", "GpSimd", "Sync", "DMA", "Critical path"} <= set(names.values())
    assert any(n.startswith("DMA ") and n.endswith(" q") for n in names.values())  # a DMA queue's own row
    spans = [ev for ev in doc["traceEvents"] if ev["ph"] == "X"]
    count, busy, dma = Counter(), defaultdict(float), []
    for ev in spans:
        count[names[ev["tid"]]] += 1
        busy[names[ev["tid"]]] += ev["dur"]
        if names[ev["tid"]] == "DMA":
            dma.append((ev["ts"], ev["ts"] + ev["dur"]))
    for label, field in ENGINE_FIELDS.items():
        assert count[label] == summary[f"{field}_engine_instruction_count"], label
        assert busy[label] == pytest.approx(summary[f"{field}_engine_active_time"] * 1e6, rel=1e-6), label
    assert count["DMA"] == summary["dma_instruction_count"] > 0
    assert _union_us(dma) == pytest.approx(summary["dma_active_time"] * 1e6, rel=1e-6)
    queues = sum(c for n, c in count.items() if n.startswith("DMA ") and n.endswith(" q"))
    assert queues == count["DMA"]  # every transfer is on exactly one queue
    end = max(ev["ts"] + ev["dur"] for ev in spans)
    assert end == pytest.approx(summary["total_active_time"] * 1e6, rel=1e-6)


def test_a_stored_timeline_exports_its_merged_intervals():
    rows = {"pe": [[0.0, 500.0, 1, "MATMUL nisa.nc_matmul line 7"]], "dma": [[0.0, 2000.0, 3, ""]],
            "dma:sp": [[0.0, 2000.0, 3, ""]]}
    doc = rows_trace(rows, process="candidate 4")
    assert check_trace_format(doc) == []
    spans = [ev for ev in doc["traceEvents"] if ev["ph"] == "X"]
    assert [(ev["name"], ev["ts"], ev["dur"]) for ev in spans] == [
        ("MATMUL", 0.0, 0.5), ("3 instructions", 0.0, 2.0), ("3 instructions", 0.0, 2.0)]


def test_trace_to_a_directory_is_refused(tmp_path):
    res = CliRunner().invoke(app, ["profile", LAYERNORM, "-f", "layernorm_v2", *ARGS, "--trace", str(tmp_path)])
    assert res.exit_code == 2 and "is a directory" in res.output


def test_each_dma_is_triggered_on_its_queue_engines_row_before_its_transfer(tmp_path):
    doc, _ = _profile(tmp_path)
    names = {ev["tid"]: ev["args"]["name"] for ev in doc["traceEvents"] if ev["name"] == "thread_name"}
    spans = [ev for ev in doc["traceEvents"] if ev["ph"] == "X"]
    triggers = {ev["args"]["instruction"]: ev for ev in spans if names[ev["tid"]] == "Sync"}
    transfers = {ev["args"]["instruction"]: ev for ev in spans if names[ev["tid"]] == "DMA Sync q"}
    assert triggers and set(triggers) == set(transfers)  # the Sync engine triggers exactly its queue's DMAs
    for pos, trig in triggers.items():
        assert trig["name"] == "DMA trigger" and trig["dur"] > 0
        assert trig["ts"] + trig["dur"] <= transfers[pos]["ts"] + 1e-9  # started before its data moves


def test_the_timeline_shows_the_sync_engines_triggers_on_its_row(tmp_path):
    out = tmp_path / "timeline.html"
    res = CliRunner().invoke(app, ["profile", LAYERNORM, "-f", "layernorm_v2", *ARGS, "--timeline", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert ">Sync<" in html and ">DMA Sync q<" in html and "DMA trigger" in html
