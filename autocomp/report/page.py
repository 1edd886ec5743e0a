"""The report page: one self-contained HTML file (inline CSS, SVG and a few lines of JS; no network)."""

from __future__ import annotations

import base64
import difflib
from datetime import datetime, timezone
from html import escape

from autocomp.perf.chrome_trace import dumps, rows_trace
from autocomp.perf.engines import LABELS, LABELS_BY_NAME, LANES
from autocomp.perf.timeline import gantt_svg
from autocomp.report.data import ReportData
from autocomp.report.svg import PALETTE, bar_chart, line_chart
from autocomp.store.records import Candidate
from autocomp.units import latency, speedup

DIFF_CSS = """
table.diff{font-family:Menlo,Consolas,monospace;font-size:12px;width:100%}table.diff td{padding:0 4px;border:0;
white-space:pre-wrap;vertical-align:top;text-align:left}.diff_add{background:#e6ffec}.diff_chg{background:#fff5b1}
.diff_sub{background:#ffebe9}.diff_header{color:#888;text-align:right}.diff_next{display:none}
"""

CSS = DIFF_CSS + """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#222;
padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
th{background:#fafafa}.num{text-align:right;font-variant-numeric:tabular-nums}
.banner{background:#fff8e1;border:1px solid #f0d98c;padding:8px 12px;border-radius:4px;font-size:13px}
.note{color:#666;font-size:12px}.muted{color:#888}
ul.tree{list-style:none;padding-left:18px;font-size:13px}ul.tree li{margin:2px 0}
.st-correct{color:#2e7d32}.st-pending{color:#888}.st-other{color:#c62828}
.lineage>span.node{background:#e8f0fe;border-radius:3px}.best>span.node{font-weight:bold}
span.node{padding:1px 4px;cursor:pointer}details.plan{display:inline}details.plan summary{color:#4e79a7}
details.plan div{white-space:pre-wrap;background:#f7f7f7;padding:6px;margin:4px 0;border-radius:3px}
.controls{font-size:12px;margin:6px 0}.controls button{font-size:12px;margin-right:6px}
.hidden{display:none}
span.reason{color:#c62828;font-size:12px}details.reason{display:inline}details.reason summary{color:#888;font-size:12px}
details.reason pre{white-space:pre-wrap;background:#fff5f5;padding:6px;margin:4px 0;border-radius:3px;font-size:12px}
.zoom{font-size:12px;margin:2px 0 12px 96px}.zoom input{width:260px;vertical-align:middle}
a.trace{font-size:12px}
"""

