"""Every current-dialect language rule raises its NkiError code at the kernel line, with a fix in the message."""

import inspect

import neuronxcc.nki.language as legacy_nl
import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from tests.fakes.v2_support import target

A = np.zeros((128, 64), np.float32)


def _line(fn, text: str) -> int:
    """The file line of the first source line of ``fn`` containing ``text``."""
    lines, first = inspect.getsourcelines(inspect.unwrap(getattr(fn, "func", fn)))
    return first + next(i for i, line in enumerate(lines) if text in line)


def _raises(code: str, fn, *args, line: str | None = None, **kwargs) -> NkiError:
    with pytest.raises(NkiError) as err:
        fn(*args, **kwargs)
    e = err.value
    assert e.code == code, str(e)
    assert e.location is not None and e.location[0] == __file__, e.location
    if line is not None:
        assert e.location[1] == _line(fn, line), (e.location, str(e))
    return e


def _tile(src):
    t = nl.ndarray(src.shape, dtype=src.dtype)
    nisa.dma_copy(dst=t, src=src)
    return t


@nki.jit
def uses_legacy_module(a):
    t = _tile(a)
    return legacy_nl.exp(t)


def test_legacy_module_inside_kernel():
    e = _raises("err_legacy_module_in_kernel", uses_legacy_module, A, line="def uses_legacy_module")
    assert "import nki.language" in str(e)


@nki.jit
def legacy_style_call(a):
    t = _tile(a)
    return nisa.tensor_copy(t)


@nki.jit
def legacy_style_matmul(a):
    t = _tile(a)
    return nisa.nc_matmul(t, t)


@nki.jit
def activation_without_dst(a):
    t = _tile(a)
    nisa.activation(op=nl.exp, data=t)
    return a


@pytest.mark.parametrize("kernel,line", [(legacy_style_call, "nisa.tensor_copy(t)"),
                                         (legacy_style_matmul, "nisa.nc_matmul(t, t)"),
                                         (activation_without_dst, "nisa.activation(op")])
def test_isa_call_without_dst(kernel, line):
    e = _raises("err_missing_dst", kernel, A, line=line)
    assert "dst" in str(e)


@nki.jit
def mask_keyword(a):
    t = _tile(a)
    nisa.tensor_copy(dst=t, src=t, mask=None)
    return a


@nki.jit
def rmw_keyword(a):
    t = _tile(a)
    nisa.dma_copy(dst=t, src=a, dst_rmw_op=nl.add)
    return a


def test_unknown_keyword():
    assert "masks do not exist" in str(_raises("err_unexpected_keyword", mask_keyword, A, line="mask=None"))
    assert "dma_compute" in str(_raises("err_unexpected_keyword", rmw_keyword, A, line="dst_rmw_op"))


@nki.jit
def string_buffer(a):
    nl.ndarray((128, 4), dtype=nl.float32, buffer="sbuf")
    return a


def test_string_buffer_name():
    assert "nl.sbuf" in str(_raises("err_string_buffer_name", string_buffer, A, line='buffer="sbuf"'))


@nki.jit
def raw_int_enum(a, which):
    t = _tile(a)
    if which == "dge":
        nisa.dma_copy(dst=t, src=a, dge_mode=2)
    else:
        nisa.tensor_copy(dst=t, src=t, engine=1)
    return a


@pytest.mark.parametrize("which,line", [("dge", "dge_mode=2"), ("engine", "engine=1")])
def test_raw_integer_enum(which, line):
    assert "nisa." in str(_raises("err_raw_integer_enum", raw_int_enum, A, which, line=line))


@nki.jit
def takes_shape(a, shape):
    return a


@nki.jit
def list_default(a, stride=[1, 1]):  # noqa: B006 - the rule under test
    return a


def test_list_kernel_arguments():
    assert "tuple" in str(_raises("err_list_kernel_argument", takes_shape, A, [1, 2], line="def takes_shape"))
    _raises("err_list_kernel_argument", list_default, A, line="def list_default")
    takes_shape(A, (1, 2))  # tuples are fine


@nki.jit
def identity_compare(a, flag=None):
    if flag is not None:
        return a
    return a


def test_identity_comparison_is_accepted():
    # nki 0.3 to 0.6 rejected `is` / `is not` in kernels; nki 0.7 accepts them again, so the simulator does.
    identity_compare(A)
    identity_compare(A, 1)


