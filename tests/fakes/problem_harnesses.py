"""Small Autocomp-style harnesses written for these tests (the format: a reference kernel, a
`# SUBSTITUTE HERE` marker, test_nki(ref_func, test_func) and benchmark_nki(nki_func))."""

# Legacy dialect, 2-space indents, a helper and a constant the kernel needs, a ragged last tile
# handled with masks, a numpy reference in a helper function, and nt.tensor benchmark placeholders.
PREFIX_SUM_V1 = '''
import math
import numpy as np
import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl
import neuronxcc.nki.typing as nt

# SUBSTITUTE HERE

def div_ceil(n, d):
  return (n + d - 1) // d

P_TILE = 128
UNUSED_SETTING = "not needed by the kernel"


@nki.jit
def row_prefix_sum(x):
  rows, cols = x.shape
  y = nl.ndarray((rows, cols), dtype=x.dtype, buffer=nl.shared_hbm)
  ip = nl.arange(P_TILE)[:, None]
  jf = nl.arange(cols)[None, :]
  zeros = nl.zeros((P_TILE, cols), dtype=nl.float32)
  for i in nl.affine_range(div_ceil(rows, P_TILE)):
    mask = i * P_TILE + ip < rows
    data = nl.load(x[i * P_TILE + ip, jf], mask=mask)
    out = nisa.tensor_tensor_scan(data, zeros, initial=0.0, op0=np.add, op1=np.add, mask=mask)
    nl.store(y[i * P_TILE + ip, jf], value=out, mask=mask)
  return y


def numpy_prefix(x):
  return np.cumsum(x, axis=1)


def test_nki(ref_func, test_func):
  for _ in range(2):
    x = np.random.rand(200, div_ceil(500, 2)).astype(np.float32)
    expected = numpy_prefix(x)
    got = test_func(x)
    if not np.allclose(got, expected, atol=1e-3, rtol=1e-3):
      return False
  return True


def benchmark_nki(nki_func):
  x = nt.tensor[[2048, 1024], nl.float32]
  bench_func = nki.benchmark(warmup=2, iters=10)(nki_func)
  bench_func(x)
  latency_res = bench_func.benchmark_result.nc_latency
  print("Latency: {:.3f} ms (P99)".format(latency_res.get_latency_percentile(99) / 1000.0))


if __name__ == "__main__":
  if not test_nki(row_prefix_sum, solution):
    print("Test failed")
    exit(1)
  benchmark_nki(solution)
'''

# Current dialect driven through torch / torch_xla (never imported by the converter); test_nki only
# compares the solution with the reference kernel, so the kernel itself becomes the reference.
AXPY_V2_TORCH = '''
import numpy as np
import math

import nki
import nki.language as nl
import nki.isa as nisa
import torch
from torch_xla.core import xla_model as xm

TILE = 128

# SUBSTITUTE HERE


@nki.jit
def ref(a, b):
    rows, cols = a.shape
    out = nl.ndarray((rows, cols), dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(math.ceil(rows / TILE)):
        at = nl.ndarray((TILE, cols), dtype=a.dtype, buffer=nl.sbuf)
        bt = nl.ndarray((TILE, cols), dtype=b.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=at, src=a[i * TILE:(i + 1) * TILE, :])
        nisa.dma_copy(dst=bt, src=b[i * TILE:(i + 1) * TILE, :])
        res = nl.ndarray((TILE, cols), dtype=a.dtype, buffer=nl.sbuf)
        nisa.scalar_tensor_tensor(dst=res, data=at, op0=nl.multiply, operand0=2.0, op1=nl.add, operand1=bt)
        nisa.dma_copy(dst=out[i * TILE:(i + 1) * TILE, :], src=res)
    return out


def test_nki(ref_func, test_func):
    device = xm.xla_device()
    for seed in range(2):
        np.random.seed(42 + seed)
        a_np = (np.random.randn(256, 512) * 0.1).astype(np.float32)
        b_np = np.random.rand(256, 512).astype(np.float32)
        a = torch.tensor(a_np, dtype=torch.bfloat16, device=device)
        b = torch.from_numpy(b_np).to(device=device).bfloat16()
        r1 = ref_func(a, b)
        r2 = test_func(a, b)
        if not np.allclose(r1.detach().cpu().float().numpy(), r2.detach().cpu().float().numpy(),
                           atol=1e-2, rtol=1e-2):
            return False
    return True


def benchmark_nki(nki_func):
    device = xm.xla_device()
    a = torch.randn(2048, 1024, dtype=torch.bfloat16).to(device)
    b = torch.randn(2048, 1024, dtype=torch.bfloat16).to(device)
    bench_func = nki.benchmark(warmup=2, iters=10)(nki_func)
    bench_func(a, b)
    print(bench_func.benchmark_result.nc_latency.get_latency_percentile(99))


if __name__ == "__main__":
    if not test_nki(ref, solution):
        exit(1)
    benchmark_nki(solution)
'''

# An inline numpy expectation over converted inputs, no benchmark_nki, and a second kernel in the file.
SCALED_ADD_INLINE = '''
import numpy as np
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl

# SUBSTITUTE HERE


@nki.jit
def scaled_add(x, y):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(x.shape[0] // 128):
        a = nl.load(x[i * 128:(i + 1) * 128, :])
        b = nl.load(y[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(a, 3.0), b))
    return out


@nki.jit
def unused_kernel(x):
    return x


def test_nki(ref_func, test_func):
    x_host = np.random.uniform(-2.0, 2.0, size=(256, 64))
    y_host = np.random.randn(256, 64)
    x = x_host.astype(np.float32)
    y = y_host
    scaled = 3.0 * x_host
    expected = scaled + y_host
    return np.allclose(test_func(x, y), expected, rtol=1e-5, atol=1e-5)


if __name__ == "__main__":
    print(test_nki(scaled_add, solution))
'''