# Plain ES5 so any browser runs it; sets data-ready last, which the tests check.
SCRIPT = """
(function(){
  var tree=document.getElementById('tree');
  function each(sel,f){var n=document.querySelectorAll(sel);for(var i=0;i<n.length;i++){f(n[i]);}}
  document.getElementById('expand-plans').onclick=function(){each('details.plan',function(d){d.open=true;});};
  document.getElementById('collapse-plans').onclick=function(){each('details.plan',function(d){d.open=false;});};
  document.getElementById('only-correct').onchange=function(e){
    var only=e.target.checked;
    each('#tree li',function(li){
      var ok=li.getAttribute('data-status')==='correct'||li.querySelector('li[data-status="correct"]');
      li.classList.toggle('hidden',only&&!ok);
    });
  };
  if(tree){each('#tree span.node',function(s){s.title='click to highlight its lineage';s.onclick=function(){
    each('#tree li.picked',function(li){li.classList.remove('picked','lineage');});
    var li=s.parentNode;while(li&&li.tagName==='LI'){li.classList.add('picked','lineage');li=li.parentNode.parentNode;}
  };});}
  // Microseconds as the rest of the page writes them (autocomp.units): 1,234.56 µs.
  function us(v){return v.toLocaleString('en-US',{minimumFractionDigits:2,maximumFractionDigits:2})+' µs';}
  // Timeline zoom: the sliders (or the mouse wheel over a chart) narrow the viewBox of the chart's inner plot.
  each('div.zoom',function(z){
    var svg=z.previousElementSibling;if(!svg||!svg.querySelector){return;}
    var plot=svg.querySelector('svg.plot');if(!plot){return;}
    var span=parseFloat(svg.getAttribute('data-span-ns'))||1;
    var vb=plot.getAttribute('viewBox').split(' ');var pw=parseFloat(vb[2]),ph=parseFloat(vb[3]);
    var lo=z.querySelector('input.lo'),hi=z.querySelector('input.hi'),out=z.querySelector('span.range');
    function apply(){
      var a=parseFloat(lo.value),b=parseFloat(hi.value);
      if(b-a<0.5){if(this===lo){a=b-0.5;lo.value=a;}else{b=a+0.5;hi.value=b;}}
      plot.setAttribute('viewBox',(a/100*pw).toFixed(2)+' 0 '+((b-a)/100*pw).toFixed(2)+' '+ph);
      var ticks=svg.querySelectorAll('text.tick');
      for(var i=0;i<ticks.length;i++){var k=parseFloat(ticks[i].getAttribute('data-k'));
        ticks[i].textContent=us((a+(b-a)*k/5)/100*span/1e3);}
      out.textContent=us(a/100*span/1e3).replace(' µs','')+'–'+us(b/100*span/1e3);
    }
    lo.oninput=apply;hi.oninput=apply;
    z.querySelector('button').onclick=function(){lo.value=0;hi.value=100;apply();};
    svg.addEventListener('wheel',function(e){
      var a=parseFloat(lo.value),b=parseFloat(hi.value),r=svg.getBoundingClientRect();
      var f=Math.min(1,Math.max(0,(e.clientX-r.left-96)/(r.width-108)));var at=a+(b-a)*f;
      var scale=e.deltaY<0?0.8:1.25;var w=Math.min(100,Math.max(0.5,(b-a)*scale));
      a=Math.max(0,Math.min(100-w,at-w*f));lo.value=a;hi.value=a+w;apply();e.preventDefault();
    },{passive:false});
  });
  document.body.setAttribute('data-ready','1');
})();
"""


def _when(t: float | None) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if t else ""


def _us(v: float | None) -> str:
    return latency(v)


def _x(v: float | None) -> str:
    return speedup(v)


def _status_class(status: str) -> str:
    return {"correct": "st-correct", "pending": "st-pending"}.get(status, "st-other")


def _table(headers: list[str], rows: list[list], num_from: int = 1) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i >= num_from else ""}>{c}</td>'
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def summary_table(d: ReportData) -> str:
    i = d.info
    rows = [["Run", escape(i.run_id)], ["Problem", escape(i.problem) + f' <span class="muted">'
                                        f'{escape(i.problem_hash or "")}</span>'],
            ["Status", escape(d.status) + (f" ({escape(i.status_reason)})" if i.status_reason else "")],
            ["Target", escape(i.target or "—")], ["Evidence", escape(d.evidence)],
            ["Cost model", escape(_calibration(d))],
            ["Created / updated", f"{_when(i.created)} / {_when(i.updated)}"],
            ["Candidates", str(len(d.candidates))],
            ["Evaluated", str(sum(1 for c in d.candidates if c.evaluated))],
            ["Baseline", _us(d.baseline.latency_us) if d.baseline else "—"],
            ["Best", _best_cell(d)],
            ["LLM spend", f"${d.spend_total.cost_usd:.4f} in {d.spend_total.calls} calls" if d.spend_total
             else "$0"]]
    banner = ""
    if "sim" in d.evidence:
        banner = ('<p class="banner">Latencies marked <b>sim</b> are estimates of autocomp\'s simulator and cost '
                  "model, not hardware measurements.</p>")
    return banner + _table(["", ""], rows, num_from=9)


