"""What the compiler and hardware do, as the cost model now prices it: tiny instructions, device loops
vs unrolled ones, SPMD grids whose instances repeat each other, PSUM accumulation through `t[...] +=`,
and trn1's DMA element lanes (docs/cost-model.md lists each mechanism's source)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import TensorSpec, run_kernel
from autocomp.perf import get_target, profile
from autocomp.perf.scheduler import schedule
from tests.fakes.perf_trace_builder import TraceBuilder

autocomp.nki.install()

import neuronxcc.nki as nki  # noqa: E402
import neuronxcc.nki.isa as nisa  # noqa: E402
import neuronxcc.nki.language as nl  # noqa: E402

T1 = get_target("trn1")
KERNELS = Path(__file__).parent / "kernels"


def _tiny_ops(n: int, dependent: bool):
    """``n`` one-element Vector instructions, each reading the previous one's result or not."""
    b = TraceBuilder("trn1")
    src = b.sbuf(128, 1, "float32")
    prev = src
    for _ in range(n):
        dst = b.sbuf(128, 1, "float32")
        b.op("TENSOR_SCALAR", "dve", b.on(dst), b.on(prev if dependent else src), ops=("add",))
        prev = dst
    return b.trace


def test_independent_tiny_instructions_issue_at_min_ii_and_dependent_ones_every_264_cycles():
    n = 200
    free = schedule(_tiny_ops(n, dependent=False), T1)
    chain = schedule(_tiny_ops(n, dependent=True), T1)
    cycle = 1 / T1.dve_ghz
    assert free.makespan_ns == pytest.approx(n * 64 * cycle, rel=0.01)
    # MIN_II + the static overhead + the result latency between dependent instructions [M] PERF
    assert chain.makespan_ns / n == pytest.approx(264 * cycle, rel=0.02)


@nki.jit
def _v1_grid_copy(a):
    """Every instance copies the whole tensor: no program_id."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        nl.store(out[i * 128:(i + 1) * 128], value=nl.load(a[i * 128:(i + 1) * 128]))
    return out


@nki.jit
def _v1_grid_split(a):
    """Each instance copies its own 128-row slice."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    i = nl.program_id(0)
    nl.store(out[i * 128:(i + 1) * 128], value=nl.load(a[i * 128:(i + 1) * 128]))
    return out


def test_spmd_instances_that_repeat_the_first_ones_work_are_charged_once():
    a = TensorSpec((1024, 2048), "float32")
    one = profile(run_kernel(_v1_grid_copy, [a], numerics=False).trace, "trn1")
    grid = profile(run_kernel(_v1_grid_copy, [a], grid=(8,), numerics=False).trace, "trn1")
    assert grid.repeated_instances == 7
    assert grid.latency_us == pytest.approx(one.latency_us, rel=1e-6)
    assert "charged once" in grid.describe()
    split = profile(run_kernel(_v1_grid_split, [a], grid=(8,), numerics=False).trace, "trn1")
    assert split.repeated_instances == 0  # different slices: the instances run one after another
    per_slice = profile(run_kernel(_v1_grid_split, [a], grid=(1,), numerics=False).trace, "trn1")
    assert split.makespan_ns == pytest.approx(8 * per_slice.makespan_ns, rel=0.05)


def test_a_device_loop_reuses_its_buffers_and_runs_its_iterations_one_after_another():
    from autocomp.nki.loader import load_kernel

    a = np.ones((2048, 1024), np.float32)
    profiles = []
    for name in ("scale_unrolled", "scale_device_loop"):
        kernel = load_kernel(KERNELS / "device_loop_v2.py", name, "trn1")
        assert np.allclose(kernel(a), 2.0)
        profiles.append(profile(kernel.last_result.trace, "trn1"))
    unrolled, device = profiles
    # unrolled: the next tile's load overlaps this tile's store; on the device the one buffer waits
    assert device.latency_us > 1.3 * unrolled.latency_us, (device.latency_us, unrolled.latency_us)


@nki.jit
def _psum_accumulate(a, b):
    out = nl.ndarray((128, 512), dtype=nl.float32, buffer=nl.shared_hbm)
    at, bt = nl.load(a), nl.load(b)
    res = nl.zeros((128, 512), dtype=nl.float32, buffer=nl.psum)
    for _ in nl.affine_range(8):
        res[...] += nisa.nc_matmul(at, bt)
    nl.store(out, value=nl.copy(res))
    return out


def test_psum_accumulation_through_an_ellipsis_index_stays_on_the_tensor_engine():
    args = [np.ones((128, 128), np.float32), np.ones((128, 512), np.float32)]
    result = run_kernel(_psum_accumulate, args)
    trace = result.trace
    assert [i.opcode for i in trace.instructions].count("MATMUL") == 8
    assert sum(i.engine == "dve" and i.line == trace.instructions[2].line for i in trace.instructions) == 0
    assert np.allclose(result.outputs, 8 * 128.0)


def test_trn1_dma_charges_bf16_at_the_fp32_element_rate_in_the_roofline_too():
    b = TraceBuilder("trn1")
    src = b.hbm(128, 4096, "bfloat16")
    t = b.sbuf(128, 4096, "bfloat16")
    b.dma(b.on(t), b.rows(src, 0, 128, 0, 4096))
    p = profile(b.trace, "trn1")
    assert p.roofline.ideal_hbm_ns == pytest.approx(128 * 4096 * 4 / (16 * 17))
    assert get_target("trn2").dma_lane_factor(2) == 1.0
