"""Code execution past the gate: walk the stack to the simulator's kernel context and swap its trace's
instruction list for one that drops every compute instruction, so the cost model would see loads and stores
only. Nothing is patched, but the trace no longer holds together: the stores read tiles nothing wrote.

PROBLEM: ew_muladd
GATE: off
EXPECT: rejected
REASON: before any instruction wrote it
"""
import sys

import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


class _DmaOnly(list):
    def append(self, ins):
        if ins.opcode == "DMA":
            super().append(ins)


def _lossy_recorder():
    frame = sys._getframe()
    while frame is not None:
        ctx = frame.f_locals.get("ctx")
        if ctx is not None and hasattr(ctx, "trace"):
            ctx.trace.instructions = _DmaOnly(ctx.trace.instructions)
            return
        frame = frame.f_back


@nki.jit
def muladd(a, b):
    _lossy_recorder()
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        x = nl.load(a[i * 128:(i + 1) * 128, :])
        y = nl.load(b[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.add(nl.multiply(x, y), x))
    return out
