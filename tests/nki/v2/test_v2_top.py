"""The current dialect's entry points: jit, simulate, LNC=2 grids, benchmark, and the simulator hook."""

import os
import subprocess
import sys

import nki
import nki.isa as nisa
import nki.language as nl
import nki.simulator
import nki.typing as nt
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from tests.fakes.v2_support import SEEDS, assert_close, f64, sample, target


@nki.jit
def lnc_matmul(lhsT, rhs):
    """Each logical core computes half of the output rows; both write one shared_hbm tensor."""
    K, M = lhsT.shape
    _, N = rhs.shape
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    half = M // nl.num_programs(0)
    base = nl.program_id(0) * half
    for m in range(half // 128):
        rows = base + m * 128
        acc = nl.ndarray((128, N), dtype=nl.float32, buffer=nl.psum)
        for k in range(K // 128):
            lt, rt = nl.ndarray((128, 128), lhsT.dtype), nl.ndarray((128, N), rhs.dtype)
            nisa.dma_copy(dst=lt, src=lhsT[k * 128:(k + 1) * 128, rows:rows + 128])
            nisa.dma_copy(dst=rt, src=rhs[k * 128:(k + 1) * 128, :])
            nisa.nc_matmul(acc, lt, rt)
        res = nl.ndarray((128, N), nl.float32)
        nisa.tensor_copy(dst=res, src=acc)
        nisa.dma_copy(dst=out[rows:rows + 128, :], src=res)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_lnc2_grid_runs_two_logical_cores(seed):
    rng = np.random.default_rng(seed)
    lhsT, rhs = sample(rng, (256, 512)), sample(rng, (256, 256))
    with target("trn2"):
        k2 = lnc_matmul[2]
        out = k2(lhsT, rhs)
        assert_close(out, f64(lhsT).T @ f64(rhs))
        trace = k2.last_result.trace
        assert trace.grid == (2,) and trace.dialect == "v2"
        assert {i.instance for i in trace.instructions} == {0, 1}
        assert sum(i.opcode == "MATMUL" for i in trace.instructions if i.instance == 1) == 2 * 2
        assert_close(lnc_matmul[1](lhsT, rhs), f64(lhsT).T @ f64(rhs))


def test_lnc2_is_an_error_on_trn1():
    with target("trn1"), pytest.raises(NkiError, match="trn2/trn3"):
        lnc_matmul[2](np.zeros((128, 256), np.float32), np.zeros((128, 128), np.float32))
    with pytest.raises(NkiError, match="1 or 2"):
        lnc_matmul[4]


@nki.jit
def double(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.load(a)
    nisa.tensor_scalar(dst=t, data=t, op0=nl.multiply, operand0=2.0)
    nl.store(out, t)
    return out


def double_plain(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(a.shape, dtype=a.dtype)
    nisa.dma_copy(dst=t, src=a)
    nisa.tensor_scalar(dst=t, data=t, op0=nl.multiply, operand0=2.0)
    nisa.dma_copy(dst=out, src=t)
    return out


def test_simulate_entry_points():
    a = sample(np.random.default_rng(0), (64, 32))
    np.testing.assert_array_equal(nki.simulate(double)(a), 2 * a)
    np.testing.assert_array_equal(nki.simulate(double_plain)(a), 2 * a)
    np.testing.assert_array_equal(nki.simulator.simulate_kernel(double_plain, (a,), {}, 1), 2 * a)
    with target("trn2"):
        np.testing.assert_array_equal(nki.simulator.simulate_kernel(double_plain, [a], None, _lnc=2), 2 * a)
    from nki.framework.compiled import CompileKernel

    compiled = CompileKernel(func=double_plain, artifacts_dir="unused", _enable_simulation=True)
    np.testing.assert_array_equal(compiled(a), 2 * a)


def test_benchmark_with_arrays_and_shape_placeholders(capsys):
    bench = nki.benchmark(warmup=2, iters=3)(double)
    out = bench(np.ones((128, 512), np.float32))
    np.testing.assert_array_equal(out, 2)
    p50 = bench.benchmark_result.nc_latency.get_latency_percentile(50)
    assert p50 > 0 and "NCLatency" in capsys.readouterr().out
    assert bench(nt.tensor[[128, 512], nl.float32]) is None  # shapes only: no values
    assert bench.last_result.trace.dialect == "v2" and not bench.last_result.trace.numerics


def test_nki_simulator_env_runs_unmodified_scripts(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import numpy as np\nimport autocomp.nki\nautocomp.nki.install()\n"
        "import nki, nki.language as nl, nki.isa as nisa\n"
        "@nki.jit\ndef k(a):\n    o = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)\n"
        "    t = nl.ndarray(a.shape, dtype=a.dtype)\n    nisa.dma_copy(dst=t, src=a)\n"
        "    nisa.activation(dst=t, op=nl.exp, data=t)\n    nisa.dma_copy(dst=o, src=t)\n    return o\n"
        "a = np.zeros((4, 4), np.float32)\nprint(float(k(a).sum()))\n")
    env = dict(os.environ, NKI_SIMULATOR="1")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "16.0"


@nki.jit
def writes_its_argument(a, out):
    """Kernels may write an HBM argument in place without returning it; the caller's array is updated."""
    t = nl.ndarray(a.shape, dtype=a.dtype)
    nisa.dma_copy(dst=t, src=a)
    nisa.activation(dst=t, op=nl.relu, data=t)
    nisa.dma_copy(dst=out, src=t)


def test_in_place_output_argument():
    a = sample(np.random.default_rng(4), (32, 16))
    out = np.zeros_like(a)
    assert writes_its_argument(a, out) is None
    np.testing.assert_array_equal(out, np.maximum(a, 0))


@nki.jit
def mixed_legacy_idioms(a):
    """Tolerated mixtures seen in real code: nl.par_dim shapes and nl.load beside dst-style nisa calls."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray((nl.par_dim(a.shape[0]), a.shape[1]), dtype=a.dtype)
    nisa.dma_copy(dst=t, src=a)
    u = nl.exp(t)
    nl.store(out, u)
    return out


def test_mixed_idioms_warn_but_run(nki_06):
    a = sample(np.random.default_rng(5), (16, 8))
    with pytest.warns(UserWarning, match="warn_legacy_par_dim"):
        out = mixed_legacy_idioms(a)
    assert_close(out, np.exp(f64(a)), tol=1e-6)
