"""Legacy dialect: ``acc += nc_matmul(...)`` into PSUM that no write has reached starts the accumulation group.

On hardware the first matmul write of an accumulation group overwrites its PSUM elements and later ones add,
so kernels that allocate PSUM with ``nl.ndarray`` and never zero it (the legacy flash-attention kernels) are
correct. Elements written by anything before still accumulate, a NaN written by the kernel stays, and reading
PSUM nothing wrote still gives the NaN that marks unwritten memory.
"""

import warnings

import numpy as np

import autocomp.nki
from tests.fakes.extra_ops_support import run

autocomp.nki.install()
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402

K, M, N = 2, 128, 256


def operands(seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((K, 128, M), np.float32), rng.random((K, 128, N), np.float32)


def reference(a, b):
    return np.einsum("kpm,kpn->mn", a.astype(np.float64), b.astype(np.float64))


def k_whole(a, b):
    out = nl.ndarray((M, N), nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((M, N), nl.float32, buffer=nl.psum)
    for i in nl.affine_range(K):
        acc += nisa.nc_matmul(nl.load(a[i]), nl.load(b[i]))
    nl.store(out, nl.copy(acc))
    return out


def k_halves(a, b):
    """Each half of the PSUM tile is its own group, one by nisa.nc_matmul and one by nl.matmul."""
    out = nl.ndarray((M, N), nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((M, N), nl.float32, buffer=nl.psum)
    for i in nl.affine_range(K):
        acc[:, 0:128] += nisa.nc_matmul(nl.load(a[i]), nl.load(b[i, :, 0:128]))
        acc[:, 128:256] += nl.matmul(nl.load(a[i]), nl.load(b[i, :, 128:256]), transpose_x=True)
    nl.store(out, nl.copy(acc))
    return out


def k_partly_initialised(a, b):
    """Columns 0:64 hold 1.0 before the group: they accumulate onto it; the rest start from the matmul."""
    out = nl.ndarray((M, N), nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((M, N), nl.float32, buffer=nl.psum)
    acc[:, 0:64] = 1.0
    for i in nl.affine_range(K):
        acc += nisa.nc_matmul(nl.load(a[i]), nl.load(b[i]))
    nl.store(out, nl.copy(acc))
    return out


def k_nan_written(a, b):
    """A NaN the kernel wrote is a value, not unwritten memory: the group adds onto it."""
    out = nl.ndarray((M, N), nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((M, N), nl.float32, buffer=nl.psum)
    acc[:, 0:64] = np.nan
    for i in nl.affine_range(K):
        acc[:, 0:128] += nisa.nc_matmul(nl.load(a[i]), nl.load(b[i, :, 0:128]))
    acc[:, 128:256] = 0.0
    nl.store(out, nl.copy(acc))
    return out


def k_read_unwritten(a, b):
    out = nl.ndarray((M, N), nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((M, N), nl.float32, buffer=nl.psum)
    acc[:, 0:128] += nisa.nc_matmul(nl.load(a[0]), nl.load(b[0, :, 0:128]))
    nl.store(out, nl.copy(acc))  # columns 128: were never written
    return out


def k_zeroed(a, b):
    out = nl.ndarray((M, N), nl.float32, buffer=nl.shared_hbm)
    acc = nl.zeros((M, N), nl.float32, buffer=nl.psum)
    for i in nl.affine_range(K):
        acc += nisa.nc_matmul(nl.load(a[i]), nl.load(b[i]))
    nl.store(out, nl.copy(acc))
    return out


def test_accumulating_into_a_never_written_psum_tile_starts_the_group():
    a, b = operands()
    out, trace = run(k_whole, a, b)
    np.testing.assert_allclose(out, reference(a, b), rtol=1e-5)
    zeroed, zeroed_trace = run(k_zeroed, a, b)
    np.testing.assert_allclose(out, zeroed, rtol=1e-6)
    matmuls = [i for i in trace.instructions if i.opcode == "MATMUL"]
    assert len(matmuls) == K and all(i.attrs["accumulate"] for i in matmuls)


def test_accumulating_into_never_written_slices_of_a_psum_tile():
    a, b = operands(1)
    out, _ = run(k_halves, a, b)
    np.testing.assert_allclose(out, reference(a, b), rtol=1e-5)


def test_elements_written_before_the_group_accumulate():
    a, b = operands(2)
    out, _ = run(k_partly_initialised, a, b)
    expect = reference(a, b)
    expect[:, 0:64] += 1.0
    np.testing.assert_allclose(out, expect, rtol=1e-5)


def test_a_nan_the_kernel_wrote_stays():
    a, b = operands(3)
    out, _ = run(k_nan_written, a, b)
    assert np.isnan(out[:, 0:64]).all()
    np.testing.assert_allclose(out[:, 64:128], reference(a, b)[:, 64:128], rtol=1e-5)
    assert (out[:, 128:] == 0).all()


def test_reading_psum_nothing_wrote_still_gives_nan():
    a, b = operands(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, _ = run(k_read_unwritten, a, b)
    np.testing.assert_allclose(out[:, 0:128], reference(a[:1], b[:1])[:, 0:128], rtol=1e-5)
    assert np.isnan(out[:, 128:]).all()
