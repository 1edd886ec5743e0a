"""Simulator speed: a bf16 tiled matmul against a plain float32 numpy matmul.

Prints the simulator's wall time for a 4096x8192x8192 bf16 tiled matmul (the
basic tiled kernel: one nc_matmul per 128x128x512 tile) as a ratio to
``A.T @ B`` in float32 numpy of the same size, in the same process.
Target: <= 1.5x.  Use --small for a quick run at 1024x2048x2048.
"""

from __future__ import annotations

import argparse
import time

import ml_dtypes
import numpy as np

import autocomp.nki
from autocomp.nki import run_kernel

autocomp.nki.install()
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402


def tiled_matmul(lhsT, rhs):
    K, M = lhsT.shape
    _, N = rhs.shape
    result = nl.ndarray((M, N), dtype=nl.bfloat16, buffer=nl.shared_hbm)
    for m in nl.affine_range(M // 128):
        for n in nl.affine_range(N // 512):
            acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // 128):
                lhsT_tile = nl.ndarray((128, 128), dtype=lhsT.dtype, buffer=nl.sbuf)
                rhs_tile = nl.ndarray((128, 512), dtype=rhs.dtype, buffer=nl.sbuf)
                lhsT_tile[...] = nl.load(lhsT[k * 128:(k + 1) * 128, m * 128:(m + 1) * 128])
                rhs_tile[...] = nl.load(rhs[k * 128:(k + 1) * 128, n * 512:(n + 1) * 512])
                acc += nisa.nc_matmul(lhsT_tile[...], rhs_tile[...])
            out_tile = nl.copy(acc, dtype=result.dtype)
            nl.store(result[m * 128:(m + 1) * 128, n * 512:(n + 1) * 512], value=out_tile)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="1024x2048x2048 instead of 4096x8192x8192")
    args = parser.parse_args()
    m, k, n = (1024, 2048, 2048) if args.small else (4096, 8192, 8192)
    rng = np.random.default_rng(0)
    lhsT = rng.standard_normal((k, m), dtype=np.float32).astype(ml_dtypes.bfloat16)
    rhs = rng.standard_normal((k, n), dtype=np.float32).astype(ml_dtypes.bfloat16)

    a32, b32 = lhsT.astype(np.float32), rhs.astype(np.float32)
    t0 = time.perf_counter()
    ref = a32.T @ b32
    numpy_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = run_kernel(tiled_matmul, (lhsT, rhs))
    sim_s = time.perf_counter() - t0

    err = np.abs(result.outputs.astype(np.float32) - ref).max() / np.abs(ref).max()
    print(f"shape M={m} K={k} N={n} bf16, {len(result.trace)} instructions")
    print(f"numpy float32 matmul: {numpy_s:.2f} s")
    print(f"simulator:            {sim_s:.2f} s")
    print(f"ratio simulator/numpy: {sim_s / numpy_s:.2f}x (target <= 1.5x)")
    print(f"max error relative to max |ref|: {err:.2e}")


if __name__ == "__main__":
    main()
