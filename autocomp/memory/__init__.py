"""The experience memory: what earlier runs learned, kept across runs and shown to later plan prompts.

``docs/architecture.md#experience-memory`` describes the data flow; ``autocomp memory`` browses the store.
"""

from autocomp.memory.db import MemoryStore, MemoryStoreError, read_export
from autocomp.memory.entry import FAILURE, IMPROVEMENT, Bottleneck, MemoryEntry, bottleneck_of
from autocomp.memory.location import default_path, resolve_path
from autocomp.memory.retrieve import Query, candidate_pool, choose, render

__all__ = ["FAILURE", "IMPROVEMENT", "Bottleneck", "MemoryEntry", "MemoryStore", "MemoryStoreError", "Query",
           "bottleneck_of", "candidate_pool", "choose", "default_path", "read_export", "render", "resolve_path"]
