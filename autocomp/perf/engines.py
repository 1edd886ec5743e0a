"""The NeuronCore's engines as everything that shows the cost model's results names them: one table.

Ids are the simulator's (``autocomp.nki.trace``: pe, dve, act, pool, sp, and dma for the DMA queues);
``name`` is neuron-profile's (``tensor_engine_active_time`` ...), ``label`` what people read, ``color`` the
engine's row in a timeline. The profile, its summary, the run store's profile records, the report, the notebook
and the prompts all take their engine names from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from autocomp.nki.trace import ACT, DMA, DVE, ENGINE_NAMES, PE, POOL, SP


@dataclass(frozen=True)
class Lane:
    """One row of work the cost model schedules: an instruction engine, the DMA queues, or the critical path."""

    id: str
    name: str
    label: str
    color: str


ENGINES = (Lane(PE, ENGINE_NAMES[PE], "Tensor", "#4e79a7"), Lane(DVE, ENGINE_NAMES[DVE], "Vector", "#f28e2b"),
           Lane(ACT, ENGINE_NAMES[ACT], "Scalar", "#59a14f"), Lane(POOL, ENGINE_NAMES[POOL], "GpSimd", "#b07aa1"),
           Lane(SP, ENGINE_NAMES[SP], "Sync", "#9c755f"))
DMA_QUEUES = Lane(DMA, "dma", "DMA", "#76b7b2")
CRITICAL_PATH = Lane("critical", "critical", "Critical path", "#e15759")

LANES = (*ENGINES, DMA_QUEUES)  # where an instruction runs
TIMELINE_ROWS = (*LANES, CRITICAL_PATH)  # the rows of a timeline, top to bottom

LANE_NAMES = {lane.id: lane.name for lane in LANES}  # id -> neuron-profile name
LABELS = {lane.id: lane.label for lane in TIMELINE_ROWS}  # id -> label
LABELS_BY_NAME = {lane.name: lane.label for lane in LANES}  # neuron-profile name -> label
COLORS = {lane.id: lane.color for lane in TIMELINE_ROWS}

__all__ = ["COLORS", "CRITICAL_PATH", "DMA_QUEUES", "ENGINES", "ENGINE_NAMES", "LABELS", "LABELS_BY_NAME",
           "LANES", "LANE_NAMES", "TIMELINE_ROWS", "Lane"]
