"""Backends that misbehave on purpose, used by name (``lying_backend:Class``) so the worker re-creates them.

The worker and the measurer import this file as the top-level module ``lying_backend`` from the directory
``pythonpath()`` names (tests/fakes), not as ``tests.fakes.lying_backend``: the sandbox sees that one
directory, never the checkout.

``LyingBackend``'s measuring half reports an impossible latency, to show the parent's physics check refuses
it. ``ForgedTraceBackend``'s worker half writes a forged instruction trace (what a candidate that took over
the worker could write) for kernels that contain ``FORGE``, to show the parent's trace checks refuse it;
``forge`` picks the forgery.
"""

from __future__ import annotations

import os
from pathlib import Path

from autocomp.evaluate.backends.sim import SimBackend
from autocomp.evaluate.protocol import CHECK_TRACE_NAME
from autocomp.nki import trace_codec
from autocomp.nki.trace import Instruction

FORGERIES = ("line_outside_kernel", "foreign_file", "missing_output_writes", "wrong_input_shape", "dropped_compute",
             "garbage_file")


class LyingBackend(SimBackend):
    name = "lying_backend:LyingBackend"  # the worker re-creates the backend from this import path

    def pythonpath(self) -> list[str]:
        return [str(Path(__file__).parent)]

    def measure(self, request):
        timing = super().measure(request)
        fast = timing.latency_us / 1000  # "1000x faster"
        return timing.model_copy(update={"latency_us": fast, "summary": {**timing.summary, "total_time": fast * 1e-6}})


class WhereMeasured(SimBackend):
    """The sim backend whose measuring half says which process it ran in (``profile["measured_by"]``)."""

    name = "lying_backend:WhereMeasured"

    def pythonpath(self) -> list[str]:
        return [str(Path(__file__).parent)]

    def measure(self, request):
        timing = super().measure(request)
        return timing.model_copy(update={"summary": {**timing.summary, "measured_by": os.getpid()}})


class ForgedTraceBackend(SimBackend):
    name = "lying_backend:ForgedTraceBackend"

    def __init__(self, forge: str = "line_outside_kernel") -> None:
        super().__init__()
        if forge not in FORGERIES:
            raise ValueError(f"forge {forge!r}: one of {FORGERIES}")
        self.forge = forge

    def options(self) -> dict:
        return {"forge": self.forge}

    def pythonpath(self) -> list[str]:
        return [str(Path(__file__).parent)]

    def record(self, handle, job, out_dir: Path) -> None:
        super().record(handle, job, out_dir)
        if "FORGE" not in (Path(job.work_dir) / job.kernel_file).read_text():
            return  # the baseline is recorded honestly
        path = out_dir / CHECK_TRACE_NAME
        if self.forge == "garbage_file":
            path.write_bytes(b"PK\x03\x04 not really a zip")
            return
        trace = trace_codec.decode(path)
        if self.forge == "line_outside_kernel":
            trace.instructions[0].line = 10_000
        elif self.forge == "foreign_file":
            trace.files.append("/usr/lib/python3/dist-packages/other.py")
            trace.instructions[0].loc = len(trace.files) - 1
        elif self.forge == "missing_output_writes":  # drop the last store to HBM
            last = max(i for i, ins in enumerate(trace.instructions)
                       if ins.opcode == "DMA" and ins.dst[0].buffer == "hbm")
            _drop(trace, last)
        elif self.forge == "wrong_input_shape":
            first = next(t for t in trace.tensors.values() if t.kind == "input")
            first.shape = (first.shape[0] * 2, *first.shape[1:])
        elif self.forge == "dropped_compute":  # every compute instruction gone, the loads and stores kept
            for pos in reversed([i for i, ins in enumerate(trace.instructions) if ins.opcode != "DMA"]):
                _drop(trace, pos)
        path.write_bytes(trace_codec.encode(trace))


def _drop(trace, pos: int) -> None:
    """Remove one instruction and renumber the rest, as a careful forger would."""
    del trace.instructions[pos]
    for i, ins in enumerate(trace.instructions[pos:], start=pos):
        trace.instructions[i] = Instruction(i, ins.opcode, ins.engine, ins.api, ins.dst, ins.src, ins.partitions,
                                            ins.elems, ins.attrs, ins.loc, ins.line, ins.loop, ins.instance)