def _best_cell(d: ReportData) -> str:
    """The best kernel's figure: its hardware measurement in a two-tier run (against the baseline's), else as
    stored (with the estimate's win verdict)."""
    if d.best is None:
        return "—"
    hw = {t["id"]: t["hw_latency_us"] for t in d.tiers if t["hw_status"] == "correct"}
    if d.best.id in hw:
        base = hw.get(d.baseline.id) if d.baseline else None
        return (f"#{d.best.id}: {_us(hw[d.best.id])} measured on hardware, "
                f"{_x(base / hw[d.best.id] if base else None)} (estimate {_us(d.best.latency_us)})")
    return f"#{d.best.id}: {_us(d.best.latency_us)}, {_x(d.best.speedup)}" + _win_note(d)


def _calibration(d: ReportData) -> str:
    """Which cost model the run's sim estimates come from (the best or baseline evaluation names it)."""
    for role in ("best", "baseline"):
        label = (d.results.get(role) or {}).get("calibration")
        if label:
            return f"calibration {label}"
    return "built-in numbers" if "sim" in d.evidence else "—"


def progress_chart(d: ReportData) -> str:
    best = d.best_per_iteration()
    series = [{"name": "best so far", "color": PALETTE[0], "step": True,
               "points": [(it, c.latency_us, f"iteration {it}: #{c.id} {c.latency_us:.2f} us ({_x(c.speedup)})")
                          for it, c in best]},
              {"name": "correct candidates", "color": PALETTE[4], "dots_only": True,
               "points": [(c.iteration, c.latency_us, f"#{c.id} ({c.origin}) {latency(c.latency_us)}")
                          for c in d.candidates if c.correct and c.latency_us is not None]}]
    hlines = []
    if d.baseline and d.baseline.latency_us:
        hlines.append({"name": "baseline", "y": d.baseline.latency_us, "color": PALETTE[1]})
    roof = d.roofline_us()
    if roof:
        hlines.append({"name": "roofline (cost model)", "y": roof, "color": PALETTE[3]})
    return line_chart(series, hlines, x_label="iteration", y_label="latency (µs)", css_class="chart progress")


def _beams(d: ReportData) -> str:
    if not d.beams:
        return '<p class="note">No iteration has completed yet.</p>'
    rows = [[str(b.iteration), ", ".join(f"#{c}" for c in b.beam), f"#{b.best_candidate}" if b.best_candidate
             else "—", _when(b.completed)] for b in d.beams]
    return _table(["Iteration", "Beam", "Best", "Completed"], rows, num_from=9)


def _node(c: Candidate, d: ReportData, children: dict, lineage: set[int]) -> str:
    cls = " ".join(x for x in ("lineage" if c.id in lineage else "", "best" if d.best and c.id == d.best.id else "")
                   if x)
    label = (f'<span class="node">#{c.id}</span> <span class="muted">it {c.iteration} · {escape(c.origin)}</span> '
             f'<span class="{_status_class(c.status)}">{escape(c.status)}</span>')
    if c.latency_us is not None:
        label += f" {_us(c.latency_us)}"
    if c.speedup is not None:
        label += f" <b>{_x(c.speedup)}</b>"
    if d.regressed.get(c.id):
        label += f' <span class="st-other">slower at {escape(", ".join(d.regressed[c.id]))}</span>'
    reason = d.reasons.get(c.id)
    if reason and c.status != "correct":
        label += " " + _reason(reason)
    if c.plan:
        label += f' <details class="plan"><summary>plan</summary><div>{escape(c.plan)}</div></details>'
    kids = "".join(_node(k, d, children, lineage) for k in children.get(c.id, []))
    return (f'<li class="{cls}" data-status="{escape(c.status)}" data-id="{c.id}">{label}'
            + (f'<ul class="tree">{kids}</ul>' if kids else "") + "</li>")


