"""Which constants are inferred as knobs, and [knobs] constraints (autocomp.knob_rules)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from autocomp.knob_rules import ConstraintError, parse_constraint
from autocomp.knobs import KnobHistory, knob_space, neighbours, random_configs
from autocomp.search.knob_tuner import NOTHING_TO_TUNE, KnobTuner

PROBLEMS = Path(__file__).parent.parent.parent / "problems"

KERNEL = '''\
import neuronxcc.nki.language as nl

P = 128
HEAD_DIM = 128
TILE_F = 512
BLOCK_D = 64
CHUNK_OUT = 256
UNROLL = 2


def k(x, cos):
    T, HD = x.shape
    half = BLOCK_D // 2
    assert T % P == 0 and HD % TILE_F == 0 and cos.shape == (T, half)
    out = nl.ndarray((T, CHUNK_OUT), dtype=x.dtype, buffer=nl.shared_hbm)
    for t in nl.affine_range(T // TILE_F):
        tile = nl.ndarray((P, TILE_F), dtype=x.dtype, buffer=nl.sbuf)
    return out
'''


def test_only_tile_sizes_untied_to_shapes_are_inferred():
    space = knob_space(KERNEL, {})
    # P and HEAD_DIM: not tile-size names; BLOCK_D: a local derived from it is compared with a shape;
    # CHUNK_OUT: the shape of an HBM output; TILE_F: divisibility, loop trip count and SBUF tile only.
    assert space.names == ["TILE_F", "UNROLL"]


@pytest.mark.parametrize("problem", ["rope_bf16", "transpose3d_bf16"])
def test_shape_only_bundled_kernels_have_nothing_to_tune(problem):
    """These kernels' constants are shapes or the partition count: every change of them fails."""
    assert not knob_space((PROBLEMS / problem / "kernel.py").read_text(), {})


def test_declared_knobs_are_never_filtered():
    space = knob_space(KERNEL, {"HEAD_DIM": [64, 128], "P": [128]})
    assert space.names == ["HEAD_DIM", "P"]


def test_constraints_prune_every_proposal():
    source = "TILE_N = 256\nBLOCK_N = 4\nTILE_M = 128\n"
    constraints = [parse_constraint("TILE_N * BLOCK_N <= 2048", {"TILE_N", "BLOCK_N", "TILE_M"}),
                   parse_constraint("TILE_M % 128 == 0 and not TILE_N < 128")]
    declared = {"TILE_N": [64, 128, 256, 512, 1024], "BLOCK_N": [1, 2, 4, 8], "TILE_M": [64, 128, 256]}
    space = knob_space(source, declared, constraints)
    configs = list(space.configurations())
    assert configs and all(c["TILE_N"] * c["BLOCK_N"] <= 2048 and c["TILE_M"] % 128 == 0 and c["TILE_N"] >= 128
                           for c in configs)
    assert len(configs) < space.size
    history = KnobHistory()
    near = [c for c, _ in neighbours(space, space.current, history)]
    assert {"TILE_N": 512, "BLOCK_N": 4, "TILE_M": 128} in near
    assert {"TILE_N": 256, "BLOCK_N": 8, "TILE_M": 128} in near
    assert {"TILE_N": 256, "BLOCK_N": 4, "TILE_M": 64} not in near  # TILE_M % 128
    drawn = random_configs(space, history, random.Random(0), 50)
    assert drawn and all(space.admits(c) for c in drawn)


@pytest.mark.parametrize("text, why", [
    ("__import__('os').system('x')", "not allowed"),
    ("TILE_N.bit_length() > 2", "not allowed"),
    ("TILE_N if BLOCK_N else 3", "not allowed"),
    ("[TILE_N] == [1]", "not allowed"),
    ("TILE_N <= 'a'", "only numbers"),
    ("TILE_N & 1", "operator BitAnd"),
    ("TILE_N <=", "syntax error"),
    ("TILE_Q < 4", "TILE_Q is not a knob"),
])
def test_constraints_outside_the_subset_are_refused(text, why):
    with pytest.raises(ConstraintError, match=why):
        parse_constraint(text, {"TILE_N", "BLOCK_N"})


def test_a_constraint_that_cannot_be_evaluated_rejects_the_configuration():
    c = parse_constraint("2048 // BLOCK_N >= 1")
    assert c.holds({"BLOCK_N": 4}) and not c.holds({"BLOCK_N": 0})
    assert c.holds({"OTHER": 1})  # a kernel without the knob: the constraint does not apply


def test_the_tuner_says_when_there_is_nothing_to_tune():
    class Beam:
        source = (PROBLEMS / "rope_bf16" / "kernel.py").read_text()
        source_hash = "rope"

    tuner = KnobTuner({})
    assert tuner.propose(1, [Beam()], session=None) == []  # an empty space never reads the session
    tuner.decide = lambda iteration, beam, session: tuner.propose(iteration, beam, session)
    tuner.expand(1, [Beam()], None)
    assert tuner.exhausted == NOTHING_TO_TUNE and "declare knobs in problem.toml" in NOTHING_TO_TUNE