@nki.jit
def keyword_only(a, *, flag=True):
    return a


def test_keyword_only_separator():
    _raises("err_keyword_only_separator", keyword_only, A, line="def keyword_only")


@nki.jit
def decorated_sub(t):
    nisa.activation(dst=t, op=nl.exp, data=t)


@nki.jit
def calls_decorated_sub(a):
    t = _tile(a)
    decorated_sub(t)
    return a


def test_jit_on_subkernel():
    _raises("err_jit_on_subkernel", calls_decorated_sub, A, line="decorated_sub(t)")


def test_deprecated_jit_arguments():
    for kw in ({"mode": "simulation"}, {"platform_target": "trn2"}):
        with pytest.raises(NkiError) as err:
            nki.jit(**kw)(takes_shape.func)
        assert err.value.code == "err_deprecated_jit_argument" and err.value.location[0] == __file__


@nki.jit
def returns_private_hbm(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.hbm)
    nisa.dma_copy(dst=out, src=a)
    return out


@nki.jit
def returns_sbuf(a):
    return _tile(a)


def test_outputs_must_be_shared_hbm():
    assert "nl.shared_hbm" in str(_raises("err_output_not_shared_hbm", returns_private_hbm, A))
    _raises("err_output_not_shared_hbm", returns_sbuf, A)


@nki.jit
def bad_reshape(a):
    t = _tile(a)
    t.reshape((128, 32))
    return a


def test_reshape_element_count():
    _raises("err_reshape_element_count", bad_reshape, A, line="t.reshape((128, 32))")


@nki.jit
def transpose_rank(a):
    t = nl.ndarray((64, 128), dtype=a.dtype)
    nisa.dma_transpose(dst=t.reshape((64, 2, 64)), src=a)
    return a


def test_dma_transpose_rank_mismatch():
    with target("trn2"):
        _raises("err_rank_mismatch", transpose_rank, np.zeros((128, 64), np.float16), line="nisa.dma_transpose")


@nki.jit
def reduce_middle_axis(a):
    t = _tile(a).reshape((128, 8, 8))
    r = nl.ndarray((128, 8), dtype=nl.float32)
    nisa.tensor_reduce(dst=r, op=nl.add, data=t, axis=1)
    return a


def test_reduce_axes_must_be_trailing():
    _raises("err_reduce_axes_not_trailing", reduce_middle_axis, A, line="nisa.tensor_reduce")


@nki.jit
def memset_float_into_int(a):
    t = nl.ndarray((128, 4), dtype=nl.int32)
    nisa.memset(dst=t, value=2.0)
    return a


@nki.jit
def dma_from_psum(a):
    ps = nl.zeros((128, 64), dtype=nl.float32, buffer=nl.psum)
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    nisa.dma_copy(dst=out, src=ps)
    return out


def test_nki_0_3_api_changes():
    assert "value=2" in str(_raises("err_unsupported_dtype", memset_float_into_int, A, line="nisa.memset"))
    assert "tensor_copy" in str(_raises("err_unsupported_memory", dma_from_psum, A, line="nisa.dma_copy"))


@nki.jit
def placed(a, where):
    if where == "ok":
        t = nl.ndarray((64, 128), dtype=nl.float32, address=(64, 1024))
        p = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.psum, address=(0, 4096))
        assert t.address == (64, 1024) and p.address == (0, 4096)
    elif where == "psum_bank":
        nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.psum, address=(0, 1000))
    elif where == "partition":
        nl.ndarray((64, 128), dtype=nl.float32, address=(32, 0))
    elif where == "hbm_zeros":
        nl.zeros((64, 128), dtype=nl.float32, buffer=nl.shared_hbm)
    return a


def test_direct_allocation_rules():
    placed(A, "ok")
    infos = [t for t in placed.last_result.trace.tensors.values() if t.address is not None]
    assert sorted(t.address for t in infos) == [(0, 4096), (64, 1024)]
    _raises("err_partition_start_misaligned", placed, A, "psum_bank", line="address=(0, 1000)")
    _raises("err_partition_start_misaligned", placed, A, "partition", line="address=(32, 0)")
    _raises("err_hbm_tensor_with_init_value_not_supported", placed, A, "hbm_zeros", line="nl.zeros")
