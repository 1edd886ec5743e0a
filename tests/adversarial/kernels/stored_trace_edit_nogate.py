"""Code execution past the gate: on its second call, walk the stack to the worker's backend and cut the compute
instructions out of the first call's trace, which the backend keeps until it writes it out. No attribute
changes identity, so the tamper check is blind; the parent's trace check is not.

PROBLEM: ew_muladd
GATE: off
EXPECT: rejected
REASON: before any instruction wrote it
"""
import sys

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


def _edit_kept_trace():
    frame = sys._getframe()
    while frame is not None:
        backend = frame.f_locals.get("backend")
        kept = getattr(backend, "_traces", None) if backend is not None else None
        if isinstance(kept, dict) and "check" in kept:
            trace = kept["check"]
            trace.instructions[:] = [ins for ins in trace.instructions if ins.opcode == "DMA"]
            for seq, ins in enumerate(trace.instructions):
                ins.seq = seq
            return
        frame = frame.f_back


@nki.jit
def muladd(a, b):
    _edit_kept_trace()
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
