"""Frame walking through a caught exception's traceback: tb_frame, then f_back.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: try/except
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    try:
        1 / 0
    except ZeroDivisionError as e:
        tb = e.__traceback__
        print(sorted(tb.tb_frame.f_back.f_locals))
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
