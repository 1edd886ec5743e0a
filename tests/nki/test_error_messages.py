"""Mistakes get an NKI error that names the cause: a float64 matmul operand, and single-element stores work."""

import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import NkiError, run_kernel
from tests.fakes.extra_ops_support import run

autocomp.nki.install()
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402


def k_matmul(a, b):
    out = nl.ndarray((a.shape[1], b.shape[1]), nl.float32, buffer=nl.shared_hbm)
    nl.store(out, nl.copy(nisa.nc_matmul(nl.load(a), nl.load(b))))
    return out


@pytest.mark.parametrize("which", ["stationary", "moving"])
def test_a_float64_matmul_operand_is_named_as_unsupported(which):
    f64, f32 = np.ones((128, 64), np.float64), np.ones((128, 64), np.float32)
    args = (f64, f32) if which == "stationary" else (f32, f64)
    with pytest.raises(NkiError) as err:
        run_kernel(k_matmul, args)
    text = str(err.value)
    assert err.value.code == "err_unsupported_dtype"
    assert f"{which} is float64, which is not a supported dtype" in text and "float32" in text
    assert "cannot mix" not in text


def k_store_elements(x):
    out = nl.ndarray(x.shape, nl.float32, buffer=nl.shared_hbm)
    t = nl.load(x)
    t[1, 2] = 7.0
    t[0, 5] = nl.add(t[3, 4], 1.0)
    nl.store(out, t)
    return out


def test_storing_one_element_of_a_tile():
    x = np.arange(8 * 16, dtype=np.float32).reshape(8, 16)
    out, _ = run(k_store_elements, x)
    expect = x.copy()
    expect[1, 2] = 7.0
    expect[0, 5] = x[3, 4] + 1.0
    np.testing.assert_array_equal(out, expect)


def k_load_one_element(x):
    out = nl.ndarray((1, 1), nl.float32, buffer=nl.shared_hbm)
    t = nl.load(x[2, 3])
    assert t.shape == (1, 1)
    nl.store(out, t)
    return out


def test_loading_one_element_of_an_hbm_tensor():
    x = np.arange(32, dtype=np.float32).reshape(4, 8)
    out, _ = run(k_load_one_element, x)
    assert out[0, 0] == x[2, 3]
