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
    # i_a twice (a diagonal) is neither a box nor an access pattern (each index names one axis of the result)
    src = kernel('''
    @nki.jit
    def k(x):
        out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
        i_p, i_a, i_b = nl.mgrid[0:128, 0:4, 0:8]
        t = nl.load(x[i_p, i_a * 8 + i_a])
        nl.store(out[i_p, i_b * 4 + i_a], value=t)
        return out
    ''')
    m = migrate_source(src, "k")
    assert {f.construct for f in m.findings} == {"nl.arange / nl.mgrid index", "nl.mgrid"}
    assert "nl.mgrid[0:128, 0:4, 0:8]" in m.migrated
    assert "out.ap(pattern=[[out.shape[1], 128], [1, 4], [4, 8]], offset=0)" in m.migrated  # HBM patterns too


PARTITION_FIRST = kernel('''
@nki.jit
def row_sums(x):
    P, F = x.shape
    out = nl.ndarray((P, 2), dtype=x.dtype, buffer=nl.shared_hbm)
    sums = nl.ndarray((nl.par_dim(P), 2), dtype=nl.float32, buffer=nl.sbuf)
    for h in nl.affine_range(2):
        t = nl.ndarray(shape=(nl.par_dim(P), F // 2), dtype=x.dtype, buffer=nl.sbuf)
        t[...] = nl.load(x[:, h * (F // 2):(h + 1) * (F // 2)])
        sums[:, h] = nl.sum(t, axis=1, dtype=sums.dtype)
    nl.store(out, value=sums)
    return out
''')


def test_a_partition_first_block_dimension_only_loses_par_dim(tmp_path):
    # Used bare (t[...], nl.store(value=sums), sums.dtype): with the partition already first no index moves.
    m = migrate_source(PARTITION_FIRST, "row_sums")
    assert m.findings == []
    assert "sums = nl.ndarray((P, 2), dtype=nl.float32" in m.migrated
    assert "t = nl.ndarray(shape=(P, F // 2), dtype=x.dtype" in m.migrated
    assert "par_dim" not in m.migrated.split("def row_sums")[1]
    assert m.rule_counts()["block-dimension"] == 2
    assert_same_outputs(tmp_path, PARTITION_FIRST, m.migrated, "row_sums", [rng_array((128, 64))])


BLOCKS_WITH_DTYPE = kernel('''
@nki.jit
def copy_blocks(x):
    P, F = x.shape
    out = nl.ndarray((P, F), dtype=x.dtype, buffer=nl.shared_hbm)
    b = nl.ndarray((2, nl.par_dim(P), F // 2), dtype=x.dtype, buffer=nl.sbuf)
    for h in nl.affine_range(2):
        b[h] = nl.load(x[:, h * (F // 2):(h + 1) * (F // 2)])
    for h in nl.affine_range(2):
        nl.store(out[:, h * (F // 2):(h + 1) * (F // 2)], value=nl.copy(b[h], dtype=b.dtype))
    return out
''')


def test_a_block_tensor_whose_dtype_is_read_still_moves_its_partition_first(tmp_path):
    m = migrate_source(BLOCKS_WITH_DTYPE, "copy_blocks")
    assert m.findings == []
    assert "b = nl.ndarray((P, 2, F // 2), dtype=x.dtype" in m.migrated
    assert "nl.copy(b[:, h], dtype=b.dtype)" in m.migrated
    assert_same_outputs(tmp_path, BLOCKS_WITH_DTYPE, m.migrated, "copy_blocks", [rng_array((128, 64))])


PSUM_OPERAND = kernel('''
@nki.jit
def transposed_product(a, b):
    out = nl.ndarray((a.shape[0], b.shape[1]), dtype=nl.float32, buffer=nl.shared_hbm)
    at = nl.transpose(nl.load(a))
    r = nl.matmul(at, nl.load(b), transpose_x=True)
    s = nl.matmul(nl.load(a), nl.load(b), transpose_x=True)
    nl.store(out, value=nl.add(nl.copy(r), s))
    return out
''')


def test_a_psum_matmul_operand_is_copied_to_sbuf(tmp_path):
    m = migrate_source(PSUM_OPERAND, "transposed_product")
    assert m.findings == []
    assert "r = nl.matmul(nl.copy(at), nl.load(b), transpose_x=True)" in m.migrated
    assert "s = nl.matmul(nl.load(a), nl.load(b), transpose_x=True)" in m.migrated  # SBUF operands stay
    assert m.rule_counts()["psum-operand"] == 1
    args = [rng_array((128, 128), seed=3), rng_array((128, 256), seed=4)]
    assert_same_outputs(tmp_path, PSUM_OPERAND, m.migrated, "transposed_product", args)


