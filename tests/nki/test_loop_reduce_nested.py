"""``nl.loop_reduce`` over several nested loops: one running value per run of the outermost reduction loop.

The inputs are powers of ten, one decimal digit per iteration, so a lost or repeated term shows up as a wrong
digit (11000000 instead of 11111111 when the run restarts on each entry of the inner loop).
"""

import numpy as np
import pytest

import autocomp.nki
from tests.fakes.extra_ops_support import run

autocomp.nki.install()
import neuronxcc.nki.language as nl  # noqa: E402


def digits(*trips) -> np.ndarray:
    """x[i, j, ...] = 10 ** (row-major iteration number), shaped trips + (1, 1)."""
    n = int(np.prod(trips))
    return (10.0 ** np.arange(n)).astype(np.float32).reshape(tuple(trips) + (1, 1))


def k_one_loop(x):
    out = nl.ndarray((1, 1), nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((1, 1), nl.float32, buffer=nl.sbuf)
    for i in nl.affine_range(x.shape[0]):
        acc[...] = nl.loop_reduce(nl.load(x[i]), op=np.add, loop_indices=[i])
    nl.store(out, acc)
    return out


def k_two_loops(x):
    out = nl.ndarray((1, 1), nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((1, 1), nl.float32, buffer=nl.sbuf)
    for i in nl.affine_range(x.shape[0]):
        for j in nl.affine_range(x.shape[1]):
            acc[...] = nl.loop_reduce(nl.load(x[i, j]), op=np.add, loop_indices=[i, j])
    nl.store(out, acc)
    return out


def k_three_loops(x):
    out = nl.ndarray((1, 1), nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((1, 1), nl.float32, buffer=nl.sbuf)
    for i in nl.affine_range(x.shape[0]):
        for j in nl.affine_range(x.shape[1]):
            for k in nl.affine_range(x.shape[2]):
                acc[...] = nl.loop_reduce(nl.load(x[i, j, k]), op=np.add, loop_indices=[i, j, k])
    nl.store(out, acc)
    return out


def k_two_loops_max(x):
    out = nl.ndarray((1, 1), nl.float32, buffer=nl.shared_hbm)
    acc = nl.ndarray((1, 1), nl.float32, buffer=nl.sbuf)
    for i in nl.affine_range(x.shape[0]):
        for j in nl.affine_range(x.shape[1]):
            acc[...] = nl.loop_reduce(nl.load(x[i, j]), op=np.maximum, loop_indices=[j, i])
    nl.store(out, acc)
    return out


def k_per_batch(x):
    """The reduction loops sit inside a batch loop: one run (and one result) per batch."""
    out = nl.ndarray((x.shape[0], 1, 1), nl.float32, buffer=nl.shared_hbm)
    for b in nl.affine_range(x.shape[0]):
        acc = nl.ndarray((1, 1), nl.float32, buffer=nl.sbuf)
        for i in nl.affine_range(x.shape[1]):
            for j in nl.affine_range(x.shape[2]):
                acc[...] = nl.loop_reduce(nl.load(x[b, i, j]), op=np.add, loop_indices=[i, j])
        nl.store(out[b], acc)
    return out


def test_loop_reduce_over_one_loop():
    out, _ = run(k_one_loop, digits(5))
    assert out[0, 0] == 11111


def test_loop_reduce_over_two_nested_loops_keeps_one_run():
    out, trace = run(k_two_loops, digits(4, 2))
    assert out[0, 0] == 11111111
    adds = [i for i in trace.instructions if i.opcode == "TENSOR_TENSOR"]
    # Every step after the first reads the previous step's result, across entries of the inner loop too.
    assert len(adds) == 8 and all(len(a.src) == 2 for a in adds[1:]) and len(adds[0].src) == 1


def test_loop_reduce_over_three_nested_loops():
    out, _ = run(k_three_loops, digits(2, 2, 2))
    assert out[0, 0] == 11111111


def test_loop_reduce_max_over_two_nested_loops():
    x = np.random.default_rng(0).standard_normal((3, 4, 1, 1)).astype(np.float32)
    out, _ = run(k_two_loops_max, x)
    assert out[0, 0] == x.max()


@pytest.mark.parametrize("batches", [1, 3])
def test_loop_reduce_restarts_per_entry_of_its_outermost_loop(batches):
    x = np.concatenate([digits(2, 3)[None] * (b + 1) for b in range(batches)])
    out, _ = run(k_per_batch, x)
    np.testing.assert_array_equal(out.reshape(-1), [111111 * (b + 1) for b in range(batches)])
