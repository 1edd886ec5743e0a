"""The rule-based rewrite: each rule on a small kernel of ours, what it leaves as findings, and bad input.

Rewritten kernels are also run in-process (they are our own code) under both dialects and must agree
bit for bit; the sandboxed proof is tested in test_migrate_suite.py and test_migrate_cli.py.
"""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pytest

from autocomp.migrate import MigrationError, migrate_source
from autocomp.nki import run_kernel
from autocomp.nki.loader import load_kernel

HEADER = """\
import neuronxcc.nki as nki
import neuronxcc.nki.isa as nisa
import neuronxcc.nki.language as nl
"""


def kernel(body: str) -> str:
    return HEADER + "\n\n" + textwrap.dedent(body).lstrip("\n")


def outputs(path, function, args, dialect):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn = load_kernel(path, function, "trn1")
        out = run_kernel(fn, list(args), target="trn1", dialect=dialect).outputs
    return [np.asarray(o) for o in (out if isinstance(out, (tuple, list)) else [out])]


def assert_same_outputs(tmp_path, source: str, migrated: str, function: str, args) -> None:
    (tmp_path / "v1.py").write_text(source)
    (tmp_path / "v2.py").write_text(migrated)
    want = outputs(tmp_path / "v1.py", function, args, "v1")
    got = outputs(tmp_path / "v2.py", function, args, "v2")
    assert len(want) == len(got)
    for a, b in zip(want, got):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def rng_array(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


EXP_SCALE = kernel('''
@nki.jit(mode="simulation")
def exp_scale(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(x.shape[0] // 128):  # one tile of rows
        t = nl.load(x[i * 128:(i + 1) * 128, :])
        e = nisa.activation(op=nl.exp, data=t, scale=0.5)
        s = nl.multiply(nisa.tensor_scalar(e, nl.add, 1.0), 2.0)
        nl.store(out[i * 128:(i + 1) * 128, :], value=s)
    return out
''')


def test_imports_loops_jit_and_isa_dst(tmp_path):
    m = migrate_source(EXP_SCALE, "exp_scale")
    assert m.findings == []
    assert "import nki\nimport nki.isa as nisa\nimport nki.language as nl\n" in m.migrated
    assert "@nki.jit\n" in m.migrated
    assert "for i in range(x.shape[0] // 128):  # one tile of rows" in m.migrated  # comment kept
    assert "e = nl.ndarray(t.shape, dtype=t.dtype, buffer=nl.sbuf)\n" \
           "        nisa.activation(dst=e, op=nl.exp, data=t, scale=0.5)" in m.migrated
    # nested in an expression: hoisted before the statement, in a fresh name
    assert "tensor_scalar_res = nl.ndarray(e.shape, dtype=e.dtype, buffer=nl.sbuf)" in m.migrated
    assert "nisa.tensor_scalar(dst=tensor_scalar_res, data=e, op0=nl.add, operand0=1.0)" in m.migrated
    assert "s = nl.multiply(tensor_scalar_res, 2.0)" in m.migrated
    assert m.rule_counts() == {"imports": 3, "jit-arguments": 1, "loops": 1, "isa-dst": 2}
    assert_same_outputs(tmp_path, EXP_SCALE, m.migrated, "exp_scale", [rng_array((256, 64))])


MATMUL_BLOCKS = kernel('''
@nki.jit
def mm(lhsT, rhs):
    K, M = lhsT.shape
    _, N = rhs.shape
    out = nl.ndarray((M, N), dtype=nl.float32, buffer=nl.shared_hbm)
    a = nl.ndarray((K // 128, nl.par_dim(128), M), dtype=lhsT.dtype, buffer=nl.sbuf)
    for k in nl.affine_range(K // 128):
        a[k] = nl.load(lhsT[k * 128:(k + 1) * 128, :])
    acc = nl.zeros((M, N), nl.float32, buffer=nl.psum)
    for k in nl.affine_range(K // 128):
        b = nl.load(rhs[k * 128:(k + 1) * 128, :])
        acc += nisa.nc_matmul(a[k, :, :], b)
    nl.store(out, value=nl.copy(acc))
    return out
''')


def test_block_dimension_and_matmul_accumulation(tmp_path):
    m = migrate_source(MATMUL_BLOCKS, "mm")
    assert m.findings == []
    assert "a = nl.ndarray((128, K // 128, M), dtype=lhsT.dtype" in m.migrated
    assert "a[:, k] = nl.load(" in m.migrated
    assert "acc = nl.ndarray((M, N), nl.float32, buffer=nl.psum)" in m.migrated
    assert "nisa.nc_matmul(dst=acc, stationary=a[:, k, :], moving=b)" in m.migrated
    assert m.rule_counts()["block-dimension"] == 1 and m.rule_counts()["matmul-accumulate"] == 2
    args = [rng_array((256, 128), seed=1), rng_array((256, 512), seed=2)]
    assert_same_outputs(tmp_path, MATMUL_BLOCKS, m.migrated, "mm", args)


CAUSAL_MASK = kernel('''
@nki.jit
def causal(x):
    P, F = x.shape
    out = nl.ndarray((P, F), dtype=x.dtype, buffer=nl.shared_hbm)
    i_p = nl.arange(P)[:, None]
    i_f = nl.arange(F)[None, :]
    t = nl.load(x)
    for c in nl.static_range(2):
        m = nisa.affine_select(pred=(c * 3 + 2 * i_p - i_f >= 0), on_true_tile=t, on_false_value=-9.0)
        nl.store(out, value=m)
    return out
''')


def test_affine_select_over_aranges_becomes_a_pattern(tmp_path):
    m = migrate_source(CAUSAL_MASK, "causal")
    assert m.findings == []
    assert "nl.arange" not in m.migrated  # the index names went with their only use
    assert "pattern=[[-1, F]], channel_multiplier=2, cmp_op=nl.greater_equal, offset=c * 3" in m.migrated
    assert_same_outputs(tmp_path, CAUSAL_MASK, m.migrated, "causal", [rng_array((128, 256))])


MASKED = kernel('''
@nki.jit
def masked(x):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    i_p, i_f = nl.mgrid[0:128, 0:512]
    t = nl.load(x[i_p, i_f], mask=(i_f < 500))
    r = nisa.tensor_reduce(nl.add, t, axis=[1], mask=(i_p < 64))
    nl.store(out[i_p, i_f], value=t)
    return out
''')


def test_what_the_rules_cannot_do_is_reported_with_line_and_replacement():
    m = migrate_source(MASKED, "masked")
    constructs = {(f.line, f.construct) for f in m.findings}
    assert (9, "nl.mgrid") in constructs
    assert (10, "nl.load(mask=...)") in constructs
    assert (11, "nisa.tensor_reduce(mask=...)") in constructs
    assert all(f.why and f.suggestion for f in m.findings)
    # The unmigrated call is left as it was written, for the LLM or the user to finish.
    assert "nisa.tensor_reduce(nl.add, t, axis=[1], mask=(i_p < 64))" in m.migrated


def test_an_operand_named_like_the_result_is_not_shadowed():
    src = kernel('''
    @nki.jit
    def k(x):
        out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
        t = nl.load(x)
        t = nisa.activation(op=nl.exp, data=t)
        nl.store(out, value=t)
        return out
    ''')
    m = migrate_source(src, "k")
    assert "activation_res = nl.ndarray(t.shape" in m.migrated
    assert "nisa.activation(dst=activation_res, op=nl.exp, data=t)" in m.migrated
    assert "t = activation_res" in m.migrated


def test_grid_launch_is_a_finding_and_unreached_functions_are_not():
    src = kernel('''
    @nki.jit
    def k(x):
        return x

    def unrelated(x):
        return nl.mgrid[0:128, 0:128]

    if __name__ == "__main__":
        k[2, 2](None)
    ''')
    m = migrate_source(src, "k")
    # A function the kernel never calls is rewritten but what is left in it is not this kernel's problem.
    assert [f.construct for f in m.findings] == ["k[...] (SPMD grid launch)"]


@pytest.mark.parametrize("source, function, message", [
    ("def k(:\n", "k", "not valid Python"),
    (HEADER + "\ndef other(x):\n    return x\n", "k", "no top-level function 'k' (it defines other)"),
    ("import nki\n\ndef k(x):\n    return x\n", "k", "does not import neuronxcc.nki"),
])
def test_bad_input_is_one_clear_error(source, function, message):
    with pytest.raises(MigrationError, match="^legacy.py") as e:
        migrate_source(source, function, "legacy.py")
    assert message in str(e.value)


INDEXED = kernel('''
@nki.jit
def indexed(x, col):
    K, M = x.shape
    out = nl.ndarray((128, M), dtype=x.dtype, buffer=nl.shared_hbm)
    ix = nl.mgrid[0:128, 0:M]
    i_p = nl.arange(128)[:, None]
    i_f = nl.arange(M)[None, :]
    tiles = nl.ndarray((K // 128, nl.par_dim(128), M), dtype=x.dtype, buffer=nl.sbuf)
    for k in nl.affine_range(K // 128):
        tiles[k, ix.p, ix.x] = nl.load(x[k * 128 + ix.p, ix.x])
    acc = nl.load(x[i_p, i_f])
    for k in nl.affine_range(K // 128):
        c = nl.load(col[k * 128:(k + 1) * 128, k])  # an [128, 1] tile in v1
        acc[...] = nl.add(acc, nl.multiply(tiles[k, i_p, i_f], c))
    nl.store(out[i_p, i_f], value=acc)
    return out
''')


def test_index_expressions_become_slices_and_integer_indices_keep_their_unit_dimension(tmp_path):
    m = migrate_source(INDEXED, "indexed")
    assert m.findings == []
    assert "nl.mgrid" not in m.migrated and "nl.arange" not in m.migrated
    assert "tiles[0:128, k, 0:M] = nl.load(x[k * 128:k * 128 + 128, 0:M])" in m.migrated
    assert "col[k * 128:(k + 1) * 128, k:k + 1]" in m.migrated
    assert "nl.store(out[0:128, 0:M], value=acc)" in m.migrated
    counts = m.rule_counts()
    assert counts["index-slices"] >= 5 and counts["unit-dimension"] == 1 and counts["block-dimension"] == 1
    args = [rng_array((256, 64), seed=3), rng_array((256, 4), seed=4)]
    assert_same_outputs(tmp_path, INDEXED, m.migrated, "indexed", args)


def test_an_index_that_is_not_a_box_is_left_and_reported():
    src = kernel('''
    @nki.jit
    def k(x):
        out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
        i_p, i_a, i_b = nl.mgrid[0:128, 0:4, 0:8]
        t = nl.load(x[i_p, i_a * 8 + i_b])
        nl.store(out[i_p, i_b * 4 + i_a], value=t)
        return out
    ''')
    m = migrate_source(src, "k")
    assert {f.construct for f in m.findings} == {"nl.arange / nl.mgrid index", "nl.mgrid"}
    assert "nl.mgrid[0:128, 0:4, 0:8]" in m.migrated