LANGUAGE_MATMUL_GROUP = kernel('''
@nki.jit
def k_loop(lhsT, rhs):
    K, M = lhsT.shape
    out = nl.ndarray((M, rhs.shape[1]), dtype=lhsT.dtype, buffer=nl.shared_hbm)
    acc = nl.zeros((M, rhs.shape[1]), nl.float32, buffer=nl.psum)
    for k in nl.affine_range(K // 128):
        acc[...] += nl.matmul(nl.load(lhsT[k * 128:(k + 1) * 128, :]), nl.load(rhs[k * 128:(k + 1) * 128, :]),
                              transpose_x=True)
    nl.store(out, value=nl.copy(acc, dtype=lhsT.dtype))
    return out
''')


def test_an_nl_matmul_accumulation_group_drops_its_memset_and_rounds_as_in_v1(tmp_path):
    # v1 computes `acc[...] += nl.matmul(...)` as one accumulation group; bf16 inputs over several K tiles
    # expose any difference in how the group is summed.
    m = migrate_source(LANGUAGE_MATMUL_GROUP, "k_loop")
    assert m.findings == []
    assert "acc = nl.ndarray((M, rhs.shape[1]), nl.float32, buffer=nl.psum)" in m.migrated
    import ml_dtypes

    args = [rng_array((512, 128), seed=5).astype(ml_dtypes.bfloat16),
            rng_array((512, 512), seed=6).astype(ml_dtypes.bfloat16)]
    assert_same_outputs(tmp_path, LANGUAGE_MATMUL_GROUP, m.migrated, "k_loop", args)


RAGGED_ROWS = kernel('''
import math


@nki.jit
def scale_rows(x, w):
    R, F = x.shape
    out = nl.ndarray((R, F), dtype=x.dtype, buffer=nl.shared_hbm)
    i_p = nl.arange(128)[:, None]
    i_f = nl.arange(F)[None, :]
    wt = nl.load(w)
    for r in nl.affine_range(math.ceil(R / 128)):
        t = nl.load(x[r * 128 + i_p, i_f], mask=(r * 128 + i_p < R))
        t[...] = nl.multiply(t, wt, mask=(r * 128 + i_p <= R - 1))
        nl.store(out[r * 128 + i_p, i_f], value=t, mask=(r * 128 + i_p < R))
    return out
''')


def test_partition_masks_become_slices_clamped_with_min(tmp_path):
    m = migrate_source(RAGGED_ROWS, "scale_rows")
    assert m.findings == []
    rows = "min(128, R - (r * 128))"
    assert "t = nl.ndarray((128, F), dtype=x.dtype, buffer=nl.sbuf)" in m.migrated
    assert f"t[0:{rows}] = nl.load(x[r * 128:r * 128 + {rows}, 0:F])" in m.migrated
    assert "t[0:min(128, R - 1 + 1 - (r * 128))] = nl.multiply(t[0:min(128, R - 1 + 1 - (r * 128))], " \
           "wt[0:min(128, R - 1 + 1 - (r * 128))])" in m.migrated
    assert f"nl.store(out[r * 128:r * 128 + {rows}, 0:F], value=t[0:{rows}])" in m.migrated
    assert "nl.arange" not in m.migrated and m.rule_counts()["mask-bounds"] == 3
    # 200 rows: the second tile is ragged, so the masks really cut
    args = [rng_array((200, 64), seed=7), rng_array((128, 64), seed=8)]
    assert_same_outputs(tmp_path, RAGGED_ROWS, m.migrated, "scale_rows", args)


def test_a_mask_the_rule_cannot_bound_stays_a_finding():
    src = RAGGED_ROWS.replace("mask=(r * 128 + i_p < R))\n        t[...]", "mask=(i_f < 8))\n        t[...]")
    m = migrate_source(src, "scale_rows")
    assert "nl.load(mask=...)" in [f.construct for f in m.findings]
    assert m.rule_counts()["mask-bounds"] == 2  # the multiply and the store still are bounded


BLOCK_TRANSPOSE = kernel('''
@nki.jit
def swap_blocks(x):
    P, F = x.shape
    A, B = 4, F // 4
    out = nl.ndarray((P, F), dtype=x.dtype, buffer=nl.shared_hbm)
    t = nl.load(x)
    i_p = nl.arange(P)[:, None, None]
    i_a = nl.arange(A)[None, :, None]
    i_b = nl.arange(B)[None, None, :]
    u = nl.ndarray((P, F), dtype=x.dtype, buffer=nl.sbuf)
    u[i_p, i_b * A + i_a] = nl.exp(t[i_p, i_a * B + i_b])
    nl.store(out, value=u)
    return out
''')


def test_a_transposing_index_becomes_an_access_pattern(tmp_path):
    m = migrate_source(BLOCK_TRANSPOSE, "swap_blocks")
    assert m.findings == []
    assert "u.ap(pattern=[[u.shape[1], P], [1, A], [A, B]], offset=0)[...] = " \
           "nl.exp(t.ap(pattern=[[t.shape[1], P], [B, A], [1, B]], offset=0))" in m.migrated
    assert "nl.arange" not in m.migrated and m.rule_counts()["index-pattern"] == 2
    assert_same_outputs(tmp_path, BLOCK_TRANSPOSE, m.migrated, "swap_blocks", [rng_array((128, 32), seed=9)])


