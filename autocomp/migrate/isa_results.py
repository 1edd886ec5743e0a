"""The result tile each legacy ISA call allocates, as expressions over its arguments.

A v1 ISA call returns a fresh tile; its v2 counterpart writes a ``dst`` the kernel allocates first
(docs/nki-semantics.md#the-two-dialects). To allocate that ``dst`` the rewrite needs the v1 result's shape,
dtype and buffer, written in terms of the call's own arguments (so the migrated kernel stays shape-generic).
The formulas follow the v1 wrappers in ``autocomp/nki/v1/isa/``; ``{name}`` is the argument's source text.
Where v1 promotes two operand dtypes, the first operand's dtype is assumed: the equivalence run catches the
kernels where that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResultSpec:
    shape: str  # a Python expression over {arg} placeholders
    dtype: str  # used when the call passes no dtype=
    buffer: str = "nl.sbuf"
    consumed: tuple[str, ...] = ()  # v1 arguments that only describe the result (not passed on to v2)


RESULTS: dict[str, ResultSpec] = {
    "activation": ResultSpec("{data}.shape", "{data}.dtype"),
    "activation_reduce": ResultSpec("{data}.shape", "{data}.dtype"),
    "tensor_tensor": ResultSpec("{data1}.shape", "{data1}.dtype"),
    "tensor_scalar": ResultSpec("{data}.shape", "{data}.dtype"),
    "scalar_tensor_tensor": ResultSpec("{data}.shape", "{data}.dtype"),
    # A reduction of every free axis is the common case; a partial one gets a dst of the wrong size, which the
    # v2 call refuses and the equivalence run reports.
    "tensor_reduce": ResultSpec("({data}.shape[0], 1)", "{data}.dtype"),
    "tensor_scalar_reduce": ResultSpec("{data}.shape", "{data}.dtype"),
    "tensor_copy": ResultSpec("{src}.shape", "{src}.dtype"),
    "reciprocal": ResultSpec("{data}.shape", "{data}.dtype"),
    "tensor_tensor_scan": ResultSpec("{data0}.shape", "{data0}.dtype"),
    "nc_transpose": ResultSpec("({data}.shape[1], {data}.shape[0])", "{data}.dtype", "nl.psum"),
    "nc_matmul": ResultSpec("({stationary}.shape[1], {moving}.shape[1])", "nl.float32", "nl.psum"),
    "affine_select": ResultSpec("{on_true_tile}.shape", "{on_true_tile}.dtype"),
    "memset": ResultSpec("{shape}", "{dtype}", consumed=("shape", "dtype")),
    "iota": ResultSpec("", "{dtype}", consumed=("dtype",)),  # v2 takes a pattern, not an index expression
}

# v1 ISA calls that already take their destination (and return nothing).
DST_CALLS = frozenset({"dma_copy", "select_reduce", "tensor_copy_predicated", "nc_stream_shuffle",
                       "tensor_copy_dynamic_dst"})

# v1 arguments with no v2 counterpart that the rewrite drops because the dst carries them.
DROPPED_WITH_DST = frozenset({"dtype"})
