"""The indexing fast paths (plain 2-D slices, t[...], leading block ints) give exactly what the general
index resolution gives, and leave everything else (negative or out-of-range ints, numpy ints, a single
remaining dimension) to it, with its errors."""

import numpy as np
import pytest

from autocomp.nki import dtypes as dt
from autocomp.nki.errors import NkiError
from autocomp.nki.runtime import KernelContext, activate
from autocomp.nki.tile import Allocation, Tile, index_allocation
from autocomp.nki.trace import HBM, SBUF, Trace


@pytest.fixture
def ctx():
    context = KernelContext(numerics=False)
    context.trace = Trace()
    previous = activate(context)
    yield context
    activate(previous)


def _same(fast: Tile, general: Tile) -> None:
    assert fast.shape == general.shape
    assert tuple(fast.spec) == tuple(general.spec)
    a, b = fast.access(), general.access()
    assert (a.tensor, a.buffer, a.dtype, a.itemsize, a.partition_start, a.partitions, a.partition_stride, a.offset,
            a.pattern) == (b.tensor, b.buffer, b.dtype, b.itemsize, b.partition_start, b.partitions,
                           b.partition_stride, b.offset, b.pattern)


@pytest.mark.parametrize("key", [(1, 3), (0,), (2, 0), (1, 7)])
def test_leading_block_ints_match_the_general_path(ctx, key):
    blocks = Tile(Allocation(ctx, "blocks", SBUF, (3, 8, 128, 64), dt.bfloat16, 2), None)
    _same(blocks[key], index_allocation(blocks.alloc, key))


@pytest.mark.parametrize("key", [(slice(0, 128), slice(64, 576)), (slice(None), slice(None)),
                                 (slice(128, 256), slice(0, 1))])
def test_plain_slices_match_the_general_path(ctx, key):
    hbm = Tile(Allocation(ctx, "x", HBM, (512, 1024), dt.bfloat16, -1, kind="input"), None)
    _same(hbm[key], index_allocation(hbm.alloc, key))


def test_ellipsis_matches_the_general_path(ctx):
    tile = Tile(Allocation(ctx, "t", SBUF, (128, 512), dt.float32, 0), None)
    _same(tile[...], index_allocation(tile.alloc, (Ellipsis,)))


def test_other_indices_take_the_general_path(ctx):
    blocks = Tile(Allocation(ctx, "blocks", SBUF, (3, 8, 128, 64), dt.bfloat16, 2), None)
    _same(blocks[-1, 2], index_allocation(blocks.alloc, (2, 2)))  # negative ints count from the end
    _same(blocks[np.int64(1), 2], index_allocation(blocks.alloc, (1, 2)))
    assert blocks[1, 2, 5].shape == (1, 64)  # one dimension left: the legacy [1, m] tile
    with pytest.raises(NkiError, match="out of bounds"):
        blocks[3, 0]
