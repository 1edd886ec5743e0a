"""``nki.collectives``: communication between ranks (NeuronCores each running its own copy of the kernel).

The collectives exchange data between the ranks of a distributed job: every rank runs
the kernel, and each call moves data between their memories. The simulator runs one
kernel on one logical core, so there is no other rank to exchange with: each function
here has the documented signature and raises err_unsupported_operation naming this
reason (``__autocomp_unsupported__`` marks them for the API coverage test). The two
cores of one ``kernel[2]`` launch synchronise with ``nisa.core_barrier`` and exchange
tiles with ``nisa.sendrecv``, which are simulated.
"""

from __future__ import annotations

from autocomp.nki.errors import raise_error

_WHY = ("collectives exchange data between ranks of a distributed job, each running its own copy of the kernel; "
        "the simulator runs one kernel on one logical core, so there is no other rank (nisa.sendrecv and "
        "nisa.core_barrier between the two cores of kernel[2] are simulated)")


class ReplicaGroup:
    """The groups of ranks taking part in a collective: lists of rank ids that do not overlap."""

    def __init__(self, *groups, **kwargs):
        self.groups = [list(g) for g in (groups[0] if len(groups) == 1 and groups and
                                         isinstance(groups[0], (list, tuple)) and groups[0] and
                                         isinstance(groups[0][0], (list, tuple)) else groups)]
        self.options = kwargs

    def __repr__(self) -> str:
        return f"ReplicaGroup({self.groups})"


def _unsupported(fn):
    def call(*args, **kwargs):
        raise_error("err_unsupported_operation", f"nki.collectives.{fn.__name__} is not simulated: {_WHY}")
    call.__name__ = call.__qualname__ = fn.__name__
    call.__doc__ = f"Not simulated: {_WHY}."
    call.__wrapped__ = fn  # the documented signature, for introspection
    call.__autocomp_unsupported__ = _WHY
    return call


@_unsupported
def all_reduce(srcs, dsts, replica_group, op, priority=None, name=None):
    """Reduce srcs over the ranks of each group into dsts on every rank."""


@_unsupported
def all_gather(srcs, dsts, replica_group, collective_dim, priority=None, name=None):
    """Concatenate every rank's srcs along collective_dim into dsts on every rank."""


@_unsupported
def all_gather_v(srcs, dsts, replica_group, metadata_tensor, recv_counts_known=False, has_rdispls=False,
                 priority=None, name=None):
    """all_gather with per-rank element counts from a metadata tensor."""


@_unsupported
def reduce_scatter(srcs, dsts, replica_group, collective_dim, op, priority=None, name=None):
    """Reduce over the ranks, then give each rank its slice along collective_dim."""


@_unsupported
def all_to_all(srcs, dsts, replica_group, collective_dim, priority=None, name=None):
    """Each rank sends slice r of srcs (along collective_dim) to rank r."""


@_unsupported
def all_to_all_v(srcs, dsts, replica_group, metadata_tensor, recv_counts_known=False, has_rdispls=False,
                 priority=None, name=None):
    """all_to_all with per-rank counts and displacements from a metadata tensor."""


@_unsupported
def collective_permute(srcs, dsts, source_target_pairs, priority=None, name=None):
    """Send srcs from each source rank to its target rank's dsts."""


@_unsupported
def collective_permute_implicit(srcs_by_channel, dsts_by_channel, replica_group, channel_ids=[0],  # noqa: B006
                                priority=None, name=None):
    """Ring exchange: each rank sends to its successor and receives from its predecessor."""


@_unsupported
def collective_permute_implicit_reduce(srcs0_by_channel, srcs1_by_channel, dsts_by_channel, replica_group, op,
                                       channel_ids=[0], priority=None, name=None):  # noqa: B006
    """Ring exchange of op(srcs0, srcs1)."""


@_unsupported
def collective_permute_implicit_current_processing_rank_id(iteration_id, replica_group, channel_id=0, name=None):
    """The rank whose data a ring iteration processes."""


@_unsupported
def rank_id(name=None):
    """This rank's id in the distributed job."""


__all__ = ["ReplicaGroup", "all_reduce", "all_gather", "all_gather_v", "reduce_scatter", "all_to_all", "all_to_all_v",
           "collective_permute", "collective_permute_implicit", "collective_permute_implicit_reduce",
           "collective_permute_implicit_current_processing_rank_id", "rank_id"]
