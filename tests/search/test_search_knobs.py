"""Knob spaces and source rewriting (autocomp.knobs)."""

from __future__ import annotations

import pytest

from autocomp.knobs import (
    KnobError,
    KnobHistory,
    crossovers,
    knob_space,
    neighbours,
    read_constants,
    rewrite_constants,
)

SOURCE = '''\
"""Doc."""
import numpy as np

TILE_N = 512  # moving free size (one PSUM bank)
BLOCK_M = 1   # keep me aligned
SCALE = 0.5
NAME = "x"   # a string
P = 128

def kernel(x):
    TILE_N_LOCAL = 3
    return x * SCALE + TILE_N
'''


def test_rewrite_changes_only_the_literals():
    out = rewrite_constants(SOURCE, {"TILE_N": 256, "BLOCK_M": 4, "SCALE": 0.25})
    assert out.splitlines()[3] == "TILE_N = 256  # moving free size (one PSUM bank)"
    assert out.splitlines()[4] == "BLOCK_M = 4   # keep me aligned"
    assert out.splitlines()[5] == "SCALE = 0.25"
    # Every other line is byte-for-byte the same.
    for i, (a, b) in enumerate(zip(SOURCE.splitlines(), out.splitlines())):
        if i not in (3, 4, 5):
            assert a == b
    assert read_constants(out)["TILE_N"] == 256


def test_rewrite_handles_strings_and_unicode_before_the_value():
    src = 'LABEL_É = "é"  # ü\nNAME = "a"\n'
    assert rewrite_constants(src, {"NAME": "b c"}) == 'LABEL_É = "é"  # ü\nNAME = \'b c\'\n'


def test_rewrite_refuses_unknown_names_and_expressions():
    with pytest.raises(KnobError, match="not a module-level"):
        rewrite_constants(SOURCE, {"TILE_N_LOCAL": 4})
    with pytest.raises(KnobError, match="expression"):
        rewrite_constants("A = 2 * 64\n", {"A": 4})
    with pytest.raises(KnobError, match="does not parse"):
        rewrite_constants("A = (\n", {"A": 4})


def test_declared_knobs_win_and_current_value_is_always_in_the_space():
    space = knob_space(SOURCE, {"TILE_N": [128, 256], "BLOCK_M": [1, 2, 4], "MISSING": [1, 2]})
    assert space.names == ["TILE_N", "BLOCK_M"]
    assert space.knob("TILE_N").values == (128, 256, 512)
    assert space.current == {"TILE_N": 512, "BLOCK_M": 1}
    assert space.size == 9


def test_without_declared_knobs_tile_size_ints_are_inferred_near_their_value():
    space = knob_space(SOURCE, {})
    assert space.names == ["TILE_N", "BLOCK_M"]  # not floats, strings, locals or P (not a tile-size name)
    tile = space.knob("TILE_N").values
    assert 512 in tile and all(128 <= v <= 2048 for v in tile)
    assert tile == tuple(sorted(tile)) and 256 in tile and 1024 in tile
    assert space.knob("BLOCK_M").values == (1, 2, 4)


def test_declared_knobs_gone_from_an_llm_kernel_fall_back_to_inference():
    space = knob_space("TILE_X = 64\n", {"TILE_N": [128, 256]})
    assert space.names == ["TILE_X"] and not space.knob("TILE_X").declared


def test_neighbours_take_momentum_first_and_skip_seen_configs():
    space = knob_space(SOURCE, {"TILE_N": [128, 256, 512], "BLOCK_M": [1, 2, 4]})
    history = KnobHistory()
    history.record({"TILE_N": 256, "BLOCK_M": 1}, 10.0)
    got = neighbours(space, {"TILE_N": 512, "BLOCK_M": 1}, history, came_by={"BLOCK_M": 1})
    assert got[0] == ({"TILE_N": 512, "BLOCK_M": 2}, ["BLOCK_M"])
    assert {"TILE_N": 256, "BLOCK_M": 1} not in [c for c, _ in got]


def test_inferred_knobs_that_always_break_are_frozen():
    space = knob_space("BLOCK_P = 128\nTILE = 64\n", {})
    history = KnobHistory()
    history.record({"BLOCK_P": 256, "TILE": 64}, None, moved=["BLOCK_P"])
    history.record({"BLOCK_P": 64, "TILE": 64}, None, moved=["BLOCK_P"])
    moved = {m[0] for _, m in neighbours(space, space.current, history)}
    assert moved == {"TILE"}


def test_crossovers_mix_two_improvements():
    space = knob_space(SOURCE, {"TILE_N": [128, 256, 512], "BLOCK_M": [1, 2, 4]})
    a, b = {"TILE_N": 256, "BLOCK_M": 1}, {"TILE_N": 512, "BLOCK_M": 2}
    mixes = [c for c, _ in crossovers(space, [a, b], KnobHistory())]
    assert {"TILE_N": 256, "BLOCK_M": 2} in mixes and {"TILE_N": 512, "BLOCK_M": 1} in mixes