def shape_table(d: ReportData) -> str:
    """Per declared shape: the baseline's and the best kernel's latency and the speedup, slower shapes marked;
    "" for a problem with one shape (docs/evaluation.md#problems-over-several-shapes)."""
    best, base = d.results.get("best") or {}, d.results.get("baseline") or {}
    shapes = best.get("shapes") or base.get("shapes") or []
    if not isinstance(shapes, list) or not shapes:
        return ""
    base_us = {s.get("name"): s.get("latency_us") for s in base.get("shapes") or [] if isinstance(s, dict)}
    slower = set(best.get("regressed_shapes") or [])
    rows = []
    for s in shapes:
        if not isinstance(s, dict):
            continue
        name = s.get("name", "")
        params = ", ".join(f"{k}={v}" for k, v in (s.get("params") or {}).items())
        baseline_us = s.get("baseline_latency_us") or base_us.get(name)
        speed = s.get("speedup") if best.get("shapes") else None
        mark = ' <span class="st-other">slower than the baseline</span>' if name in slower else ""
        rows.append([escape(name), escape(params), f"{s.get('weight', 1):g}", _us(baseline_us),
                     _us(s.get("latency_us") if best.get("shapes") else None), _x(speed) + mark])
    total = [["weighted geomean", "", "", _us(best.get("baseline_latency_us") or base.get("latency_us")),
              _us(best.get("latency_us")), _x(best.get("speedup"))]]
    table = _table(["shape", "params", "weight", "baseline", "best", "speedup"], rows + total, num_from=2)
    return table.replace("<table>", '<table id="shapes">', 1)


def _reason(reason: str, first_line_chars: int = 140) -> str:
    """Why a candidate failed or was rejected: its first line (the full text on hover), the rest on expand."""
    lines = reason.strip().splitlines() or [""]
    first = lines[0] if len(lines[0]) <= first_line_chars else lines[0][:first_line_chars - 1] + "…"
    out = f'<span class="reason" title="{escape(reason.strip())}">{escape(first)}</span>'
    if first != reason.strip():
        out += f' <details class="reason"><summary>full reason</summary><pre>{escape(reason.strip())}</pre></details>'
    return out


def _tree(d: ReportData) -> str:
    children: dict = {}
    ids = {c.id for c in d.candidates}
    for c in d.candidates:
        children.setdefault(c.parent_id if c.parent_id in ids else None, []).append(c)
    lineage = {c.id for c in d.lineage}
    nodes = "".join(_node(c, d, children, lineage) for c in children.get(None, []))
    controls = ('<div class="controls"><button id="expand-plans">expand plans</button>'
                '<button id="collapse-plans">collapse plans</button>'
                '<label><input type="checkbox" id="only-correct"> only correct branches</label></div>')
    return controls + f'<ul class="tree" id="tree">{nodes}</ul>'


def _lineage(d: ReportData) -> str:
    if not d.lineage:
        return ""
    rows = [[f"#{c.id}", escape(c.origin), _us(c.latency_us), _x(c.speedup),
             f'<div style="white-space:pre-wrap;text-align:left">{escape(c.plan or "")}</div>'] for c in d.lineage]
    return "<h3>Lineage of the best kernel</h3>" + _table(["Candidate", "Origin", "Latency", "Speedup", "Plan"],
                                                           rows, num_from=2)


def _tiers(d: ReportData) -> str:
    """Two-tier runs: each candidate's estimate and, where it was measured, its hardware latency."""
    from autocomp.store.tiers import measured

    if not measured(d.tiers):
        return ""
    rows = []
    for t in d.tiers:
        hw = _us(t["hw_latency_us"]) if t["hw_status"] == "correct" else escape(t["hw_status"] or "not measured")
        ratio = (f"{t['hw_latency_us'] / t['sim_latency_us']:.2f}" if t["hw_status"] == "correct"
                 and t["sim_latency_us"] else "—")
        rows.append([f"#{t['id']}", t["iteration"], escape(t["sim_status"] or "—"), _us(t["sim_latency_us"]), hw,
                     ratio])
    return ('<p class="note">Every candidate was estimated on the simulator; the ones the triage chose were '
            'measured on hardware. The search ranks measured candidates by their measurement, never against an '
            'estimate.</p>' + _table(["Candidate", "Iteration", "Sim status", "Sim estimate", "Hardware",
                                      "hw / sim"], rows, num_from=3))


