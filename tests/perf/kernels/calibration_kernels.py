"""Small kernels, each bound by one resource, for calibration tests: a fit can only recover a
parameter that some measured kernel's latency depends on."""

import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl


@nki.jit
def copy_rows(a):
    """DMA-bound, long contiguous rows: the per-engine byte rate."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        t = nl.load(a[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=t)
    return out


@nki.jit
def copy_short_rows(a):
    """DMA-bound, 128-byte rows: the per-descriptor cost."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        for j in nl.affine_range(a.shape[1] // 32):
            t = nl.load(a[i * 128:(i + 1) * 128, j * 32:(j + 1) * 32])
            nl.store(out[i * 128:(i + 1) * 128, j * 32:(j + 1) * 32], value=t)
    return out


@nki.jit
def square_many(a):
    """Vector-bound: forty full-width multiplies, each of the previous product (a repeated product of the
    same inputs would be computed once: the cost model charges a recomputed value once)."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.load(a)
    acc = nl.load(a)
    for _ in nl.sequential_range(40):
        acc[...] = nl.multiply(acc, t)
    nl.store(out, value=acc)
    return out


@nki.jit
def matmul_many(a, b):
    """Tensor-bound: two hundred accumulating matmuls of one loaded pair."""
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    at = nl.load(a)
    bt = nl.load(b)
    acc = nl.zeros((128, 512), dtype=nl.float32, buffer=nl.psum)
    for _ in nl.affine_range(200):
        acc += nisa.nc_matmul(at, bt)
    nl.store(out, value=nl.copy(acc))
    return out


@nki.jit
def tiny(a):
    """Launch-bound: one small load and store."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    nl.store(out, value=nl.load(a))
    return out


@nki.jit
def exp_many(a):
    """Scalar-bound: thirty chained activations (each of the previous result, so none is a recomputation)."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    acc = nl.load(a)
    for _ in nl.sequential_range(30):
        acc[...] = nl.exp(acc)
    nl.store(out, value=acc)
    return out


@nki.jit
def scan_many(a):
    """Vector-bound on scans: twenty chained tensor_tensor_scan recurrences, each over the previous result
    (so none repeats an earlier one)."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.load(a)
    acc = nl.load(a)
    for _ in nl.sequential_range(20):
        acc[...] = nisa.tensor_tensor_scan(t, acc, initial=0.0, op0=nl.multiply, op1=nl.add)
    nl.store(out, value=acc)
    return out


@nki.jit
def scan_and_multiply(a):
    """Vector-bound, half scans and half two-input multiplies: a selective-scan step in miniature, so the
    scan's share of the time differs from scan_many's."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.load(a)
    acc = nl.load(a)
    for _ in nl.sequential_range(10):
        acc[...] = nl.multiply(acc, t)
        acc[...] = nisa.tensor_tensor_scan(t, acc, initial=0.0, op0=nl.multiply, op1=nl.add)
    nl.store(out, value=acc)
    return out

