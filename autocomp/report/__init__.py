"""The HTML report of a run: one self-contained file (inline CSS, SVG and JS; nothing fetched).

    html = render_report("runs/20261122-181500-matmul-1a2b")
    write_report(run_dir, "report.html")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from autocomp.report.data import ReportData, load_report_data
from autocomp.report.page import render_page
from autocomp.report.reprofile import candidate_profile
from autocomp.store import RunReader
from autocomp.store.files import atomic_write_text


def render_report(run: str | Path | RunReader, *, reprofile: bool = True,
                  progress: Callable[[str], None] | None = None) -> str:
    """The report of ``run`` (a run directory or an open reader) as an HTML string; ``progress(message)`` hears
    each slow step."""
    if isinstance(run, RunReader):
        return render_page(load_report_data(run, reprofile=reprofile, progress=progress))
    with RunReader.open_readonly(run) as reader:
        return render_page(load_report_data(reader, reprofile=reprofile, progress=progress))


def write_report(run: str | Path | RunReader, out: str | Path, *, reprofile: bool = True,
                 progress: Callable[[str], None] | None = None) -> Path:
    """Render the report of ``run`` and write it to ``out`` atomically."""
    out = Path(out)
    text = render_report(run, reprofile=reprofile, progress=progress)
    if progress is not None:
        progress(f"writing {out}")
    atomic_write_text(out, text)
    return out


__all__ = ["ReportData", "candidate_profile", "load_report_data", "render_page", "render_report", "write_report"]
