"""Behaviours AWS's own NKI example tests and tutorials rely on (docs/nki-semantics.md#running-aws-examples),
each checked here on a small kernel of our own: the legacy convention of outputs passed as parameters,
``platform_target=`` on the legacy ``nki.jit``, DMA transpose in the legacy dialect on every target, and
kernels named ``test_*`` that pytest must not collect."""

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import autocomp
import autocomp.nki
from autocomp import targets
from autocomp.nki import NkiError, NkiWarning, run_kernel
from tests.fakes.extra_ops_support import normal

autocomp.nki.install()
import neuronxcc.nki as nki  # noqa: E402
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402
from neuronxcc.nki.isa.constants import dge_mode  # noqa: E402

P, F = 128, 64
NO_DMA_TRANSPOSE = next(t.name for t in map(targets.get, targets.names()) if not t.dma_transpose)
WITH_DMA_TRANSPOSE = next(t.name for t in map(targets.get, targets.names()) if t.dma_transpose)


def k_doubles_into_parameter(x, out):
    nl.store(out, nl.multiply(nl.load(x), 2.0))


def k_doubles_into_parameter_and_returns(x, out):
    result = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    doubled = nl.multiply(nl.load(x), 2.0)
    nl.store(out, doubled)  # <- the write that breaks the current convention
    nl.store(result, doubled)
    return result


def test_a_kernel_that_returns_nothing_may_write_its_output_parameter():
    x, out = normal(0, (P, F)), np.zeros((P, F), np.float32)
    with pytest.warns(NkiWarning, match="warn_output_parameter"):
        nki.simulate_kernel(nki.trace(k_doubles_into_parameter), x, out)
    np.testing.assert_allclose(out, 2 * x, rtol=1e-6)


def test_the_output_parameter_is_copied_back_on_every_launch_path():
    x = normal(1, (P, F))
    for launch in (nki.jit, nki.baremetal, nki.trace):
        out = np.zeros((P, F), np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NkiWarning)
            launch(k_doubles_into_parameter)(x, out)
        np.testing.assert_allclose(out, 2 * x, rtol=1e-6)


def test_writing_a_parameter_and_returning_outputs_is_still_refused_at_the_write():
    x, out = normal(2, (P, F)), np.zeros((P, F), np.float32)
    with pytest.raises(NkiError) as err:
        run_kernel(k_doubles_into_parameter_and_returns, (x, out))
    assert err.value.code == "err_cannot_update_immutable_parameter"
    assert isinstance(err.value, SyntaxError)
    line = next(i for i, text in enumerate(open(__file__).read().splitlines(), 1) if "# <- the write" in text)
    assert err.value.location[1] == line
    assert not out.any()  # nothing reached the caller


