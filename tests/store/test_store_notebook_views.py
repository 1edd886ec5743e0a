"""The notebook API's views: dir(autocomp), run.plot(), compact evaluation reprs, and a diff that keeps its
layout under Jupyter's global table styles (rendered in headless Chromium)."""

from __future__ import annotations

import re

import pytest

import autocomp
from autocomp.explore import EvaluationView, SpeedupPlot
from tests.fakes.store_fixtures import result
from tests.store.test_store_report import needs_chromium, render_in_chromium


@pytest.fixture
def run(run_dir):
    with autocomp.open_run(run_dir) as r:
        yield r


def test_dir_of_autocomp_lists_the_lazy_public_api():
    assert {"open_run", "optimize", "RunResult"} <= set(dir(autocomp))


def test_plot_without_matplotlib_is_an_svg_of_best_speedup_over_evaluations(run):
    points = run.speedup_points()
    # evaluations in order: #1 baseline 1x, #2 1.25x, #3 incorrect, #4 1.33x, #5 compile error
    assert [n for n, _, _ in points] == [1, 2, 3, 4, 5]
    assert [round(b, 2) for _, b, _ in points] == [1.0, 1.25, 1.25, 1.33, 1.33]
    assert [s is None for _, _, s in points] == [False, False, True, False, True]
    plot = run.plot(backend="svg")
    assert isinstance(plot, SpeedupPlot) and plot._repr_svg_().startswith('<svg class="chart speedup"')
    assert plot.svg.count('class="point"') == 5 + 3  # the best-so-far steps and the correct candidates
    assert "evaluation 4: best 1.33x" in plot._repr_html_() and "5 evaluations, best 1.33x" in repr(plot)
    with pytest.raises(ValueError, match="use 'auto', 'matplotlib' or 'svg'"):
        run.plot(backend="png")


def test_reevaluate_returns_a_compact_view(run):
    ev = run.reevaluate(run.best, target="trn1", evaluator=lambda *a: result("incorrect", reason="wrong\n" * 200))
    assert isinstance(ev, EvaluationView) and ev.purpose == "reevaluate:sim:trn1" and ev.result["status"]
    assert repr(ev) == "<Evaluation #4 reevaluate:sim:trn1 incorrect (sim): wrong>"
    html = ev._repr_html_()
    assert "<table>" in html and "<details><summary>reason</summary>" in html and len(html) < 3000
    ok = run.reevaluate(run.best, target="trn1", evaluator=lambda *a: result(latency_us=6.0))
    assert repr(ok) == "<Evaluation #4 reevaluate:sim:trn1 correct 6.00 µs (sim)>" and "<details>" not in repr(ok)


# The table rules of JupyterLab's rendered-HTML CSS that break an unscoped difflib table, as a page would have them.
JUPYTER_LIKE_CSS = """<style>
.jp-RenderedHTMLCommon table{border-collapse:collapse;border-spacing:0;border:none;font-size:12px;table-layout:fixed;
margin-left:auto;margin-right:auto;width:40px}
.jp-RenderedHTMLCommon td,.jp-RenderedHTMLCommon th{text-align:right;vertical-align:middle;padding:0.5em;
line-height:normal;white-space:normal;max-width:none;border:none}
.jp-RenderedHTMLCommon tbody tr:nth-child(odd){background:#f5f5f5}
</style>"""

MEASURE = """<script>
var t=document.querySelector('.autocomp-diff table.diff'),r=t.getBoundingClientRect();
var add=document.querySelector('.autocomp-diff .diff_add, .autocomp-diff .diff_chg');
var cell=add.parentNode,cr=cell.getBoundingClientRect(),cs=getComputedStyle(cell);
document.body.setAttribute('data-table',[Math.round(r.width),Math.round(r.height)].join(' '));
document.body.setAttribute('data-cell',[Math.round(cr.width),Math.round(cr.height),cs.textAlign,cs.whiteSpace,
  getComputedStyle(add).backgroundColor,cs.visibility].join('|'));
</script>"""


@needs_chromium
def test_diff_keeps_its_layout_under_jupyters_table_styles(run, tmp_path):
    diff = run.diff(run.baseline, run.best)._repr_html_()
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'>" + JUPYTER_LIKE_CSS + "</head><body>"
            "<div class='jp-RenderedHTMLCommon' style='width:900px'>" + diff + "</div>" + MEASURE + "</body></html>")
    dom = render_in_chromium(page, tmp_path)
    width, height = (int(v) for v in re.search(r'data-table="([^"]+)"', dom).group(1).split())
    assert width >= 850 and height > 40  # the table fills the output area, not Jupyter's fixed narrow layout
    cell_w, cell_h, align, space, color, visible = re.search(r'data-cell="([^"]+)"', dom).group(1).split("|")
    assert int(cell_w) > 200 and int(cell_h) > 0 and visible == "visible"
    assert align == "left" and space == "pre-wrap"  # code stays left-aligned with its indentation
    assert color in ("rgb(230, 255, 236)", "rgb(255, 245, 177)")  # the change is highlighted
