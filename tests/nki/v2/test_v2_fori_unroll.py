"""``nl.fori_loop(..., unroll=True)`` (NKI 0.7): the same values as the device loop, no loop branches on the
sequencer, compile-time bounds only, refused under an NKI 0.6 pin. docs/nki-semantics.md#nki-versions."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError
from autocomp.nki.v2.versioning import pinned

A = np.arange(4 * 8, dtype=np.float32).reshape(4, 8)


@nki.jit
def row_prefix(a, unroll, scalar_bound):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    rows = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.sbuf)
    acc = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=rows, src=a)
    nisa.tensor_copy(dst=acc, src=rows)
    upper = a.shape[0]
    if scalar_bound:
        n = nl.ndarray((1, 1), dtype=nl.int32, buffer=nl.sbuf)
        nisa.memset(dst=n, value=a.shape[0])
        upper = nisa.scalar_load(n)

    def body(i):
        prev = acc.ap([[a.shape[1], 1], [1, a.shape[1]]], scalar_offset=i - 1)
        cur = acc.ap([[a.shape[1], 1], [1, a.shape[1]]], scalar_offset=i)
        nisa.tensor_tensor(dst=cur, data1=cur, data2=prev, op=nl.add)

    nl.fori_loop(1, upper, body, unroll=unroll)
    nisa.dma_copy(dst=out, src=acc)
    return out


def _branches(kernel):
    return [ins for ins in kernel.last_result.trace.instructions
            if ins.opcode == "REGISTER" and ins.attrs.get("op") == "branch"]


def test_unrolled_loop_computes_the_same_values_without_loop_branches():
    want = np.cumsum(A, axis=0)
    looped = row_prefix(A, False, False)
    assert np.array_equal(looped, want) and len(_branches(row_prefix)) == 3
    unrolled = row_prefix(A, True, False)
    assert np.array_equal(unrolled, want) and _branches(row_prefix) == []


def test_unroll_needs_compile_time_bounds_and_nki_07():
    with pytest.raises(TypeError) as err:
        row_prefix(A, True, True)
    assert err.value.code == "err_invalid_argument" and "compile time" in str(err.value)
    assert np.array_equal(row_prefix(A, False, True), np.cumsum(A, axis=0))  # a run-time bound needs the loop
    with pinned("0.6"), pytest.raises(NkiError) as err:
        row_prefix(A, True, False)
    assert err.value.code == "err_api_newer_than_version"