def _device_profiles(d: ReportData) -> str:
    """Runs with --hw-profile: where each kept Neuron Explorer capture is, and the command that opens it."""
    from autocomp.store.device_profiles import NEFF_FILE, NTFF_FILE

    if not d.device_profiles:
        return ""
    rows = []
    for p in d.device_profiles:
        if p.get("open"):
            where = f"<code>{escape(p['path'])}</code>"
        else:
            where = escape(f"not captured: {p['error']}" if p.get("error") else p.get("note") or "not kept")
        rows.append([f"#{p['candidate']}", escape(p["purpose"]), escape(p.get("shape") or "—"), where])
    return (f'<p class="note">Each directory (under the run directory) holds the capture ({NTFF_FILE}), the NEFF it '
            f"was captured from ({NEFF_FILE}) and Neuron Explorer's summary. Open one with <code>neuron-explorer "
            f"view -n DIR/{NEFF_FILE} -s DIR/{NTFF_FILE}</code>.</p>"
            + _table(["Candidate", "Evaluation", "Shape", "Profile"], rows, num_from=4))


def _diff(d: ReportData) -> str:
    if not (d.baseline and d.best) or d.baseline.id not in d.sources:
        return '<p class="note">No correct kernel yet.</p>'
    if d.best.id == d.baseline.id:
        return '<p class="note">The baseline is still the best kernel.</p>'
    return side_by_side_diff(d.sources[d.baseline.id], d.sources[d.best.id], f"baseline #{d.baseline.id}",
                             f"best #{d.best.id}").replace('class="diff"', 'class="diff" id="diff"', 1)


def side_by_side_diff(a: str, b: str, a_label: str, b_label: str, *, context: bool = True) -> str:
    """An HTML table of ``a`` and ``b`` side by side, changed lines highlighted (style with DIFF_CSS)."""
    return difflib.HtmlDiff(tabsize=4, wrapcolumn=90).make_table(
        a.splitlines(), b.splitlines(), escape(a_label), escape(b_label), context=context, numlines=3)


def _summary(p: dict | None) -> dict:
    """The neuron-profile-shaped summary inside a stored profile record (or an evaluation's profile)."""
    if not p:
        return {}
    s = p.get("summary") if isinstance(p.get("summary"), dict) else p
    return s if isinstance(s, dict) else {}


def _interval(p: dict | None) -> str:
    """The clause "likely A-B µs on hardware" from a stored profile's error bar ("" for older records)."""
    s = _summary(p)
    low, high = s.get("total_time_low"), s.get("total_time_high")
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and high > 0):
        return ""
    return f", likely {low * 1e6:,.2f}–{high * 1e6:,.2f} µs on hardware (90%)"


def _win_note(d: ReportData) -> str:
    """Whether the best kernel's estimated win over the baseline lies outside the model's error."""
    if not (d.baseline and d.best) or d.best.id == d.baseline.id or "sim" not in d.evidence:
        return ""
    from autocomp.perf.uncertainty import win_is_certain
    from autocomp.store.win import win_verdict

    # The search's own verdict, from the stored evaluations (their calibration); else the profiles shown.
    results = getattr(d, "results", None) or {}
    verdict = win_verdict(results.get("baseline"), results.get("best"))
    if verdict is None:
        parent, child = _summary(d.profiles.get("baseline")), _summary(d.profiles.get("best"))
        if not (parent.get("uncertainty") and child.get("uncertainty") and parent.get("total_time")
                and child.get("total_time")):
            return ""
        try:
            verdict = win_is_certain(parent, child)
        except (KeyError, TypeError, ValueError):
            return ""
    label = "beyond the model's error" if verdict.certain else verdict.label
    return (f' <span class="muted">({escape(label)}: true speedup {verdict.low:.2f}x–{verdict.high:.2f}x at 90%; '
            f"{escape(verdict.reason)})</span>")


