"""neuronxcc.nki as documented: the calls added from the legacy API reference (gather_flattened,
gelu_apprx_sigmoid, nc / spmd_dim launch dimensions, finfo, psum.mod_alloc by bank) and the documented
defaults (comparisons' dtype=bool, shared_identity_matrix's uint8), against numpy."""

import math

import numpy as np

import autocomp.nki
from tests.fakes.extra_ops_support import normal, run

autocomp.nki.install()
import neuronxcc.nki as nki  # noqa: E402
import neuronxcc.nki.compiler as ncc  # noqa: E402
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402

P, F = 128, 64
HBM = nl.shared_hbm


def k_gather(data, idx):
    out = nl.ndarray(idx.shape, dtype=data.dtype, buffer=HBM)
    nl.store(out, nl.gather_flattened(nl.load(data), nl.load(idx)))
    return out


def test_gather_flattened_takes_per_partition_indices():
    data = normal(0, (P, 4, 8))
    idx = np.random.default_rng(1).integers(0, 32, (P, 10)).astype(np.uint32)
    out, trace = run(k_gather, data, idx)
    np.testing.assert_array_equal(out, np.take_along_axis(data.reshape(P, -1), idx.astype(np.int64), axis=1))
    assert ("GATHER", "pool") in [(i.opcode, i.engine) for i in trace.instructions]


def k_gelu_sigmoid(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=HBM)
    nl.store(out, nl.gelu_apprx_sigmoid(nl.load(x)))
    return out


def test_gelu_apprx_sigmoid():
    x = normal(2, (P, F))
    out, _ = run(k_gelu_sigmoid, x)
    np.testing.assert_allclose(out, x / (1.0 + np.exp(-1.702 * x)), rtol=1e-5, atol=1e-6)


def k_compare(x, y):
    out = nl.ndarray(x.shape, dtype=nl.uint8, buffer=HBM)
    less = nl.less(nl.load(x), nl.load(y))  # dtype=bool by default
    assert less.dtype == nl.bool_
    nl.store(out, nl.logical_and(less, nl.fmod(nl.load(x), 1.0, nl.float32) >= 0.0, dtype=nl.uint8))
    return out


def test_comparisons_default_to_bool_and_fmod_takes_dtype_by_position():
    x, y = normal(3, (P, F)), normal(4, (P, F))
    out, _ = run(k_compare, x, y)
    np.testing.assert_array_equal(out, ((x < y) & (np.fmod(x, 1.0) >= 0)).astype(np.uint8))


def k_identity(x):
    eye = nl.shared_identity_matrix(n=16)
    assert eye.dtype == nl.uint8
    out = nl.ndarray((16, 16), dtype=nl.uint8, buffer=HBM)
    nl.store(out, nl.load(eye))
    return out


def test_shared_identity_matrix_is_uint8_by_default():
    out, _ = run(k_identity, np.zeros((1, 1), np.float32))
    np.testing.assert_array_equal(out, np.eye(16, dtype=np.uint8))


@nki.jit
def spmd_copy(a):
    b = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    i, j = nl.program_id(0), nl.program_id(1)
    nl.store(b[i, j], nl.load(a[i, j]))
    return b


def test_logical_core_launch_dimensions_have_their_size():
    src = np.random.default_rng(5).random((4, 2, 1, 1), dtype=np.float32)
    assert int(nl.spmd_dim(nl.nc(2), 2)) == 4 and int(nl.nc(2) * 2) == 4
    np.testing.assert_array_equal(spmd_copy[nl.spmd_dim(nl.nc(2), 2), 2](src), src)
    np.testing.assert_array_equal(spmd_copy[nl.nc(2) * 2, 2](src), src)


def test_finfo_and_bfp16_limits():
    info = nl.finfo(nl.bfloat16)
    assert info.bits == 16 and math.isclose(info.max, 3.3895313892515355e38, rel_tol=1e-6)
    assert nl.bfp16.min == -info.max and nl.finfo(nl.float32).eps == np.finfo(np.float32).eps


def k_psum_bank(x):
    out = nl.ndarray((P, F), dtype=nl.float32, buffer=HBM)
    acc = nl.ndarray((P, F), dtype=nl.float32, buffer=ncc.psum.mod_alloc(base_bank=2))
    acc[...] = nisa.nc_matmul(nl.load(x), nl.load(x)[:, 0:F])
    nl.store(out, nl.copy(acc))
    return out


def test_psum_mod_alloc_places_a_tile_in_a_bank():
    x = normal(6, (P, P))
    out, trace = run(k_psum_bank, x)
    np.testing.assert_allclose(out, x.T @ x[:, :F], rtol=1e-4, atol=1e-4)
    placed = [t.address for t in trace.tensors.values() if t.address is not None]
    assert placed == [(0, 2 * 2048)]


def k_tensor_methods(x):
    out = nl.ndarray((P, 16, 1), dtype=nl.bfloat16, buffer=HBM)
    t = nl.load(x.reshape(shape=(P, 16))).assert_shape((P, 16))
    assert t.itemsize == 4 and t.ndim == 2
    nl.store(out, t.astype(nl.bfloat16).expand_dims(2))
    return out


def test_tiles_have_the_documented_tensor_methods():
    x = normal(7, (P * 16,))
    out, trace = run(k_tensor_methods, x)
    np.testing.assert_array_equal(out, x.reshape(P, 16, 1).astype(out.dtype))
    assert ("TENSOR_COPY", "dve") in [(i.opcode, i.engine) for i in trace.instructions]
