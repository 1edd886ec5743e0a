"""`autocomp profile` on every conformance kernel, for every target (issue: cost model, done-when)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocomp.cli import app
from autocomp.nki import dtypes as dt
from autocomp.nki.loader import load_kernel
from tests.fakes.conformance import FAMILIES, KERNELS


def _shape_args(path: Path, name: str, args) -> list[str]:
    fn = load_kernel(path, name)
    params = [p.name for p in inspect.signature(getattr(fn, "func", fn)).parameters.values()]
    out = []
    for param, (shape, dtype) in zip(params, args):
        out += ["--shapes", f"{param}={'x'.join(str(s) for s in shape)}:{dt.dtype_name(dt.as_dtype(dtype))}"]
    return out


@pytest.mark.parametrize("target", ["trn1", "trn2", "trn3"])
def test_profile_cli_runs_every_conformance_kernel(target):
    runner = CliRunner()
    failures = []
    for module, name, args, grid in FAMILIES:
        path = KERNELS / f"{module}.py"
        cmd = ["profile", str(path), "-f", name, "--target", target, "--json"] + _shape_args(path, name, args)
        if grid:
            cmd += ["--grid", "x".join(str(g) for g in grid)]
        result = runner.invoke(app, cmd)
        if result.exit_code != 0:
            failures.append(f"{module}.{name}: exit {result.exit_code}: {result.output[-300:]}")
            continue
        summary = next(iter(json.loads(result.output).values()))
        if not summary["total_time"] > 0 or summary["target"] != target:
            failures.append(f"{module}.{name}: bad summary {summary['total_time']} {summary['target']}")
    assert not failures, "\n".join(failures)
