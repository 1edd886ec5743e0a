"""Instructions that recompute a value the kernel already holds: the compiler computes it once.

A kernel that issues the same computation on the same, unchanged inputs again (typically a
loop-invariant instruction inside an ``affine_range`` loop, e.g. ``delta * u`` recomputed for
every state of a scan whose ``delta`` and ``u`` tiles were loaded before the loop) does not pay
for it again on hardware: the Neuron compiler hoists or shares it. The evidence is public and
measured [M] (docs/cost-model.md#mechanisms-and-their-sources, row "Recomputed values"): in the
SDK's fused Mamba tutorial, reordering loops so that ``delta``/``u`` are loaded once per channel
tile cut VectorE's busy time from 92.16% of 2.34 ms (2.16 ms) to 99.63% of 1.61 ms (1.60 ms),
although the kernel source still issues the same 2,592 Vector instructions; one of its five
per-state Vector instructions became loop-invariant, and with it hoisted both versions spend the
same ~0.8 us per Vector instruction.

What counts as the same value is decided conservatively, at whole-tensor granularity:
  * the opcode is one whose operands are all tiles (no scalar constant the trace leaves out) and
    that neither accumulates into its destination nor draws random numbers;
  * engine, attributes, destination geometry and dtype are equal, and every source is the same
    region of the same tensor *at the same version* (no write to that tensor in between);
  * the earlier result is still intact: its tensor is not written again before the last read
    of the recomputed copy, and the copy is never updated in place (an accumulator needs its
    own buffer, so it cannot share).
The recomputation still orders after its inputs and the original; it just occupies no engine.
"""

from __future__ import annotations

from autocomp.nki.trace import Trace

# Opcodes whose every operand is a tile recorded in the trace (a scalar operand would not be).
SHAREABLE = frozenset({"TENSOR_TENSOR", "TENSOR_COPY", "TRANSPOSE", "MATMUL"})


def _key(ins, version: dict) -> tuple | None:
    attrs = ins.attrs or {}
    if attrs.get("accumulate"):
        return None
    srcs = []
    for a in ins.src:
        srcs.append((a.tensor, version.get(a.tensor, 0), a.buffer, a.partition_start, a.partitions,
                     a.partition_stride, a.offset, a.pattern, a.dtype, a.indirect))
    dsts = tuple((a.buffer, a.partitions, a.pattern, a.dtype) for a in ins.dst)
    return (ins.opcode, ins.engine, ins.instance, ins.partitions, ins.elems, tuple(sorted(attrs.items(), key=str)),
            tuple(srcs), dsts)


def recomputed(trace: Trace) -> dict[int, int]:
    """Position of each instruction that recomputes an intact earlier result -> that result's position."""
    instrs = trace.instructions
    version: dict[int, int] = {}
    seen: dict[tuple, tuple[int, tuple]] = {}  # key -> (position, its destination values)
    candidates: dict[int, int] = {}
    for pos, ins in enumerate(instrs):
        key = None
        if ins.opcode in SHAREABLE and ins.src and ins.dst:
            try:
                key = _key(ins, version)
                hash(key)
            except TypeError:  # an attribute that is not hashable: never shared
                key = None
        same_place = False
        if key is not None:
            earlier = seen.get(key)
            if earlier is not None and all(version.get(t, 0) == v for t, v in earlier[1]):
                candidates[pos] = earlier[0]
                # Rewriting the very buffer that holds the value (a loop reusing its buffer) changes nothing.
                same_place = {a.tensor for a in ins.dst} == {t for t, _ in earlier[1]}
        if not same_place:
            for a in ins.dst:
                version[a.tensor] = version.get(a.tensor, 0) + 1
        if key is not None and pos not in candidates:
            seen[key] = (pos, tuple((a.tensor, version[a.tensor]) for a in ins.dst))
    if not candidates:
        return {}
    return _intact(instrs, candidates)


def _intact(instrs, candidates: dict[int, int]) -> dict[int, int]:
    """Keep the candidates whose original stays unchanged while the copy is read, and whose copy is
    never updated in place. Versions count writes as in ``recomputed``."""
    version: dict[int, int] = {}
    produced: dict[tuple, int] = {}  # (tensor, version) of a candidate's result -> candidate position
    original_value: dict[int, list] = {}  # candidate -> (tensor, version) of its original's result
    at: dict[int, list] = {}  # original position -> its result's (tensor, version)
    wanted = set(candidates.values())
    last_read: dict[int, int] = {}  # candidate -> last position reading its result
    rejected: set[int] = set()
    writes_after: dict[int, list[int]] = {}  # tensor -> positions writing it
    for pos, ins in enumerate(instrs):
        written = {a.tensor for a in ins.dst}
        rewrites_original = pos in candidates and written == {t for t, _ in at[candidates[pos]]}
        for a in ins.src:
            cand = produced.get((a.tensor, version.get(a.tensor, 0)))
            if cand is not None:
                last_read[cand] = pos
                if a.tensor in written:  # updated in place: the copy needs its own buffer
                    rejected.add(cand)
        if not rewrites_original:
            for t in written:
                version[t] = version.get(t, 0) + 1
                writes_after.setdefault(t, []).append(pos)
        if pos in wanted:
            at[pos] = [(a.tensor, version[a.tensor]) for a in ins.dst]
        if pos in candidates:
            original_value[pos] = at[candidates[pos]]
            for a in ins.dst:
                produced[(a.tensor, version[a.tensor])] = pos
    keep = {}
    for pos, orig in candidates.items():
        if pos in rejected:
            continue
        until = last_read.get(pos, pos)
        overwritten = any(orig < w <= until for t, _ in original_value[pos] for w in writes_after.get(t, ()))
        if not overwritten:
            keep[pos] = orig
    return keep