def _timelines(d: ReportData) -> str:
    present = [(role, p) for role, p in (("baseline", d.profiles.get("baseline")), ("best", d.profiles.get("best")))
               if p]
    if not present:
        return '<p class="note">No timeline: no profile stored and re-profiling was not possible.</p>'
    span = max(p.get("makespan_ns", 0.0) for _, p in present)
    out = []
    for role, p in present:
        cand = d.baseline if role == "baseline" else d.best
        bound = (p.get("roofline") or {}).get("bound_by", "?")
        head = (f"{role} #{cand.id if cand else '?'}: {latency(p.get('latency_us', 0))} estimated on "
                f"{escape(str(p.get('target', '')))}{_interval(p)}, bound by {escape(str(bound))}"
                + (" (re-profiled for this report)" if p.get("origin") == "reprofile" else ""))
        out.append(f"<h3>{head}</h3>")
        if p.get("timeline"):
            out.append(gantt_svg(p["timeline"], span, title=f"{role} engine timeline"))
            out.append('<div class="zoom">zoom <input type="range" class="lo" min="0" max="100" step="0.5" '
                       'value="0"> <input type="range" class="hi" min="0" max="100" step="0.5" value="100"> '
                       '<span class="range"></span> <button type="button">reset</button> '
                       '<span class="muted">(or the mouse wheel over the chart)</span></div>')
            out.append(_trace_link(role, cand, p))
        else:
            out.append('<p class="note">The stored profile has no per-instruction times.</p>')
        if p.get("hints"):
            out.append("<ul>" + "".join(f"<li>{escape(h)}</li>" for h in p["hints"][:6]) + "</ul>")
    engines = [lane.id for lane in LANES if any(lane.id in (p.get("engines") or {}) for _, p in present)]
    groups = [{"name": role, "color": PALETTE[1] if role == "baseline" else PALETTE[0],
               "values": [float((p.get("engines") or {}).get(e, {}).get("utilisation", 0.0)) for e in engines]}
              for role, p in present]
    out.append("<h3>Engine utilisation (% of kernel latency)</h3>")
    out.append(bar_chart([LABELS[e] for e in engines], groups, unit="%", css_class="bars utilisation"))
    return "".join(out)


def _line_costs(d: ReportData) -> str:
    """The best kernel's source lines by critical-path time (autocomp.perf.lines, as ``autocomp profile``)."""
    lines = _summary(d.profiles.get("best")).get("line_costs")
    if not lines:
        return '<p class="note">No per-line costs: no profile of the best kernel holds them.</p>'
    rows = []
    for c in lines:
        engine_time = (c.get("engine_time") or {}).items()
        engines = ", ".join(f"{LABELS_BY_NAME.get(k, k)} {v * 1e6:,.3f}" for k, v in engine_time)
        rows.append([escape(str(c.get("location", ""))), escape(", ".join(c.get("apis") or [])),
                     str(c.get("instructions", 0)), f"{float(c.get('critical_time', 0.0)) * 1e6:,.3f}",
                     f"{100 * float(c.get('critical_percent', 0.0)):.1f}%", escape(engines)])
    return ('<p class="note">Estimated by the cost model: each line\'s instructions\' time on the critical path and '
            "on each engine, in µs.</p>"
            + _table(["Line", "NKI calls", "Instructions", "Critical path (µs)", "Share", "Engine time (µs)"], rows,
                     num_from=2).replace("<table>", '<table id="line-costs">', 1))


def _trace_link(role: str, cand: Candidate | None, p: dict) -> str:
    """A download of the timeline as a Chrome trace (open in ui.perfetto.dev), embedded in the page."""
    name = f"candidate-{cand.id if cand else role}.trace.json"
    doc = rows_trace(p["timeline"], process=f"{role} #{cand.id if cand else '?'} on {p.get('target', '')}")
    data = base64.b64encode(dumps(doc).encode()).decode()
    return (f'<p><a class="trace" download="{name}" href="data:application/json;base64,{data}">'
            f"download {escape(name)}</a> <span class=\"muted\">(Chrome trace: open it in Perfetto or "
            "chrome://tracing)</span></p>")


