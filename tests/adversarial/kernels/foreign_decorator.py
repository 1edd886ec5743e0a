"""A decorator of the kernel's own making: it memoizes the first result and returns it on every call.

PROBLEM: ew_muladd
EXPECT: rejected
REASON: decorator 'remember'
"""
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


def remember(fn):
    box = []

    def wrapper(a, b):
        if not box:
            box.append(fn(a, b))
        return box[0]
    return wrapper


@remember
@nki.jit
def muladd(a, b):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
