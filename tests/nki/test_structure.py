"""Liveness-based capacity, loop scope and affine_range output dependencies."""

import numpy as np
import pytest

import autocomp.nki
from autocomp.nki import run_kernel
from autocomp.nki.errors import NkiError, NkiWarning

autocomp.nki.install()
import neuronxcc.nki.language as nl  # noqa: E402


def blocked_copy(a):
    """A block tensor far larger than SBUF whose blocks are live one at a time: fits."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    big = nl.ndarray((64, nl.par_dim(128), 8192), dtype=nl.float32, buffer=nl.sbuf)  # 2 MiB per partition
    for i in nl.affine_range(64):
        big[i] = nl.load(a[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=big[i])
    return out


def many_live(a):
    """Keeps 40 tiles of 8 KiB per partition live at once: 320 KiB > 176 KiB usable."""
    out = nl.ndarray((128, 2048), dtype=a.dtype, buffer=nl.shared_hbm)
    tiles = [nl.load(a[:, j * 2048:(j + 1) * 2048]) for j in range(40)]
    acc = tiles[0]
    for t in tiles[1:]:
        acc = nl.add(acc, t)
    nl.store(out, value=acc)
    return out


def test_block_dimensions_use_liveness_not_their_product():
    spec = autocomp.nki.TensorSpec((64 * 128, 8192), np.float32)  # shape only: no 256 MiB of values to draw
    result = run_kernel(blocked_copy, (spec,), numerics=False)
    assert result.trace.spill_bytes == 0
    assert result.trace.sbuf_peak_bytes_per_partition <= 2 * 8192 * 4


def test_over_capacity_warns_with_spill_bytes_and_fails_in_strict_mode():
    spec = autocomp.nki.TensorSpec((128, 40 * 2048), np.float32)
    with pytest.warns(NkiWarning, match="spill"):
        result = run_kernel(many_live, (spec,), numerics=False)
    assert result.trace.spill_bytes > 0
    assert result.trace.sbuf_peak_bytes_per_partition > 176 * 1024
    with pytest.raises(NkiError) as err:
        run_kernel(many_live, (spec,), numerics=False, strict=True)
    assert err.value.code == "err_sbuf_capacity_exceeded"


def use_after_loop(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for _ in nl.affine_range(2):
        t = nl.load(a)
    nl.store(out, value=t)  # t belongs to the loop body
    return out


def test_peak_counts_a_tile_freed_and_one_allocated_at_the_same_instruction_once():
    from autocomp.nki.capacity import _peak

    def peak(*ranges):  # (first seq, last seq, bytes) per tile
        first, last, size = (np.array([r[i] for r in ranges], dtype=np.int64) for i in range(3))
        return _peak(first, last, size)

    # Live until 2, then from 3; and one whose last use is the other's first.
    assert peak((0, 2, 100), (3, 5, 100)) == 100
    assert peak((0, 3, 100), (3, 5, 100), (1, 9, 7)) == 207
    assert peak() == 0


def test_tile_used_after_its_loop_is_out_of_scope():
    with pytest.raises(NkiError) as err:
        run_kernel(use_after_loop, (np.zeros((128, 4), np.float32),))
    assert err.value.code == "err_local_variable_used_out_of_scope"
    assert err.value.location[1] == use_after_loop.__code__.co_firstlineno + 4


def same_location_each_iteration(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    buf = nl.ndarray((4, nl.par_dim(128), 64), dtype=a.dtype, buffer=nl.sbuf)
    for i in nl.affine_range(4):
        buf[0] = nl.load(a[i * 128:(i + 1) * 128, :])
    nl.store(out[0:128, :], value=buf[0])
    return out


def different_location_each_iteration(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    buf = nl.ndarray((4, nl.par_dim(128), 64), dtype=a.dtype, buffer=nl.sbuf)
    for i in nl.affine_range(4):
        buf[i] = nl.load(a[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=buf[i])
    return out


def test_affine_range_writing_one_location_twice_is_an_error():
    a = np.ones((512, 64), np.float32)
    with pytest.raises(NkiError) as err:
        run_kernel(same_location_each_iteration, (a,))
    assert err.value.code == "err_unexpected_output_dependencies"
    assert err.value.location[1] == same_location_each_iteration.__code__.co_firstlineno + 4
    out = run_kernel(different_location_each_iteration, (a,)).outputs
    np.testing.assert_array_equal(out, a)


def nested_writes(a, assign_after_inner_loop: bool, inner_writes_old_tensor: bool):
    """Writes of a tensor from before the outer loop, from inside an inner loop or after it: the outer loop's
    check must see them whichever loop recorded the instruction."""
    out = nl.ndarray((128, 64), dtype=a.dtype, buffer=nl.shared_hbm)
    buf = nl.ndarray((128, 64), dtype=a.dtype, buffer=nl.sbuf)
    for _i in nl.affine_range(2):
        for j in nl.affine_range(2):
            t = nl.load(a[j * 128:(j + 1) * 128, :])
            if inner_writes_old_tensor:
                buf[...] = nl.load(a[j * 128:(j + 1) * 128, :])  # each j writes it: the inner loop's error
        if assign_after_inner_loop:
            buf[...] = t  # the load recorded in the inner loop now writes buf, once per i
    nl.store(out, value=buf)
    return out


@pytest.mark.parametrize("after, inner", [(True, False), (False, True)])
def test_nested_affine_ranges_writing_one_location_twice_is_an_error(after, inner):
    with pytest.raises(NkiError) as err:
        run_kernel(nested_writes, (np.ones((256, 64), np.float32), after, inner), numerics=False)
    assert err.value.code == "err_unexpected_output_dependencies"
    assert "iterations 0 and 1" in str(err.value)


def counts_iterations(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    n = 0
    seen = []
    for i in nl.affine_range(2):
        n += 1
        seen.append(i)
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.load(a[i * 128:(i + 1) * 128, :]))
    return out


def test_host_state_updated_in_affine_range_warns_with_line():
    with pytest.warns(NkiWarning, match="warn_host_state_in_loop") as record:
        run_kernel(counts_iterations, (np.ones((256, 8), np.float32),))
    lines = sorted(w.lineno for w in record if "host_state" in str(w.message))
    first = counts_iterations.__code__.co_firstlineno
    assert lines == [first + 5, first + 6]


def test_tracing_leaves_the_garbage_collector_as_it_found_it():
    """Tracing pauses the cyclic collector and hands its objects to the oldest generation; afterwards the
    collector is enabled again, nothing stays frozen, and cycles made during the run are still collected."""
    import gc
    import weakref

    class Node:
        pass

    refs = []

    def kernel(a):
        node = Node()
        node.self = node  # a reference cycle only the cyclic collector can free
        refs.append(weakref.ref(node))
        out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
        nl.store(out, value=nl.load(a))
        return out

    assert gc.isenabled()
    run_kernel(kernel, (np.ones((4, 8), np.float32),))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.collect()
    assert refs[0]() is None
    gc.disable()
    try:
        run_kernel(kernel, (np.ones((4, 8), np.float32),))
        assert not gc.isenabled()  # a caller's choice to keep it off is kept
    finally:
        gc.enable()
    gc.freeze()  # a process that froze its objects (before forking workers, say) keeps them frozen
    try:
        frozen = gc.get_freeze_count()
        run_kernel(kernel, (np.ones((4, 8), np.float32),))
        # Still frozen (an unfreeze would empty it; objects freed meanwhile leave it, hence not ==)
        assert gc.get_freeze_count() > frozen // 2
    finally:
        gc.unfreeze()
