"""Legacy names deployed kernels use: ``neuronxcc.nki.language.constants`` (``sizeinbytes``),
``neuronxcc.nki.isa.constants`` (``oob_mode``, ``dge_mode``), ``nl.finfo`` and the documented ``nki.tensor`` type
with its methods (``itemsize``, ``astype``, ``expand_dims``, ``assert_shape``, ``view(dtype)``)."""

import ml_dtypes
import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import NkiError
from tests.fakes.extra_ops_support import error_code, run

autocomp.nki.install()
import neuronxcc.nki as nki  # noqa: E402
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402


def test_language_constants_sizeinbytes():
    from neuronxcc.nki.language.constants import sizeinbytes

    assert [sizeinbytes(d) for d in (nl.float32, nl.bfloat16, nl.float8_e4m3, nl.int32, np.float16)] == [4, 2, 1, 4, 2]
    assert nl.constants.sizeinbytes is sizeinbytes
    with pytest.raises(NkiError, match="not an NKI dtype"):
        sizeinbytes("no-such-dtype")


def test_isa_constants_are_the_isa_enums():
    from neuronxcc.nki.isa.constants import dge_mode, oob_mode

    assert oob_mode is nisa.oob_mode and dge_mode is nisa.dge_mode
    assert oob_mode.skip is nisa.oob_mode.skip


def test_finfo_of_nki_float_dtypes():
    assert nl.finfo(nl.bfloat16).min == ml_dtypes.finfo(ml_dtypes.bfloat16).min
    assert nl.finfo(nl.float32).max == np.finfo(np.float32).max
    assert nl.finfo(nl.float8_e5m2).bits == 8
    with pytest.raises(NkiError, match="not a float dtype"):
        nl.finfo(nl.int32)


def k_tensor_api(a: nki.tensor) -> nki.tensor:
    assert isinstance(a, nki.tensor) and not isinstance(3, nki.tensor)
    out = nl.ndarray((a.shape[0], a.shape[1], 1), nl.float32, buffer=nl.shared_hbm)
    t = nl.load(a.assert_shape(a.shape))
    wide = t.astype(nl.float32)  # a copy cast to float32
    assert wide.dtype == nl.float32 and t.itemsize == 2 and wide.itemsize == 4
    nl.store(out, wide.expand_dims(2))
    return out


def test_nki_tensor_type_and_methods():
    a = np.arange(128 * 8, dtype=np.float16).reshape(128, 8)
    out, _ = run(k_tensor_api, a)
    np.testing.assert_array_equal(out[:, :, 0], a.astype(np.float32))
    with pytest.raises(NkiError, match="not a constructor"):
        nki.tensor((4, 4))


def k_bad_shape(a):
    a.assert_shape((1, 2))
    return a


def test_assert_shape_mismatch_is_an_error():
    assert error_code(k_bad_shape, np.zeros((4, 4), np.float32)) == "err_annotation_shape_mismatch"


def k_view_as_fp8(a):
    """An fp16 argument seen as fp8 bytes: twice as many columns, the same memory."""
    v = a.view(nl.float8_e5m2)
    out = nl.ndarray(v.shape, nl.float8_e5m2, buffer=nl.shared_hbm)
    nl.store(out, nl.load(v))
    return out


def test_view_of_a_kernel_argument_reinterprets_its_bytes():
    a = np.random.default_rng(0).standard_normal((16, 8)).astype(np.float16)
    out, trace = run(k_view_as_fp8, a)
    assert out.shape == (16, 16) and out.dtype == ml_dtypes.float8_e5m2
    np.testing.assert_array_equal(out.view(np.uint8), a.view(np.uint8))


def k_view_of_a_slice(a):
    a[0:4, :].view(nl.uint8)
    return a


def test_view_of_an_indexed_region_is_refused_clearly():
    assert error_code(k_view_of_a_slice, np.zeros((8, 8), np.float32)) == "err_unsupported_operation"
