"""Value-returning calls shared by both dialects: each allocates its result tile and issues core ops.

The v1 dialect's ``nl.*`` functions are these calls; the v2 dialect offers the
same ones as its (experimental in nki 0.3) convenience functions, wrapping each
result as an ``NkiTensor``. ``operators.py`` binds Python operators on tiles
(``a + b``, ``t[...] = v``, ``t += v``) to them, identically for both dialects.
"""
