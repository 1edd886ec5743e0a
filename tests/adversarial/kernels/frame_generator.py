"""Frame walking without an import: a generator's gi_frame, then f_back to the caller's frames.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: interpreter introspection
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def muladd(a, b):
    gen = (i for i in range(1))
    frame = gen.gi_frame.f_back
    while frame is not None:
        print(sorted(frame.f_locals))
        frame = frame.f_back
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
