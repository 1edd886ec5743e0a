"""The static gate admits NKI 0.7 tile grids (``grid.data`` is NKI API) and still refuses the simulator's
storage behind a tensor (docs/evaluation.md#the-static-gate)."""

from __future__ import annotations

from autocomp.evaluate.gate import check_source

V2 = "import nki\nimport nki.isa as nisa\nimport nki.language as nl\n\n"

GRID_KERNEL = V2 + '''
@nki.jit
def k(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    src = nl.blocks(x, tile_shape=(128, 128), block_shape=(1, 4))
    dst = nl.blocks(out, tile_shape=(128, 128), block_shape=(1, 4))
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            block = nl.alloc_blocks(tile_shape=(128, 128), block_shape=(1, 4),
                                    element_shape=src[i, j].element_shape, buffer=nl.sbuf, dtype=x.dtype)
            nisa.dma_copy(dst=block.data, src=src[i, j].data)
            nisa.dma_copy(dst=dst[i, j].data, src=block.data)
    return out
'''


def test_a_tile_grid_kernel_passes_the_gate():
    result = check_source(GRID_KERNEL, "k", None, ())
    assert result.ok, result.reason()


def test_the_storage_behind_a_tensor_stays_out_of_reach():
    body = GRID_KERNEL.replace("    return out\n", "    out.alloc.data[...] = 0\n    return out\n")
    result = check_source(body, "k", None, ())
    assert not result.ok and "reaches the simulator" in result.reason()
