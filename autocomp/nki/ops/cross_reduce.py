"""Reductions across loop iterations (``nl.loop_reduce``) and SPMD instances (``nl.all_reduce``).

Both keep running state between calls. ``loop_reduce`` documents that
``b = nl.loop_reduce(a, op, [k])`` equals ``b = nisa.tensor_tensor(b, a, op)``
with ``b`` initialised before the loop; the simulator cannot see ``b``, so it
keeps the running value per call site and reduction-loop run, starting from the
first iteration's ``a`` (the same as starting from the op's identity).

The simulator runs SPMD instances one after another [PM1], so ``all_reduce``
in instance i sees the reduction over instances 0..i of its group: only the
last instance of each group holds the full result.
"""

from __future__ import annotations

import numpy as np

from autocomp.nki.alu import AluOp
from autocomp.nki.errors import warn
from autocomp.nki.indexing import Mask
from autocomp.nki.ops.common import DVE, accesses, compute_values, free_size, numerics, record
from autocomp.nki.ops.operands import ctx_state
from autocomp.nki.runtime import KernelContext, current
from autocomp.nki.source import fast_kernel_line
from autocomp.nki.tile import Tile


def _combine(op: AluOp, prev: np.ndarray | None, x: np.ndarray, mask: Mask | None) -> np.ndarray:
    if prev is None:
        return x
    with np.errstate(all="ignore"):
        r = op.np(prev, x)
    return r if mask is None else np.where(np.broadcast_to(mask.values, r.shape), r, prev)


# ---------------------------------------------------------------- across loop iterations


class _LoopReduceSite:
    """Running values of one ``loop_reduce`` call site, per run of its reduction loop(s)."""

    def __init__(self):
        self.depths: tuple[int, ...] | None = None  # nesting depths of the reduction loops, once unambiguous
        self.runs: dict[tuple, tuple] = {}  # key -> (values, last instruction, loop path)


def _as_index(v) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _choose_depths(path: list, loop_indices) -> tuple[tuple[int, ...], bool]:
    """Which enclosing loops the indices name, matched by iteration number; (depths, unambiguous)."""
    values = list(loop_indices) if isinstance(loop_indices, (list, tuple)) else [loop_indices]
    chosen: list[int] = []
    unambiguous = True
    for v in values:
        v = _as_index(v)
        free = [d for d in range(len(path) - 1, -1, -1) if d not in chosen]
        matches = [d for d in free if path[d].iteration == v]
        unambiguous = unambiguous and len(matches) == 1
        pick = matches or free
        if pick:
            chosen.append(pick[0])
    return tuple(sorted(chosen)), unambiguous


def _run_key(path: list, depths: tuple[int, ...]) -> tuple:
    """A reduction run: one entry of its outermost reduction loop, plus the iterations of the other loops nested
    inside that one. Inner reduction loops are entered afresh on every outer iteration (a new loop id each time)
    but continue the same run, so only the outermost one's id names it."""
    outer = depths[0] if depths else len(path)
    return ((path[outer].loop_id,) if depths else (),
            tuple(f.iteration for d, f in enumerate(path) if d > outer and d not in depths))


def loop_reduce(out: Tile, x: Tile, op: AluOp, loop_indices, api: str, mask: Mask | None = None):
    """``out`` = op-reduction of ``x`` over the iterations of the loops named by ``loop_indices`` so far."""
    ctx = current()
    sites = ctx_state("loop_reduce_sites", dict)
    site = sites.setdefault((fast_kernel_line(), ctx.instance), _LoopReduceSite())
    path = ctx.trace.loop_path(ctx.loop)
    depths, unambiguous = _choose_depths(path, loop_indices)
    if unambiguous and site.depths != depths:
        # Re-file runs started while the loops could not be told apart (every loop at the same iteration).
        site.runs = {_run_key(p, depths): (v, i, p) for v, i, p in site.runs.values()}
        site.depths = depths
    key = _run_key(path, site.depths if site.depths is not None else depths)
    prev_values, prev_ins, _ = site.runs.get(key, (None, None, None))
    if numerics():
        values = _combine(op, prev_values, compute_values(x, mask), mask)
        out.write(values.reshape(out.shape), mask)
        values = compute_values(out)  # carry the value as stored, rounded to out's dtype
    else:
        values = None
        out.alloc.mark_written()
    srcs = accesses(x, mask=mask) + ((prev_ins.dst[0],) if prev_ins is not None else ())
    ins = record("TENSOR_TENSOR", DVE, api, accesses(out, mask=mask), srcs, out.shape[0], free_size(out),
                 {"op": op.name, "loop_reduce": True, "accumulate": True}, producer_of=out, mask=mask)
    site.runs = {k: r for k, r in site.runs.items() if all(i in ctx.active_loops for i in k[0])}
    site.runs[key] = (values, ins, path)
    return ins


# ---------------------------------------------------------------- across SPMD instances


def _reduced_axes(ctx: KernelContext, program_axes, api: str) -> tuple[int, ...]:
    axes = program_axes if isinstance(program_axes, (list, tuple)) else (program_axes,)
    axes = tuple(int(a) for a in axes)
    if any(not 0 <= a < len(ctx.grid) for a in axes):
        warn(f"{api}: program_axes {list(axes)} name axes outside the launch grid {list(ctx.grid)}; reducing over "
             "every grid axis", "warn_all_reduce_axes")
        return tuple(range(len(ctx.grid)))
    return axes


def all_reduce(out: Tile, x: Tile, op: AluOp, program_axes, api: str, mask: Mask | None = None):
    """``out`` = op-reduction of ``x`` across the SPMD instances that differ only along ``program_axes``."""
    ctx = current()
    state = ctx_state("all_reduce_state", lambda: {"calls": {}, "groups": {}, "warned": False})
    axes = _reduced_axes(ctx, program_axes, api)
    group_size = int(np.prod([ctx.grid[a] for a in axes])) if axes else 1
    ordinal = state["calls"].get(ctx.instance, 0)
    state["calls"][ctx.instance] = ordinal + 1
    pid = tuple(ctx.program_id) + (0,) * (len(ctx.grid) - len(ctx.program_id))
    key = (ordinal, tuple(None if a in axes else p for a, p in enumerate(pid)))
    if group_size > 1 and not state["warned"]:
        state["warned"] = True
        warn(f"{api}: SPMD instances run one after another in the simulator, so each instance sees the "
             "reduction over the instances before it and itself; only the last instance of each group holds the "
             "full result", "warn_all_reduce_sequential")
    if numerics():
        values = _combine(op, state["groups"].get(key), compute_values(x, mask), mask)
        state["groups"][key] = values
        out.write(values.reshape(out.shape), mask)
    else:
        out.alloc.mark_written()
    ins = None
    for _ in range(max(group_size - 1, 1)):
        # One exchange through HBM and one combine per peer; a lone instance just copies.
        if group_size > 1:
            record("DMA", "dma", api, accesses(out, mask=mask), accesses(x, mask=mask), out.shape[0], free_size(out),
                   {"queue": "sp", "dge": "none", "transpose": False, "cast": False, "collective": True})
        ins = record("TENSOR_TENSOR" if group_size > 1 else "TENSOR_COPY", DVE, api, accesses(out, mask=mask),
                     accesses(x, mask=mask), out.shape[0], free_size(out), {"op": op.name, "all_reduce": True},
                     producer_of=out, mask=mask)
    return ins
