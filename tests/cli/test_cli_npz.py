"""`autocomp simulate` reads and writes bf16 and fp8 arrays in .npz files without losing a bit."""

from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from typer.testing import CliRunner

from autocomp.cli import _npz as npz
from autocomp.cli import app

SILU = Path(__file__).parent.parent.parent / "problems" / "silu_bf16" / "kernel.py"


@pytest.mark.parametrize("dtype", [ml_dtypes.bfloat16, ml_dtypes.float8_e4m3, ml_dtypes.float8_e5m2])
def test_low_precision_arrays_round_trip_bit_for_bit(tmp_path, dtype):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((7, 5)) * 3).astype(dtype)
    plain = np.arange(4, dtype=np.float32)
    npz.save(tmp_path / "a.npz", {"x": arr, "y": plain})
    back = npz.load(tmp_path / "a.npz")
    assert sorted(back) == ["x", "y"]
    assert back["x"].dtype == np.dtype(dtype)
    assert np.array_equal(back["x"].view(np.uint8), arr.view(np.uint8))
    assert back["y"].dtype == np.float32 and np.array_equal(back["y"], plain)


def test_plain_savez_bf16_reads_back_as_bf16_and_fp8_without_dtype_is_refused(tmp_path):
    bf = np.linspace(-2, 2, 6).astype(ml_dtypes.bfloat16)
    np.savez(tmp_path / "raw.npz", x=bf)
    back = npz.load(tmp_path / "raw.npz")["x"]
    assert back.dtype == np.dtype(ml_dtypes.bfloat16) and np.array_equal(back.view(np.uint16), bf.view(np.uint16))
    np.savez(tmp_path / "fp8.npz", x=bf.astype(ml_dtypes.float8_e4m3))
    with pytest.raises(npz.NpzError, match="'x'.*without a dtype"):
        npz.load(tmp_path / "fp8.npz")


def test_simulate_takes_bf16_inputs_and_writes_bf16_outputs(tmp_path):
    x = np.random.default_rng(1).standard_normal((128, 512)).astype(ml_dtypes.bfloat16)
    npz.save(tmp_path / "in.npz", {"x": x})
    res = CliRunner().invoke(app, ["simulate", str(SILU), "-f", "silu", "--inputs", str(tmp_path / "in.npz"),
                                   "--out", str(tmp_path / "out.npz")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "bfloat16" in res.output
    out = npz.load(tmp_path / "out.npz")["arr_0"]
    assert out.dtype == np.dtype(ml_dtypes.bfloat16) and out.shape == x.shape
    xf = x.astype(np.float32)
    expected = xf / (1 + np.exp(-xf))
    assert np.allclose(out.astype(np.float32), expected, atol=3e-2, rtol=3e-2)
