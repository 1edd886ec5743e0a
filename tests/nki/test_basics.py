"""First checks of the legacy-dialect simulator: values, trace and errors."""

import ml_dtypes
import numpy as np
import pytest

import autocomp.nki
from autocomp.nki.errors import NkiError

autocomp.nki.install()
import neuronxcc.nki as nki  # noqa: E402
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402


@nki.jit
def tiled_matmul(lhsT, rhs):
    K, M = lhsT.shape
    _, N = rhs.shape
    result = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    for m in nl.affine_range(M // 128):
        for n in nl.affine_range(N // 512):
            acc = nl.zeros((128, 512), nl.float32, buffer=nl.psum)
            for k in nl.affine_range(K // 128):
                lt = nl.load(lhsT[k * 128:(k + 1) * 128, m * 128:(m + 1) * 128])
                rt = nl.load(rhs[k * 128:(k + 1) * 128, n * 512:(n + 1) * 512])
                acc += nisa.nc_matmul(lt, rt)
            nl.store(result[m * 128:(m + 1) * 128, n * 512:(n + 1) * 512], value=nl.copy(acc))
    return result


@pytest.mark.parametrize("seed", [0, 1])
def test_tiled_matmul_bf16_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((256, 256)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((256, 1024)).astype(ml_dtypes.bfloat16)
    out = tiled_matmul(a, b)
    ref = a.astype(np.float64).T @ b.astype(np.float64)
    assert np.abs(out - ref).max() < 1e-3
    trace = tiled_matmul.last_result.trace
    ops = [i.opcode for i in trace.instructions]
    assert ops.count("MATMUL") == 2 * 2 * 2
    assert ops.count("DMA") == 2 * 8 + 4


def test_partition_limit_error_names_code_and_line():
    @nki.jit
    def too_wide(a):
        out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
        t = nl.load(a)  # 256 partitions
        nl.store(out, value=t)
        return out

    with pytest.raises(NkiError) as err:
        too_wide(np.zeros((256, 4), np.float32))
    assert err.value.code == "err_num_partition_exceed_arch_limit"
    assert err.value.location[0] == __file__
    assert isinstance(err.value, SyntaxError)
