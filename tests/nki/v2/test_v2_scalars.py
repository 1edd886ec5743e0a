"""NKI 0.7 run-time scalars and compiled control flow: NkiScalar, nl.if_else, fori_loop indices, LNC degrees.

docs/nki-semantics.md#nki-versions lists the rules; each has an accepted and a refused case and, where
NKI 0.6 differs, a pinned case.
"""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from autocomp.nki.v2.versioning import pinned
from tests.fakes.v2_support import target

A = np.arange(4 * 8, dtype=np.float32).reshape(4, 8)


def _load(hbm, dtype=nl.int32):
    t = nl.ndarray((1, 1), dtype=dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=t, src=hbm)
    return nisa.scalar_load(t)


@nki.jit
def scalar_arithmetic(x, y):
    out = nl.ndarray((1, 4), dtype=nl.int32, buffer=nl.shared_hbm)
    a, b = _load(x), _load(y)
    res = nl.ndarray((1, 4), dtype=nl.int32, buffer=nl.sbuf)
    for k, value in enumerate((a * b, a - 3 * b + 1, a > b, (a == b) + (a != b))):
        nisa.scalar_store(res[:, k:k + 1], value)
    nisa.dma_copy(dst=out, src=res)
    return out


def test_scalar_arithmetic_wraps_at_32_bits_and_comparisons_give_one_or_zero():
    out = scalar_arithmetic(np.array([[100000]], np.int32), np.array([[100000]], np.int32))
    assert out.tolist() == [[1410065408, 100000 - 300000 + 1, 0, 1]]
    ops = [ins.attrs["op"] for ins in scalar_arithmetic.last_result.trace.instructions if ins.opcode == "REGISTER"]
    assert ops.count("alu") == 8 and ops.count("load") == 2 and ops.count("store") == 4


@nki.jit
def scalar_misuse(x, case):
    out = nl.ndarray((1, 1), dtype=nl.int32, buffer=nl.shared_hbm)
    s = _load(x)
    t = nl.ndarray((1, 1), dtype=nl.int32, buffer=nl.sbuf)
    if case == "python_if":
        if s > 0:
            pass
    elif case == "store_int":
        nisa.scalar_store(t, 5)
    elif case == "unsigned":
        u = nl.ndarray((1, 1), dtype=nl.uint32, buffer=nl.sbuf)
        nisa.scalar_load(u)
    elif case == "float_operand":
        s = s + 1.5
    nisa.scalar_store(t, s)
    nisa.dma_copy(dst=out, src=t)
    return out


@pytest.mark.parametrize("case, match", [("python_if", "nl.if_else"), ("store_int", "nisa.memset"),
                                         ("unsigned", "nl.int32"), ("float_operand", "Python int")])
def test_scalar_misuse_is_refused_with_the_fix(case, match):
    with pytest.raises(NkiError, match=match):
        scalar_misuse(np.array([[1]], np.int32), case)


def test_scalars_do_not_exist_before_0_7():
    assert scalar_misuse(np.array([[7]], np.int32), "ok").tolist() == [[7]]
    with pinned("0.6"), pytest.raises(NkiError, match="added in nki 0.7.*register_load") as e:
        scalar_misuse(np.array([[7]], np.int32), "ok")
    assert e.value.code == "err_api_newer_than_version"


@nki.jit
def branch(a, flag, python_flag):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=t, src=a)

    def then_branch():
        nisa.tensor_scalar(dst=t, data=t, op0=nl.add, operand0=10.0)

    def else_branch():
        nisa.tensor_scalar(dst=t, data=t, op0=nl.multiply, operand0=2.0)

    cond = python_flag if python_flag is not None else _load(flag)  # any nonzero value selects then_fn
    nl.if_else(cond, then_branch, else_branch)
    nisa.dma_copy(dst=out, src=t)
    return out


def _branches(result) -> int:
    return sum(1 for ins in result.trace.instructions if ins.api == "nl.if_else")


