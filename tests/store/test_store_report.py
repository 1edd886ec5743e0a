"""The HTML report: self-contained, renders in headless Chromium without script errors, plots in the DOM."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from autocomp.report import render_report, write_report
from autocomp.store import RunReader, RunStore
from tests.fakes.store_fixtures import BASELINE, result

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent: install Debian's chromium package "
                                  "(apt-get install -y chromium) to render the report in the tests")

# Inserted before the page's own script: any uncaught error lands in the DOM that --dump-dom prints.
ERROR_HOOK = ("<script>window.onerror=function(m,s,l){var d=document.documentElement;"
              "d.setAttribute('data-script-errors',(d.getAttribute('data-script-errors')||'')+m+' line '+l+'; ');};"
              "</script>")


def render_in_chromium(html: str, tmp_path: Path) -> str:
    page = tmp_path / "page.html"
    page.write_text(html.replace("<head>", "<head>" + ERROR_HOOK, 1))
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom",
           page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def assert_self_contained(html: str) -> None:
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html)) - {"http://www.w3.org/2000/svg"}
    assert not urls, f"the report refers to the network: {sorted(urls)[:5]}"
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", html)


@needs_chromium
def test_report_renders_without_script_errors_and_with_every_plot(run_dir, tmp_path):
    out = write_report(run_dir, tmp_path / "report.html")  # re-profiles the baseline and best kernels
    html = out.read_text()
    assert_self_contained(html)
    dom = render_in_chromium(html, tmp_path)
    errors = re.search(r'data-script-errors="([^"]*)"', dom)
    assert errors is None, errors.group(1)
    assert 'data-ready="1"' in dom  # the page's own script ran to the end
    progress = dom[dom.index('id="progress"'):dom.index('id="beams"')]
    assert progress.count('class="series"') == 1 and progress.count('class="point"') >= 4
    assert progress.count('class="hline"') == 2  # baseline and roofline
    timeline = dom[dom.index('id="timeline"'):dom.index('id="spend"')]
    assert timeline.count('class="gantt"') == 2 and timeline.count('class="slot"') > 4
    assert 'class="bars utilisation"' in timeline
    assert len(re.findall(r"<li [^>]*data-status=", dom)) == 5  # every candidate is in the tree
    assert 'id="diff"' in dom and "nl.affine_range(2)" in dom
    assert 'class="bars spend"' in dom and "$0.0700" in dom
    with RunReader.open_readonly(run_dir) as run:  # the re-profiles were kept for next time
        assert run.profile(1)["origin"] == "reprofile" and run.profile(4)["timeline"]["dma"]


@needs_chromium
def test_the_error_hook_catches_a_broken_script(run_dir, tmp_path):
    html = render_report(run_dir, reprofile=False).replace("document.body.setAttribute", "document.bodyy.setAttribute")
    dom = render_in_chromium(html, tmp_path)
    assert re.search(r'data-script-errors="[^"]*TypeError', dom) and 'data-ready="1"' not in dom


def test_report_of_a_fresh_run_with_nothing_evaluated(runs_dir, problem):
    with RunStore.create(runs_dir, problem, {}) as store:
        store.add_candidate(BASELINE, origin="baseline", iteration=0)
        html = render_report(store, reprofile=False)
    assert_self_contained(html)
    assert "no data yet" in html and "No correct kernel yet." in html and "No LLM calls recorded." in html


def test_report_uses_stored_profiles_and_the_evaluators_roofline(runs_dir, problem):
    record = {"latency_us": 9.0, "makespan_ns": 8000.0, "target": "trn2", "roofline": {"bound_by": "hbm"},
              "engines": {"dve": {"utilisation": 30.0}, "dma": {"utilisation": 60.0}},
              "timeline": {"dve": [[0.0, 4000.0, 1, "TENSOR_TENSOR nl.add line 9"]], "dma": [[0.0, 8000.0, 3, ""]]}}
    with RunStore.create(runs_dir, problem, {}) as store:
        base = store.add_candidate(BASELINE, origin="baseline", iteration=0)
        store.record_evaluation(base, result(latency_us=9.0, profile={"roofline_time": 3e-6}), profile=record)
        html = render_report(store, reprofile=False)
    assert "TENSOR_TENSOR nl.add line 9" in html and "re-profiled" not in html
    assert "roofline (cost model): 3" in html
    assert "The baseline is still the best kernel." in html


def _replace_source(run_dir, candidate_id: int, source: str) -> None:
    """Edit a run directory the way anyone with write access can: the database and the mirror file."""
    import sqlite3

    with sqlite3.connect(run_dir / "run.sqlite") as db:
        db.execute("UPDATE candidates SET source = ? WHERE id = ?", (source, candidate_id))
    (run_dir / "candidates" / f"{candidate_id:04d}" / "kernel.py").write_text(source)


def test_a_replaced_forbidden_kernel_is_refused_and_keeps_its_stored_profile(run_dir, tmp_path):
    marker = tmp_path / "the-kernel-ran"
    hostile = (BASELINE + "\nimport os\nsecret = open('/etc/hostname').read()\n"
               f"open({str(marker)!r}, 'w').write(secret)\n")
    _replace_source(run_dir, 4, hostile)  # the best candidate
    stored = {"format": 1, "origin": "evaluation", "latency_us": 7.5, "makespan_ns": 2500.0, "target": "trn2",
              "roofline": {"bound_by": "hbm"}, "engines": {"dma": {"utilisation": 55.0}}, "timeline": {}}
    with RunStore.open(run_dir) as store:  # what the search stores: no per-instruction times
        store.record_profile(4, stored)
    html = render_report(run_dir)  # re-profiles what has no timeline
    assert not marker.exists()
    notes = html[html.index("<ul class=note>"):]
    assert "candidate 4 could not be re-profiled: its evaluation was rejected" in notes
    assert "its stored profile is shown" in notes and "candidate 1 was re-profiled" in notes
    timeline = html[html.index('id="timeline"'):html.index('id="spend"')]
    assert "best #4: 7.50 µs estimated" in timeline and "no per-instruction times" in timeline
    assert timeline.count('class="gantt"') == 1  # the baseline's, from the sandboxed evaluator
    with RunReader.open_readonly(run_dir) as run:
        assert run.profile(4) == stored and run.profile(1)["origin"] == "reprofile"


def test_without_a_sandbox_only_the_problems_own_kernel_is_re_profiled(run_dir, monkeypatch):
    from autocomp.evaluate import evaluator as evaluator_module
    from autocomp.evaluate import isolation

    monkeypatch.setattr(isolation, "probe", lambda: {"bwrap": "not installed", "userns": "disabled here"})
    ran: list[str] = []
    run = evaluator_module.Evaluator._run

    def spy(self, problem, source, *args, **kwargs):
        ran.append(source)
        return run(self, problem, source, *args, **kwargs)

    monkeypatch.setattr(evaluator_module.Evaluator, "_run", spy)
    html = render_report(run_dir)  # the best (#4) is an LLM's kernel: never run outside a sandbox
    assert ran and set(ran) == {BASELINE}
    notes = " ".join(html[html.index("<ul class=note>"):].split())
    assert "candidate 4 could not be re-profiled: EvaluatorError: refusing to run an untrusted" in notes
    assert "No timeline" not in html and html.count('class="gantt"') == 1


# Run after the page's own script: drives the first timeline's zoom controls as a reader would.
ZOOM_PROBE = """<script>(function(){
  var z=document.querySelector('div.zoom'),svg=z.previousElementSibling,plot=svg.querySelector('svg.plot');
  var lo=z.querySelector('input.lo'),hi=z.querySelector('input.hi');
  lo.value=25;hi.value=50;lo.oninput();
  document.body.setAttribute('data-slider-viewbox',plot.getAttribute('viewBox'));
  document.body.setAttribute('data-slider-tick',svg.querySelectorAll('text.tick')[0].textContent);
  var r=svg.getBoundingClientRect();
  svg.dispatchEvent(new WheelEvent('wheel',{deltaY:-100,clientX:r.left+r.width/2,clientY:r.top+10,
                                             bubbles:true,cancelable:true}));
  document.body.setAttribute('data-wheel-viewbox',plot.getAttribute('viewBox'));
})();</script>"""


@needs_chromium
def test_report_shows_reasons_line_costs_zoomable_timelines_traces_and_spend_frontier(run_dir, tmp_path):
    import base64
    import json

    from tests.fakes.trace_format import check_trace_format

    html = render_report(run_dir)
    assert_self_contained(html)
    dom = render_in_chromium(html.replace("</body>", ZOOM_PROBE + "</body>"), tmp_path)
    assert re.search(r'data-script-errors="([^"]*)"', dom) is None and 'data-ready="1"' in dom
    tree = dom[dom.index('id="candidates"'):dom.index('id="best-vs-baseline"')]
    # the failed candidates say why, first line inline and full text on hover
    assert re.search(r'data-id="3".*?incorrect</span>.*?<span class="reason" title="max abs error 4.2 at \[3, 7\]">',
                     tree)
    assert 'title="kernel.py:1: invalid syntax">kernel.py:1: invalid syntax</span>' in tree
    assert tree.count('class="reason"') == 2  # none on the correct candidates
    # per-line costs of the best kernel, as `autocomp profile` computes them
    lines = dom[dom.index('id="line-costs"'):]
    lines = lines[:lines.index("</table>")]
    assert "kernel.py:" in lines and "nl.load" in lines and lines.count("<tr>") >= 3
    # every engine row and the DMA queue rows, in both timelines
    timeline = dom[dom.index('id="timeline"'):dom.index('id="lines"')]
    gantts = [g[:g.index('class="zoom"')] for g in timeline.split('<svg class="gantt"')[1:]]
    assert len(gantts) == 2
    for gantt in gantts:
        rows = re.findall(r'<text x="4" y="\d+">([^<]+)</text>', gantt)
        assert rows[:7] == ["Tensor", "Vector", "Scalar", "GpSimd", "Sync", "DMA", "DMA Sync q"], rows
    assert re.search(r'<rect class="slot"[^>]*><title>DMA nl\.store line \d+: ', timeline)  # opcode tooltips
    # the sliders narrowed the plot to 25-50% of the span and relabelled the axis; the wheel zoomed in further
    x, _, w, _ = (float(v) for v in re.search(r'data-slider-viewbox="([^"]+)"', dom).group(1).split())
    assert w > 0 and x == pytest.approx(w, rel=0.01)
    assert re.search(r'data-slider-tick="([^"]+)"', dom).group(1) != "0.00 µs"
    wheel_w = float(re.search(r'data-wheel-viewbox="([^"]+)"', dom).group(1).split()[2])
    assert 0 < wheel_w < w
    # one downloadable Chrome trace per profiled candidate, valid and matching its timeline's rows
    links = re.findall(r'<a class="trace" download="candidate-(\d+)\.trace\.json" '
                       r'href="data:application/json;base64,([^"]+)"', timeline)
    assert [cid for cid, _ in links] == ["1", "4"]
    with RunReader.open_readonly(run_dir) as run:
        for cid, data in links:
            doc = json.loads(base64.b64decode(data))
            assert check_trace_format(doc) == []
            stored = run.profile(int(cid))["timeline"]
            spans = [e for e in doc["traceEvents"] if e["ph"] == "X"]
            assert len(spans) == sum(len(v) for v in stored.values())
            assert sum(e["dur"] for e in spans) == pytest.approx(sum(r[1] - r[0] for v in stored.values()
                                                                     for r in v) / 1e3)
    # best speedup so far against cumulative LLM spend: baseline free, #2 after both paid calls, then #4
    pareto = dom[dom.index('id="pareto"'):]
    tips = re.findall(r'<circle class="point"[^>]*><title>([^<]*)</title>', pareto[:pareto.index("</svg>")])
    assert tips == ["#1 (baseline): 1.00x after $0.0000", "#2 (llm): 1.25x after $0.0700",
                    "#4 (knob): 1.33x after $0.0700"]
