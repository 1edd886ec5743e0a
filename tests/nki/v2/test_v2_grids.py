"""NKI 0.7 tile and block grids: nl.tiles / nl.blocks views, nl.alloc_tiles / alloc_blocks storage.

docs/nki-semantics.md#tile-and-block-grids lists the rules: numbers moved through grids, the geometry
of edge tiles, the DMAs a block saves, the selections an on-chip allocation cannot expose as one
tensor, misuse errors, and the refusal under an NKI 0.6 pin.
"""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from autocomp.nki.v2.versioning import pinned
from autocomp.perf.profile import profile

X = np.arange(300 * 700, dtype=np.float32).reshape(300, 700)


def _dmas(kernel):
    return [ins for ins in kernel.last_result.trace.instructions if ins.opcode == "DMA"]


@nki.jit
def copy_by_tiles(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    src, dst = nl.tiles(x, tile_shape=(128, 256)), nl.tiles(out, tile_shape=(128, 256))
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            tile = nl.ndarray(src[i, j].element_shape, dtype=x.dtype, buffer=nl.sbuf)
            nisa.dma_copy(dst=tile, src=src[i, j].data)
            nisa.dma_copy(dst=dst[i, j].data, src=tile)
    return out


def test_tile_grid_covers_the_tensor_with_clamped_edge_tiles():
    assert np.array_equal(copy_by_tiles(X), X)
    assert len(_dmas(copy_by_tiles)) == 2 * 3 * 3  # a 3 x 3 grid: 300 = 128 + 128 + 44, 700 = 256 + 256 + 188


@nki.jit
def copy_by_blocks(x, block_cols):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    src = nl.blocks(x, tile_shape=(128, 128), block_shape=(1, block_cols))
    dst = nl.blocks(out, tile_shape=(128, 128), block_shape=(1, block_cols))
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            block = nl.alloc_blocks(tile_shape=(128, 128), block_shape=(1, block_cols),
                                    element_shape=src[i, j].element_shape, buffer=nl.sbuf, dtype=x.dtype)
            nisa.dma_copy(dst=block.data, src=src[i, j].data)
            # compute per tile: the interior tile coordinates of the block
            inner = nl.tiles(block)
            for t in range(inner.shape[1]):
                nisa.activation(dst=inner[0, t].data, op=nl.copy, data=inner[0, t].data, scale=2.0)
            nisa.dma_copy(dst=dst[i, j].data, src=block.data)
    return out


def test_a_block_moves_in_one_dma_and_its_tiles_are_the_compute_operands():
    x = np.arange(256 * 512, dtype=np.float32).reshape(256, 512) / 7
    np.testing.assert_allclose(copy_by_blocks(x, 4), 2 * x, rtol=1e-6)
    four, four_ns = _dmas(copy_by_blocks), profile(copy_by_blocks.last_result.trace, "trn2").latency_ns
    np.testing.assert_allclose(copy_by_blocks(x, 1), 2 * x, rtol=1e-6)
    one, one_ns = _dmas(copy_by_blocks), profile(copy_by_blocks.last_result.trace, "trn2").latency_ns
    assert four_ns < one_ns  # the cost model prices fewer, larger transfers as cheaper
    assert (len(four), len(one)) == (2 * 2, 2 * 8)  # blocks of 4 tiles: 4x fewer, 4x larger transfers
    assert sum(ins.partitions * ins.elems for ins in four) == sum(ins.partitions * ins.elems for ins in one)


@nki.jit
def aggregate_of_alloc_tiles(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    grid = nl.alloc_tiles(tile_shape=(128, 128), element_shape=x.shape, buffer=nl.sbuf, dtype=x.dtype)
    src = nl.tiles(x, tile_shape=(128, 128))
    for j in range(grid.shape[1]):
        nisa.dma_copy(dst=grid[0, j].data, src=src[0, j].data)  # tile by tile in
    nisa.dma_copy(dst=out, src=grid.data)  # the whole row of tiles out as one tensor
    return out


def test_alloc_tiles_aggregate_and_tile_views_share_one_layout():
    x = np.arange(128 * 400, dtype=np.float32).reshape(128, 400)
    assert np.array_equal(aggregate_of_alloc_tiles(x), x)
    assert len(_dmas(aggregate_of_alloc_tiles)) == 4 + 1


@nki.jit
def probe(x, case):
    out = nl.ndarray((1, 1), dtype=x.dtype, buffer=nl.shared_hbm)
    facts = {}
    if case == "geometry":
        g = nl.tiles(x, tile_shape=(128, 256))
        edge = g[2, 1:]
        facts = {"shape": g.shape, "edge": (edge.shape, edge.element_shape, edge.index_step_elements),
                 "remainder": (g[0, 0].is_remainder, g[2, 0].is_remainder, g[0, 2].is_remainder),
                 "one": (g[1, 1].shape, g[1, 1].element_shape, g[-1, -1].element_shape),
                 "dtype": g.dtype == nl.float32, "buffer": g.buffer == nl.hbm}
    elif case == "blocks":
        b = nl.blocks(x, tile_shape=(128, 256), block_shape=(2, 2))
        facts = {"shape": b.shape, "block": b[1, 0].element_shape, "tiles": nl.tiles(b[0, 0]).shape,
                 "edge_tiles": nl.tiles(b[1, 1]).shape, "steps": b.index_step_elements,
                 "block_shape": b.block_shape}
    elif case == "sbuf_alloc":
        g = nl.alloc_tiles(tile_shape=(128, 128), element_shape=(256, 384), buffer=nl.sbuf, dtype=nl.float32)
        facts = {"row": (g[1, :].is_data_representable, g[1, :].data.shape),
                 "column": g[:, 0].is_data_representable, "whole": g.is_data_representable,
                 "part_row": g[0, 1:].data.shape}
    elif case == "batch":
        g = nl.tiles(x, tile_shape=(128, 128))
        facts = {"shape": g.shape, "slab": g[1].shape, "tile": g[1, 1, 0].element_shape}
    probe.facts = facts
    t = nl.ndarray((1, 1), dtype=x.dtype, buffer=nl.sbuf)
    nisa.memset(dst=t, value=0.0)
    nisa.dma_copy(dst=out, src=t)
    return out


def test_grid_geometry_counts_tiles_and_clamps_the_edges():
    probe(X, "geometry")
    f = probe.facts
    assert f["shape"] == (3, 3)
    assert f["edge"] == ((2,), (44, 444), (256,))  # tiles (2, 1) and (2, 2): 44 rows, 256 + 188 columns
    assert f["remainder"] == (False, True, True)
    assert f["one"] == ((), (128, 256), (44, 188))
    assert f["dtype"] and f["buffer"]


def test_block_grid_counts_blocks_and_tiles_recovers_the_tiles_of_a_block():
    probe(np.zeros((512, 1024), np.float32), "blocks")
    f = probe.facts
    assert f["shape"] == (2, 2) and f["block"] == (256, 512) and f["block_shape"] == (2, 2)
    assert f["tiles"] == (2, 2) and f["edge_tiles"] == (2, 2) and f["steps"] == (256, 512)


def test_sbuf_tile_allocation_exposes_rows_of_tiles_but_not_columns():
    probe(X, "sbuf_alloc")
    f = probe.facts
    assert f["row"] == (True, (128, 384)) and f["part_row"] == (128, 256)
    assert f["column"] is False and f["whole"] is False


def test_leading_dimensions_are_untiled_and_indexed_one_slab_at_a_time():
    x = np.arange(2 * 256 * 128, dtype=np.float32).reshape(2, 256, 128)
    probe(x, "batch")
    assert probe.facts == {"shape": (2, 2, 1), "slab": (2, 1), "tile": (128, 128)}


@nki.jit
def column_data(x):
    out = nl.ndarray((1, 1), dtype=x.dtype, buffer=nl.shared_hbm)
    g = nl.alloc_tiles(tile_shape=(128, 128), element_shape=(256, 128), buffer=nl.sbuf, dtype=x.dtype)
    nisa.dma_copy(dst=out, src=g[:, 0].data[0:1, 0:1])
    return out


@nki.jit
def misuse(x, case):
    out = nl.ndarray((1, 1), dtype=x.dtype, buffer=nl.shared_hbm)
    if case == "list_tile_shape":
        nl.tiles(x, tile_shape=[128, 128])
    elif case == "rank_one":
        nl.tiles(x, tile_shape=(128,))
    elif case == "zero":
        nl.alloc_tiles(tile_shape=(128, 0), element_shape=(128, 128), buffer=nl.sbuf, dtype=nl.float32)
    elif case == "too_many_dims":
        nl.tiles(x, tile_shape=(1, 128, 128))
    elif case == "block_rank":
        nl.blocks(x, tile_shape=(128, 128), block_shape=(2,))
    elif case == "out_of_range":
        nl.tiles(x, tile_shape=(128, 128))[3, 0]
    elif case == "scalar_index":
        idx = nl.ndarray((1, 1), dtype=nl.int32, buffer=nl.sbuf)
        nisa.memset(dst=idx, value=0)
        nl.tiles(x, tile_shape=(128, 128))[nisa.scalar_load(idx), 0]
    elif case == "string_buffer":
        nl.alloc_tiles(tile_shape=(128, 128), element_shape=(128, 128), buffer="sbuf", dtype=nl.float32)
    elif case == "grid_as_src":
        nisa.tensor_copy(dst=nl.ndarray((128, 128), dtype=x.dtype, buffer=nl.sbuf),
                         src=nl.alloc_tiles(tile_shape=(128, 128), element_shape=(128, 128), buffer=nl.sbuf,
                                            dtype=x.dtype))
    elif case == "grid_as_dst":
        nisa.dma_copy(dst=nl.tiles(x, tile_shape=(128, 128))[0, 0], src=x[0:128, 0:128])
    elif case == "psum_partitions":
        nl.alloc_tiles(tile_shape=(256, 128), element_shape=(256, 128), buffer=nl.psum, dtype=nl.float32)
    t = nl.ndarray((1, 1), dtype=x.dtype, buffer=nl.sbuf)
    nisa.memset(dst=t, value=0.0)
    nisa.dma_copy(dst=out, src=t)
    return out


@pytest.mark.parametrize("case, exc, code", [
    ("list_tile_shape", TypeError, "err_invalid_argument"),
    ("rank_one", ValueError, "err_invalid_tile_grid"),
    ("zero", ValueError, "err_invalid_tile_grid"),
    ("too_many_dims", ValueError, "err_invalid_tile_grid"),
    ("block_rank", ValueError, "err_invalid_tile_grid"),
    ("out_of_range", IndexError, "err_tensor_access_out_of_bound"),
    ("scalar_index", TypeError, "err_invalid_argument"),
    ("string_buffer", TypeError, "err_string_buffer_name"),
    ("psum_partitions", NkiError, "err_num_partition_exceed_arch_limit"),
    ("grid_as_src", TypeError, "err_invalid_argument"),
    ("grid_as_dst", TypeError, "err_invalid_argument"),
])
def test_grid_misuse_is_refused(case, exc, code):
    x = np.zeros((256, 256), np.float32)
    with pytest.raises(exc) as err:
        misuse(x, case)
    assert err.value.code == code
    if case.startswith("grid_as"):
        assert ".data" in str(err.value)  # an instruction operand is the grid's selection as a tensor


def test_data_of_a_column_of_on_chip_tiles_is_refused():
    with pytest.raises(ValueError) as err:
        column_data(np.zeros((1, 1), np.float32))
    assert err.value.code == "err_invalid_tile_grid" and "partition" in str(err.value)


@pytest.mark.parametrize("api", ["tiles", "alloc_tiles"])
def test_grids_are_refused_under_an_nki_06_pin(api):
    @nki.jit
    def kernel(x):
        out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
        if api == "tiles":
            nl.tiles(x, tile_shape=(128, 128))
        else:
            nl.alloc_tiles(tile_shape=(128, 128), element_shape=(128, 128), buffer=nl.sbuf, dtype=x.dtype)
        nisa.dma_copy(dst=out, src=x)
        return out

    x = np.zeros((128, 128), np.float32)
    with pinned("0.6"), pytest.raises(NkiError) as err:
        kernel(x)
    assert err.value.code == "err_api_newer_than_version" and f"nl.{api}" in str(err.value)
    assert np.array_equal(kernel(x), x)  # the modelled 0.7 accepts it