@pytest.mark.parametrize("flag, expected", [(3, A + 10), (-1, A + 10), (0, A * 2)])
def test_if_else_on_a_run_time_scalar_runs_the_selected_branch_after_one_branch(flag, expected):
    np.testing.assert_array_equal(branch(A, np.array([[flag]], np.int32), None), expected)
    assert _branches(branch.last_result) == 1


def test_if_else_on_a_python_value_is_resolved_without_an_instruction():
    np.testing.assert_array_equal(branch(A, np.array([[0]], np.int32), True), A + 10)
    assert _branches(branch.last_result) == 0


@nki.jit
def bad_branch(a, case):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    nisa.dma_copy(dst=out, src=a)
    if case == "register":
        nl.if_else(nisa.register_alloc(1), lambda: None)
    elif case == "returns":
        nl.if_else(True, lambda: 5)
    elif case == "tensor":
        nl.if_else(nl.ndarray((1, 1), dtype=nl.int32, buffer=nl.sbuf), lambda: None)
    return out


@pytest.mark.parametrize("case, match", [("register", "scalar_load"), ("returns", "return nothing"),
                                         ("tensor", "scalar_load")])
def test_if_else_misuse_is_refused(case, match):
    with pytest.raises(NkiError, match=match):
        bad_branch(A, case)


def test_if_else_does_not_exist_before_0_7():
    with pinned("0.6"), pytest.raises(NkiError, match="nl.if_else was added in nki 0.7"):
        branch(A, np.array([[1]], np.int32), True)


@nki.jit
def indexed_rows(a, hi):
    """Copies rows 1..hi-1 of a by a fori_loop whose upper bound is a run-time scalar; records the index type."""
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.zeros(a.shape, dtype=a.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=out, src=t)
    D = a.shape[1]
    kinds = []

    def body(i):
        kinds.append(type(i).__name__)
        row = nl.ndarray((1, D), dtype=a.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=row, src=a.ap([[D, 1], [1, D]], scalar_offset=i))
        nisa.dma_copy(dst=out.ap([[D, 1], [1, D]], scalar_offset=i), src=row)

    upper = _load(hi) if hi is not None else 3
    nl.fori_loop(1, upper, body)
    indexed_rows.kinds = kinds
    return out


def test_fori_loop_takes_scalar_bounds_and_hands_the_body_scalars_from_0_7():
    expected = A.copy()
    expected[0] = 0
    expected[3] = 0
    np.testing.assert_array_equal(indexed_rows(A, np.array([[3]], np.int32)), expected)
    assert indexed_rows.kinds == ["NkiScalar", "NkiScalar"]
    np.testing.assert_array_equal(indexed_rows(A, None), expected)
    assert indexed_rows.kinds == ["NkiScalar", "NkiScalar"]
    with pinned("0.6"):
        np.testing.assert_array_equal(indexed_rows(A, None), expected)
    assert indexed_rows.kinds == ["VirtualRegister", "VirtualRegister"]


@nki.jit
def per_core(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=t, src=a)
    nisa.dma_copy(dst=out, src=t)
    return out


def test_lnc_degrees_of_kernel_and_compiler_must_match_from_0_7(monkeypatch):
    with target("trn2"):
        monkeypatch.setenv("NEURON_LOGICAL_NC_CONFIG", "2")
        per_core(A)  # the environment sets the degree when no bracket does
        assert per_core.last_result.trace.grid == (2,)
        with pytest.raises(NkiError, match=r"per_core\[1\].*NEURON_LOGICAL_NC_CONFIG=2") as e:
            per_core[1](A)
        assert e.value.code == "err_lnc_degree_mismatch"
        per_core[2](A)
        monkeypatch.delenv("NEURON_LOGICAL_NC_CONFIG")
        monkeypatch.setenv("NEURON_CC_FLAGS", "--target trn2 --lnc=2")
        with pytest.raises(NkiError, match="configured with LNC=1, but the compiler is using LNC=2"):
            per_core(A)
        per_core[2](A)
        with pinned("0.6"):  # not checked before 0.7
            per_core(A)
            assert per_core.last_result.trace.grid == ()
