"""import-harness end to end: the gate is applied at import, large shapes get small check shapes, the
imported problem optimizes with the knob agent, and an imported solution is evaluated."""

from __future__ import annotations

import json

from autocomp.problem import Problem

# 2048 x 4096 inputs: above harness.LARGE_INPUTS elements, so the import gives the problem small check shapes.
HARNESS = '''\
import numpy as np
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl
from functools import lru_cache

P = 128
TILE_F = 512

# SUBSTITUTE HERE


@lru_cache(maxsize=None)
def tiles(n, t):
    return n // t


@nki.jit
def scale_shift(x):
    R, C = x.shape
    assert R % P == 0 and C % TILE_F == 0
    out = nl.ndarray((R, C), dtype=x.dtype, buffer=nl.shared_hbm)
    for r in nl.affine_range(R // P):
        for c in nl.affine_range(tiles(C, TILE_F)):
            t = nl.load(x[r * P:(r + 1) * P, c * TILE_F:(c + 1) * TILE_F])
            nl.store(out[r * P:(r + 1) * P, c * TILE_F:(c + 1) * TILE_F], value=nl.add(nl.multiply(t, 2.0), 1.0))
    return out


def test_nki(ref_func, test_func):
    x = np.random.uniform(-1.0, 1.0, size=(2048, 4096)).astype(np.float32)
    return np.allclose(test_func(x), 2.0 * x + 1.0, rtol=1e-4, atol=1e-4)


def benchmark_nki(nki_func):
    x = np.random.uniform(-1.0, 1.0, size=(2048, 4096)).astype(np.float32)
    bench = nki.benchmark(warmup=2, iters=10)(nki_func)
    bench(x)


if __name__ == "__main__":
    print(test_nki(scale_shift, solution))
'''

SOLUTION = '''\
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

P = 128
TILE_F = 1024


@nki.jit
def scale_shift(x):
    R, C = x.shape
    assert R % P == 0 and C % TILE_F == 0
    out = nl.ndarray((R, C), dtype=x.dtype, buffer=nl.shared_hbm)
    for r in nl.affine_range(R // P):
        for c in nl.affine_range(C // TILE_F):
            t = nl.load(x[r * P:(r + 1) * P, c * TILE_F:(c + 1) * TILE_F])
            nl.store(out[r * P:(r + 1) * P, c * TILE_F:(c + 1) * TILE_F], value=nl.add(nl.multiply(t, 2.0), 1.0))
    return out
'''


def test_import_gate_check_shapes_optimize_and_solution(tmp_path, runner, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    harness = tmp_path / "4_scale_shift_test.py"
    harness.write_text(HARNESS)

    refused = runner.invoke(cli, ["problems", "import-harness", str(harness)])
    assert refused.exit_code == 2, refused.output
    text = " ".join(refused.output.split())
    assert "static gate" in text and f"{harness}:4:" in text and "functools" in text  # the import, on its line
    assert f"{harness}:12:" in text  # the lru_cache decorator too: every violation is listed
    assert not (tmp_path / "problems" / "scale_shift").exists()  # nothing written

    harness.write_text(HARNESS.replace("from functools import lru_cache\n", "").replace(
        "@lru_cache(maxsize=None)\n", ""))
    imported = runner.invoke(cli, ["problems", "import-harness", str(harness), "--solution",
                                   str(_write(tmp_path / "fast.py", SOLUTION))])
    assert imported.exit_code == 0, imported.output
    root = tmp_path / "problems" / "scale_shift"  # default destination: ./problems, created
    problem = Problem.load(root)
    assert problem.spec.check_shapes and [a.shape for a in problem.inputs(0)] == [(1024, 1024)]
    assert [a.shape for a in problem.input_specs()] == [(2048, 4096)]
    assert problem.spec.tolerance.atol == 1e-4 and "kept the harness's tolerance" in imported.output
    assert "passes the evaluator's gate" in imported.output and "check shapes 1024x1024" in imported.output
    assert (root / "solutions" / "fast.py").read_text() == SOLUTION
    assert "solution: correct" in imported.output

    run = runner.invoke(cli, ["optimize", str(root), "--agent", "knobs", "--iterations", "1", "--workers", "1",
                              "--runs-dir", str(tmp_path / "runs"), "--json"])
    assert run.exit_code == 0, run.output
    out = json.loads(run.stdout[run.stdout.index("{"):])
    assert out["status"] == "finished" and out["agent"] == "knobs"


def test_import_refuses_to_shadow_a_bundled_problem_without_name(tmp_path, runner, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    harness = _write(tmp_path / "3_rope_bf16_test.py", HARNESS)
    res = runner.invoke(cli, ["problems", "import-harness", str(harness)])
    assert res.exit_code == 2 and "'rope_bf16' is a bundled problem's; pass --name" in " ".join(res.output.split())


def _write(path, text):
    path.write_text(text)
    return path
