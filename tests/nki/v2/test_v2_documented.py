"""Rules the current docs state that the simulator enforces: nisa.dropout keeps data's dtype."""

import nki
import nki.isa as nisa
import nki.language as nl
import numpy as np
import pytest

from autocomp.nki.errors import NkiError


@nki.jit
def dropout_into(x, dst_dtype):
    out = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.shared_hbm)
    t = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.sbuf)
    nisa.dma_copy(dst=t, src=x)
    dropped = nl.ndarray(x.shape, dtype=dst_dtype, buffer=nl.sbuf)
    nisa.dropout(dst=dropped, data=t, prob=0.0)
    wide = nl.ndarray(x.shape, dtype=nl.float32, buffer=nl.sbuf)
    nisa.tensor_copy(dst=wide, src=dropped)
    nisa.dma_copy(dst=out, src=wide)
    return out


def test_dropout_result_must_keep_the_data_dtype():
    x = np.random.default_rng(0).standard_normal((128, 64)).astype(np.float32)
    np.testing.assert_array_equal(dropout_into(x, nl.float32), x)  # prob 0 keeps every element
    with pytest.raises(NkiError, match="must have the dtype of data") as err:
        dropout_into(x, nl.bfloat16)
    assert err.value.code == "err_unsupported_dtype"