def k_reads_tile_size(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    nl.store(out, nl.load(x))
    return out


def test_legacy_jit_honours_platform_target():
    other = next(name for name in targets.names() if name != targets.DEFAULT_TARGET)
    kernel = nki.jit(k_reads_tile_size, mode="simulation", platform_target=other)
    kernel(normal(3, (P, F)))
    assert kernel.last_result.trace.target == other
    plain = nki.jit(k_reads_tile_size, mode="simulation")
    plain(normal(3, (P, F)))
    assert plain.last_result.trace.target == targets.DEFAULT_TARGET


def k_dma_transpose(a):
    out = nl.ndarray((a.shape[1], a.shape[0]), dtype=a.dtype, buffer=nl.shared_hbm)
    nl.store(out, nisa.dma_transpose(a[:, :]))
    return out


def k_dma_transpose_hwdge(a):
    out = nl.ndarray((a.shape[1], a.shape[0]), dtype=a.dtype, buffer=nl.shared_hbm)
    nl.store(out, nisa.dma_transpose(a[:, :], dge_mode=dge_mode.hwdge))
    return out


def test_legacy_dma_transpose_runs_on_a_target_without_the_current_dialects_dma_transpose():
    a = normal(4, (32, P))
    out = run_kernel(k_dma_transpose, (a,), target=NO_DMA_TRANSPOSE).outputs
    np.testing.assert_array_equal(out, a.T)


def test_legacy_dma_transpose_with_hardware_dge_needs_a_target_that_has_it():
    a = normal(5, (16, P))
    with pytest.raises(NkiError) as err:
        run_kernel(k_dma_transpose_hwdge, (a,), target=NO_DMA_TRANSPOSE)
    assert err.value.code == "err_unsupported_operation"
    out = run_kernel(k_dma_transpose_hwdge, (a,), target=WITH_DMA_TRANSPOSE).outputs
    np.testing.assert_array_equal(out, a.T)


def test_pytest_does_not_collect_a_kernel_named_like_a_test(tmp_path):
    (tmp_path / "test_kernel_named_test.py").write_text(textwrap.dedent("""
        import numpy as np
        import autocomp.nki
        autocomp.nki.install()
        import neuronxcc.nki as nki
        import neuronxcc.nki.language as nl

        @nki.jit
        def test_copy(in_tensor):
            out = nl.ndarray(in_tensor.shape, dtype=in_tensor.dtype, buffer=nl.shared_hbm)
            nl.store(out, nl.load(in_tensor))
            return out

        def test_the_real_test():
            x = np.ones((4, 8), np.float32)
            assert (test_copy(x) == x).all()
    """))
    # The child imports the autocomp under test, installed or not (its tree first on the path).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(autocomp.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def k_mask_joined_with_and(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    i_p, i_f = nl.arange(P)[:, None], nl.arange(F)[None, :]
    t = nl.load(a[i_p, i_f], mask=(i_p < 32 and i_f < 16))
    nl.store(out[i_p, i_f], value=t)
    return out


def test_mask_conditions_joined_with_python_and_keep_python_semantics_with_a_warning():
    a = normal(6, (P, F))
    with pytest.warns(NkiWarning, match="warn_mask_and_or"):
        out = run_kernel(k_mask_joined_with_and, (a,)).outputs
    # Python evaluates `x and y` to y for a truthy x: every partition is loaded, columns below 16 only.
    np.testing.assert_array_equal(out[:, :16], a[:, :16])
    assert np.isnan(out[:, 16:]).all()


def k_optional_bias(x, bias=None):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    b = nl.load(bias) if bias else None  # an HBM tensor is truthy: "was it passed?"
    t = nl.load(x)
    nl.store(out, nl.add(t, b) if b is not None else t)
    return out


def test_an_hbm_tensor_is_truthy_so_optional_tensor_arguments_work():
    x, bias = normal(7, (P, F)), normal(8, (P, 1))
    np.testing.assert_allclose(run_kernel(k_optional_bias, (x, bias)).outputs, x + bias, rtol=1e-6)
    np.testing.assert_array_equal(run_kernel(k_optional_bias, (x,)).outputs, x)


def k_cumulative_sum_from(x, start):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    dst = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.sbuf)
    nisa.tensor_scalar_cumulative(src=nl.load(x), dst=dst, op0=nl.multiply, op1=nl.add, imm0=2.0,
                                  imm1=nl.load(start), reduce_cmd=nisa.reduce_cmd.load_reduce)
    nl.store(out, dst)
    return out


def test_legacy_tensor_scalar_cumulative_with_dst_and_load_reduce():
    x, start = normal(9, (P, 16)), normal(10, (P, 1))
    out = run_kernel(k_cumulative_sum_from, (x, start)).outputs
    np.testing.assert_allclose(out, start + np.cumsum(2 * x, axis=1), rtol=1e-5, atol=1e-5)


def _k_mod_alloc_near_the_top(blocks: tuple[int, ...]):
    import neuronxcc.nki.compiler as ncc

    def kernel(x):
        out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
        top = nl.tile_size.sbuf_fmax_bytes - F * 4  # room for exactly one [P, F] float32 tile
        t = nl.ndarray((*blocks, nl.par_dim(P), F), dtype=nl.float32,
                       buffer=ncc.sbuf.mod_alloc(base_addr=top, num_free_tiles=(4,)))
        first = t[0] if blocks else t
        first[...] = nl.load(x)
        nl.store(out, first)
        return out
    return kernel


def test_modulo_allocation_reaches_only_the_tiles_its_blocks_use():
    x = normal(11, (P, F))
    # No block dimension: one physical tile, whatever num_free_tiles says (AWS's attention tutorial v9/v10).
    np.testing.assert_array_equal(run_kernel(_k_mod_alloc_near_the_top(()), (x,)).outputs, x)
    with pytest.raises(NkiError) as err:  # four blocks reach four tiles: past the end of SBUF
        run_kernel(_k_mod_alloc_near_the_top((4,)), (x,))
    assert err.value.code == "err_sbuf_capacity_exceeded"
