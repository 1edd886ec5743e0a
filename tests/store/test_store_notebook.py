"""notebooks/explore.ipynb runs top to bottom and shows the explorer's HTML views."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="install the dev extra (nbformat, nbclient, ipykernel)")
nbclient = pytest.importorskip("nbclient", reason="install the dev extra (nbformat, nbclient, ipykernel)")
pytest.importorskip("ipykernel", reason="install the dev extra (nbformat, nbclient, ipykernel)")

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore.ipynb"


def _html_outputs(cell) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.get("outputs", []))


def test_explore_notebook_executes_and_renders_the_run(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the failing cell
    def html_of(prefix: str) -> str:
        cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(prefix))
        return _html_outputs(cell)

    assert 'class="chart progress"' in html_of("run = autocomp.open_run")
    assert "<table" in html_of("run.candidates[[")
    assert "candidate #" in html_of("run.best")
    assert '<table class="diff"' in html_of("run.diff(run.baseline, run.best)")
    assert 'class="gantt"' in html_of("run.profile(run.best)")
    plot = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("run.plot()"))
    assert 'class="chart speedup"' in _html_outputs(plot) or any(  # an SVG, or matplotlib's PNG when installed
        "image/png" in o.get("data", {}) for o in plot.get("outputs", []))
    assert "autocomp.optimize(" in "".join(c.source for c in nb.cells)  # a real run through the public API
    warnings = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if o.get("name") == "stderr" and "Warning" in o.get("text", "")]
    assert not warnings, warnings  # e.g. pandas deprecations
    assert not list(tmp_path.glob("runs")), "the notebook writes its demo run to a temporary directory"