def spend_chart(d: ReportData) -> str:
    """Best speedup so far against the cumulative LLM spend it took (USD): what each dollar bought."""
    frontier = d.spend_frontier()
    series = [{"name": "best speedup so far", "color": PALETTE[0], "step": True,
               "points": [(usd, spd, f"#{c.id} ({c.origin}): {spd:.2f}x after ${usd:.4f}")
                          for usd, spd, c in frontier]}]
    total = d.spend_total.cost_usd if d.spend_total else 0.0
    if frontier and total > frontier[-1][0]:  # the spend after the last improvement bought nothing
        series[0]["points"].append((total, frontier[-1][1], f"${total:.4f} spent in all"))
    return line_chart(series, x_label="cumulative LLM spend (USD)", y_label="best speedup (×)",
                      css_class="chart pareto", x_ticks=5)


def _spend(d: ReportData) -> str:
    if not d.spend_total:
        return '<p class="note">No LLM calls recorded.</p>'

    def rows(items):
        return [[escape(s.key), str(s.calls), str(s.cache_hits), str(s.failures), f"{s.input_tokens:,}",
                 f"{s.output_tokens:,}", f"{s.cached_tokens:,}", f"${s.cost_usd:.4f}"] for s in items]

    headers = ["", "Calls", "Cache hits", "Failures", "Tokens in", "Tokens out", "Cached in", "Cost"]
    chart = bar_chart([s.key for s in d.spend_by_phase], [{"name": "cost", "color": PALETTE[2],
                                                           "values": [s.cost_usd for s in d.spend_by_phase]}],
                      prefix="$", css_class="bars spend")
    return ("<h3>By phase</h3>" + _table(headers, rows(d.spend_by_phase)) + chart
            + "<h3>By model</h3>" + _table(headers, rows(d.spend_by_model))
            + "<h3>Total</h3>" + _table(headers, rows([d.spend_total])))


def render_page(d: ReportData) -> str:
    """The whole report as one HTML string."""
    notes = "".join(f"<li>{escape(n)}</li>" for n in d.notes)
    sections = [
        ("summary", "Summary", summary_table(d)),
        ("progress", "Best latency per iteration", progress_chart(d)),
        ("beams", "Beam per iteration", _beams(d)),
        ("tiers", "Simulator vs hardware", _tiers(d) or '<p class="note">No candidate was measured on hardware.</p>'),
        ("device-profiles", "Device profiles (Neuron Explorer)", _device_profiles(d)),
        ("candidates", "Candidate tree", _tree(d)),
        ("best-vs-baseline", "Best kernel against the baseline", _lineage(d) + "<h3>Diff</h3>" + _diff(d)),
        ("shapes", "Per-shape latency and speedup", shape_table(d)),
        ("timeline", "Engine timeline", _timelines(d)),
        ("lines", "Where the best kernel's time goes, per source line", _line_costs(d)),
        ("spend", "LLM spend", _spend(d)),
        ("pareto", "Speedup bought by LLM spend", spend_chart(d)),
    ]
    body = "".join(f'<section id="{sid}"><h2>{title}</h2>{html}</section>' for sid, title, html in sections
                   # the per-shape table only for problems that declare shapes, device profiles only when captured
                   if html or sid not in ("shapes", "device-profiles"))
    footer = (f'<p class="note">Generated {_when(datetime.now(timezone.utc).timestamp())} by autocomp '
              f"{escape(d.info.autocomp_version or '')} from run directory {escape(d.info.run_id)}: every figure "
              "comes from its run.sqlite and candidates/*/profile.json." + (f"</p><ul class=note>{notes}</ul>"
                                                                              if notes else "</p>"))
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>autocomp run {escape(d.info.run_id)}</title><style>{CSS}</style></head><body>"
            f"<h1>autocomp run {escape(d.info.run_id)}</h1>{body}{footer}<script>{SCRIPT}</script></body></html>")
