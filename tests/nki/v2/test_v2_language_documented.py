"""nki.language as documented: dtype passed by position, softmax's default axis, the documented keyword names,
and the calls added from the API reference (abs_min, gather_flattened, gelu_apprx_sigmoid(_dx), is_*, rand on a
buffer, shared_identity_matrix into dst) against numpy."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from tests.fakes.v2_support import assert_close, bf16, f64, sample, target


def _load(src, dtype=None):
    t = nl.ndarray(src.shape, dtype=dtype or src.dtype)
    nisa.dma_copy(dst=t, src=src)
    return t


def _out(t):
    o = nl.ndarray(t.shape, dtype=t.dtype, buffer=nl.shared_hbm)
    nisa.dma_copy(dst=o, src=t)
    return o


@nki.jit
def positional(x, y):
    a, b = _load(x), _load(y)
    s = nl.add(a, b, nl.bfloat16)  # dtype by position
    m = nl.max(a, 1, nl.float32, True)  # axis, dtype, keepdims by position
    sm = nl.softmax(a)  # axis=-1
    c = nl.copy(x=a, dtype=nl.bfloat16)
    e = nl.expand_dims(x=m, axis=2)
    nl.device_print(print_prefix="m:", tensor=m)
    return _out(s), _out(m), _out(sm), _out(c), _out(nl.copy(e[:, :, 0]))


def test_documented_positions_and_keywords(capsys):
    rng = np.random.default_rng(0)
    x, y = sample(rng, (64, 32)), sample(rng, (64, 32))
    s, m, sm, c, e = positional(x, y)
    assert s.dtype == bf16 and c.dtype == bf16
    assert_close(s, f64(x) + f64(y))
    assert_close(m, f64(x).max(axis=1, keepdims=True))
    ex = np.exp(f64(x) - f64(x).max(axis=1, keepdims=True))
    assert_close(sm, ex / ex.sum(axis=1, keepdims=True))
    assert_close(e, f64(x).max(axis=1, keepdims=True))
    assert "m:" in capsys.readouterr().out


@nki.jit
def with_mask(x):
    a = _load(x)
    return _out(nl.add(a, a, mask=None))


def test_the_current_dialect_has_no_mask_keyword():
    with pytest.raises(NkiError) as err:
        with_mask(np.ones((8, 8), np.float32))
    assert err.value.code == "err_unexpected_keyword" and "mask" in str(err.value)


@nki.jit
def smaller_magnitude(x, y):
    return _out(nl.abs_min(_load(x), _load(y)))


def test_abs_min_keeps_the_sign_of_the_smaller_magnitude_on_trn3():
    x = np.array([[5.0, -1.0, 2.0, -3.0]], np.float32).repeat(4, axis=0)
    y = np.array([[-3.0, 1.0, -4.0, 3.0]], np.float32).repeat(4, axis=0)
    with target("trn3"):
        out = smaller_magnitude(x, y)
    np.testing.assert_array_equal(out[0], [-3.0, 1.0, 2.0, 3.0])  # ties give y
    with target("trn2"), pytest.raises(NkiError) as err:
        smaller_magnitude(x, y)
    assert err.value.code == "err_unsupported_operation"


@nki.jit
def gathered(data, idx):
    return _out(nl.gather_flattened(_load(data), _load(idx), dtype=nl.float32))


def test_gather_flattened_indexes_the_flattened_free_dimensions():
    rng = np.random.default_rng(1)
    data = sample(rng, (16, 4, 8), bf16)
    idx = rng.integers(0, 32, (16, 3, 5)).astype(np.uint32)
    out = gathered(data, idx)
    assert out.dtype == np.float32
    ref = np.take_along_axis(f64(data).reshape(16, -1), idx.reshape(16, -1).astype(np.int64), axis=1)
    np.testing.assert_array_equal(f64(out).reshape(16, -1), ref)
    assert "GATHER" in [i.opcode for i in gathered.last_result.trace.instructions]


@nki.jit
def gelu_sigmoid(x):
    a = _load(x)
    return _out(nl.gelu_apprx_sigmoid(a)), _out(nl.gelu_apprx_sigmoid_dx(a))


def test_gelu_sigmoid_approximation_and_its_derivative():
    x = sample(np.random.default_rng(2), (32, 64))
    g, dg = gelu_sigmoid(x)
    s = 1.0 / (1.0 + np.exp(-1.702 * f64(x)))
    assert_close(g, f64(x) * s)
    assert_close(dg, s + 1.702 * f64(x) * s * (1.0 - s))
    assert {i.engine for i in gelu_sigmoid.last_result.trace.instructions if i.opcode == "ACTIVATE"} == {"act"}


@nki.jit
def buffers(x):
    t = _load(x)
    p = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.psum)
    flags = (nl.is_sbuf(t.buffer), nl.is_psum(p.buffer), nl.is_hbm(x.buffer), nl.is_on_chip(nl.psum),
             nl.is_hbm(nl.shared_hbm), nl.is_on_chip(nl.private_hbm), nl.is_sbuf(nl.psum))
    assert flags == (True, True, True, True, True, False, False), flags
    r = nl.rand((x.shape[0], 4), nl.float32, buffer=nl.psum, name="noise")
    eye = nl.ndarray((4, 4), dtype=nl.float32, buffer=nl.shared_hbm)
    nl.shared_identity_matrix(4, nl.float32, eye)
    return _out(nl.copy(r)), eye


def test_buffer_predicates_rand_on_psum_and_identity_into_dst():
    u, eye = buffers(np.ones((8, 4), np.float32))
    assert ((u >= 0) & (u < 1)).all()
    np.testing.assert_array_equal(eye, np.eye(4, dtype=np.float32))


def test_shared_identity_matrix_defaults_to_uint8():
    @nki.jit
    def eye(x):
        out = nl.ndarray((8, 8), dtype=nl.uint8, buffer=nl.shared_hbm)
        identity = nl.shared_identity_matrix(n=8)
        assert identity.dtype == nl.uint8
        nisa.dma_copy(dst=out, src=identity)
        return out

    assert eye(np.ones((1, 1), np.float32)).dtype == np.uint8