WINDOW_MAX = kernel('''
@nki.jit
def window_max(x):
    C, H, W = x.shape
    out = nl.ndarray((C, H // 2, W // 3), dtype=x.dtype, buffer=nl.shared_hbm)
    c, h, dh, w, dw = nl.mgrid[0:C, 0:H // 2, 0:2, 0:W // 3, 0:3]
    t = nl.load(x)
    r = nl.max(t[c, 2 * h + dh, w * 3 + dw + 0], axis=[2, 4])
    nl.store(out, value=r)
    return out
''')


def test_a_pooling_window_index_becomes_an_access_pattern(tmp_path):
    m = migrate_source(WINDOW_MAX, "window_max")
    assert m.findings == []
    assert "t.ap(pattern=[[t.shape[1] * t.shape[2], C], [2 * t.shape[2], H // 2], [t.shape[2], 2], " \
           "[3, W // 3], [1, 3]], offset=0)" in m.migrated
    assert_same_outputs(tmp_path, WINDOW_MAX, m.migrated, "window_max", [rng_array((16, 8, 12), seed=10)])


def test_an_index_pattern_over_a_view_stays_a_finding():
    # .ap() addresses the base storage, so a name holding a view (here a slice) cannot take it.
    src = BLOCK_TRANSPOSE.replace("    t = nl.load(x)\n", "    t = nl.load(x)[0:P]\n")
    m = migrate_source(src, "swap_blocks")
    assert "t.ap(" not in m.migrated and "u.ap(" in m.migrated
    assert any(f.construct == "nl.arange / nl.mgrid index" for f in m.findings)


TRANSPOSED_OUT = kernel('''
@nki.jit
def col_max_t(x):
    P, F = x.shape
    out = nl.ndarray((F, P), dtype=x.dtype, buffer=nl.shared_hbm)
    maxes = nl.ndarray((P, 2), dtype=nl.float32, buffer=nl.sbuf)
    t_sb = nl.ndarray((F, P), dtype=x.dtype, buffer=nl.sbuf)
    i_p = nl.arange(P)[:, None]
    i_f = nl.arange(F)[None, :]
    t = nl.load(x[i_p, i_f])
    for k in nl.affine_range(2):
        maxes[i_p, k] = nisa.tensor_reduce(nl.max, data=t, axis=1)
    t_sb[...] = nisa.nc_transpose(nl.add(t, maxes[i_p, 1]))
    nl.store(out[i_f, i_p], value=nl.copy(t_sb[...]))
    return out
''')


def test_unit_free_index_psum_staging_and_a_transposed_hbm_index(tmp_path):
    m = migrate_source(TRANSPOSED_OUT, "col_max_t")
    assert m.findings == []
    assert "nisa.tensor_reduce(dst=maxes[0:P, k:k + 1], op=nl.max, data=t, axis=1)" in m.migrated
    # nc_transpose writes PSUM; v1 copied the result into the SBUF tile, so v2 stages it the same way
    assert "buffer=nl.psum)\n    nisa.nc_transpose(dst=nc_transpose_res," in m.migrated
    assert "t_sb[...] = nc_transpose_res" in m.migrated
    # a kernel output is in HBM, where a pattern needs no partition-first order
    assert "nl.store(out.ap(pattern=[[1, P], [out.shape[1], F]], offset=0)" in m.migrated
    assert_same_outputs(tmp_path, TRANSPOSED_OUT, m.migrated, "col_max_t", [rng_array((64, 32), seed=11)])


RAGGED_STATS = kernel('''
import math


@nki.jit
def row_stats(x):
    P, F = x.shape
    out = nl.ndarray((P, 2), dtype=nl.float32, buffer=nl.shared_hbm)
    W = 512
    n = math.ceil(F / W)
    i_p = nl.arange(P)[:, None]
    i_w = nl.arange(W)[None, :]
    i_s = nl.arange(6)[None, :]
    t = nl.load(x)
    stats = nl.ndarray((P, 6 * n), dtype=nl.float32)
    for j in nl.affine_range(n):
        stats[i_p, j * 6 + i_s] = nisa.bn_stats(t[i_p, j * W + i_w], mask=(j * W + i_w < F), dtype=nl.float32)
    mv = nisa.bn_aggr(stats)
    nl.store(out, value=mv)
    return out
''')


def test_a_free_axis_mask_on_an_operand_clamps_that_operand(tmp_path):
    m = migrate_source(RAGGED_STATS, "row_stats")
    assert m.findings == []
    assert "nisa.bn_stats(dst=stats[0:P, j * 6:j * 6 + 6], data=t[0:P, j * W:j * W + min(W, F - (j * W))])" \
        in m.migrated
    assert "mv = nl.ndarray((stats.shape[0], 2), dtype=stats.dtype, buffer=nl.sbuf)" in m.migrated
    # 600 columns: the second bn_stats reads 88 of its 512
    assert_same_outputs(tmp_path, RAGGED_STATS, m.migrated, "row_stats", [rng_array((128, 600), seed=12)])
