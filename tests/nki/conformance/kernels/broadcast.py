"""Implicit broadcasting in nl.* element-wise calls (legacy NKI dialect).

nl.add and friends broadcast like numpy along the free axes and, unlike the
Python operators, along the partition axis too: [1, F] rows and [1, 1] values
are spread over every partition.
"""

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def broadcast_forms(a, row, col, one):
    """a [P, F], row [1, F], col [P, 1], one [1, 1] -> (a + row, col * row, a - one, a / col)."""
    P, F = a.shape
    plus_row = nl.ndarray((P, F), dtype=a.dtype, buffer=nl.shared_hbm)
    outer = nl.ndarray((P, F), dtype=a.dtype, buffer=nl.shared_hbm)
    minus_one = nl.ndarray((P, F), dtype=a.dtype, buffer=nl.shared_hbm)
    over_col = nl.ndarray((P, F), dtype=a.dtype, buffer=nl.shared_hbm)
    a_t, r_t, c_t, o_t = nl.load(a), nl.load(row), nl.load(col), nl.load(one)
    nl.store(plus_row, value=nl.add(a_t, r_t))
    nl.store(outer, value=nl.multiply(c_t, r_t))
    nl.store(minus_one, value=nl.subtract(a_t, o_t))
    nl.store(over_col, value=nl.divide(a_t, c_t))
    return plus_row, outer, minus_one, over_col
