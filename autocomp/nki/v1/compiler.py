"""``neuronxcc.nki.compiler``: direct allocation (``ncc.sbuf.mod_alloc``) and compiler directives."""

from __future__ import annotations

from autocomp.nki.placement import (
    allocation_scope,
    enable_stack_allocator,
    force_auto_alloc,
    multi_buffer,
    no_reorder,
    psum,
    sbuf,
    skip_middle_end_transformations,
)

__all__ = ["sbuf", "psum", "skip_middle_end_transformations", "enable_stack_allocator", "force_auto_alloc",
           "no_reorder", "multi_buffer", "allocation_scope"]
