"""NKI 0.7 (the modelled release) against NKI 0.6 (pinned): each rule that differs, accepted and refused.

docs/nki-semantics.md#nki-versions lists the rules.
"""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki import run_kernel, versions
from autocomp.nki.errors import NkiError
from autocomp.nki.v2 import NKI_VERSION
from autocomp.nki.v2.versioning import pinned

A = np.arange(4 * 8, dtype=np.float32).reshape(4, 8)


def _codes(result) -> list[str]:
    return [w.split("[", 1)[1].split("]", 1)[0] for w in result.trace.warnings]


@nki.jit
def range_alias(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.sbuf)
    for _ in nl.affine_range(2):
        for _ in nl.static_range(2):
            nisa.dma_copy(dst=t, src=a)
    nisa.dma_copy(dst=out, src=t)
    return out


@nki.jit
def python_range(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.sbuf)
    for _ in range(2):
        nisa.dma_copy(dst=t, src=a)
    nisa.dma_copy(dst=out, src=t)
    return out


@nki.jit
def dynamic_loop(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=t, src=a)
    for _ in nl.dynamic_range(3):
        nisa.tensor_scalar(dst=t, data=t, op0=nl.add, operand0=1.0)
    nisa.dma_copy(dst=out, src=t)
    return out


@nki.jit
def while_register(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=t, src=a)
    reg = nisa.register_alloc(0)
    while reg:
        nisa.tensor_scalar(dst=t, data=t, op0=nl.add, operand0=1.0)
    nisa.dma_copy(dst=out, src=t)
    return out


@nki.jit
def block_dimension(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray((nl.par_dim(4), 8), dtype=a.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=t, src=a)
    nisa.dma_copy(dst=out, src=t)
    return out


def test_the_modelled_release_is_recorded_and_a_pin_changes_it():
    assert NKI_VERSION == versions.MODELLED == (0, 7)
    python_range(A)
    assert python_range.last_result.trace.nki_version == "0.7"
    with pinned("0.6"):
        python_range(A)
    assert python_range.last_result.trace.nki_version == "0.6"
    assert run_kernel(python_range, [A], dialect="v2", nki_version="0.6.0").trace.nki_version == "0.6"
    assert run_kernel(python_range, [A], dialect="v1").trace.nki_version == ""


@pytest.mark.parametrize("bad", ["0.5", "1.0", "latest", "0.7.1"])
def test_an_unmodelled_release_is_refused_naming_the_ones_that_are(bad):
    with pytest.raises(ValueError, match="0.6, 0.7"):
        versions.parse(bad)


def test_range_aliases_warn_once_naming_range_from_0_7():
    out = range_alias(A)
    np.testing.assert_array_equal(out, A)
    warnings = range_alias.last_result.trace.warnings
    assert _codes(range_alias.last_result) == ["warn_deprecated_api", "warn_deprecated_api"]  # one per API
    assert all("Python range" in w for w in warnings)
    python_range(A)
    assert python_range.last_result.trace.warnings == []
    with pinned("0.6"):
        range_alias(A)
    assert range_alias.last_result.trace.warnings == []


@pytest.mark.parametrize("kernel, replacement", [(dynamic_loop, "nl.fori_loop"), (while_register, "nl.while_loop")])
def test_dynamic_loop_constructs_are_removed_in_0_7_and_deprecated_in_0_6(kernel, replacement):
    with pytest.raises(NkiError, match=f"removed in nki 0.7.*{replacement}") as e:
        kernel(A)
    assert e.value.code == "err_removed_api"
    with pinned("0.6"), pytest.warns(UserWarning, match=f"deprecated since nki 0.6.*{replacement}"):
        out = kernel(A)
    np.testing.assert_array_equal(out, A + (3 if kernel is dynamic_loop else 0))
    assert _codes(kernel.last_result) == ["warn_deprecated_api"]


def test_block_dimensions_are_refused_in_0_7_and_warned_in_0_6():
    with pytest.raises(NkiError, match="partition dimension is always the first") as e:
        block_dimension(A)
    assert e.value.code == "err_removed_api"
    with pinned("0.6"), pytest.warns(UserWarning, match="warn_legacy_par_dim"):
        np.testing.assert_array_equal(block_dimension(A), A)
