"""Errors the simulator raises, named after the Neuron compiler's error codes.

Every error carries the compiler's `err_*` code, the kernel source location that
caused it and a message saying what to change. Each class also inherits the
Python exception type the real toolchain raises for that mistake, so code written
against AWS's tools (``except SyntaxError``, ``except ValueError``) keeps working.
"""

from __future__ import annotations

import warnings


class NkiError(Exception):
    """Base class of every simulator error. ``code`` is the compiler's error name."""

    code = "err_nki"

    def __init__(self, message: str, *, code: str | None = None, location: tuple[str, int] | None = None):
        if code is not None:
            self.code = code
        if location is None:
            from autocomp.nki.source import kernel_location

            location = kernel_location()
        self.location = location
        self.message = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = f"{self.location[0]}:{self.location[1]}: " if self.location else ""
        return f"{where}[{self.code}] {self.message}"

    def __str__(self) -> str:
        return self._format()


class NkiSyntaxError(NkiError, SyntaxError):
    """Shape, tile-size and language-structure violations (the compiler's SyntaxError)."""

    def __init__(self, message: str, **kw):
        NkiError.__init__(self, message, **kw)
        self.msg = self._format()
        if self.location:
            self.filename, self.lineno = self.location


class NkiTypeError(NkiError, TypeError):
    """Wrong argument types, dtypes or memory kinds."""


class NkiValueError(NkiError, ValueError):
    """Values outside what the hardware accepts, e.g. the truth value of a tile."""


class NkiIndexError(NkiError, IndexError):
    """Static out-of-bounds access."""


class NkiRuntimeError(NkiError, RuntimeError):
    """Errors only detectable while the kernel runs (indirect DMA out of bounds, ...)."""


class NkiCapacityError(NkiError, MemoryError):
    """SBUF/PSUM capacity exceeded in strict mode, or a direct allocation overflow."""


class NkiUnsupportedError(NkiError, NotImplementedError):
    """An NKI API the simulator knows of but does not implement."""


class NkiWarning(UserWarning):
    """Something the real toolchain accepts but that is likely wrong or slow."""


def warn(message: str, code: str = "warn_nki") -> None:
    """Emit an NkiWarning tagged with a code and the kernel line, and record it on the trace."""
    from autocomp.nki.runtime import current_or_none
    from autocomp.nki.source import kernel_location

    loc = kernel_location()
    where = f"{loc[0]}:{loc[1]}: " if loc else ""
    text = f"{where}[{code}] {message}"
    ctx = current_or_none()
    if ctx is not None:
        if ctx.strict:
            raise NkiError(message, code=code, location=loc)
        ctx.trace.warnings.append(text)
    warnings.warn(text, NkiWarning, stacklevel=3)


# The error codes the simulator raises, by the class that carries each one.
ERROR_CLASSES: dict[str, type[NkiError]] = {
    "err_num_partition_exceed_arch_limit": NkiSyntaxError,
    "err_size_of_dimension_exceed_arch_limit": NkiSyntaxError,
    "err_num_partition_mismatch": NkiSyntaxError,
    "err_unsupported_memory": NkiTypeError,
    "err_unsupported_dtype": NkiTypeError,
    "err_activation_bias_invalid_type": NkiTypeError,
    "err_activation_scale_invalid_type": NkiTypeError,
    "err_activation_scale_scalar_or_vector": NkiTypeError,
    "err_1d_arange_not_supported": NkiSyntaxError,
    "err_unsupported_mixing_basic_advanced_tensor_indexing": NkiSyntaxError,
    "err_tensor_access_out_of_bound": NkiIndexError,
    "err_unsupported_expression_in_mask": NkiSyntaxError,
    "err_control_flow_condition_depending_on_arange": NkiSyntaxError,
    "err_indirect_indices_free_dim": NkiSyntaxError,
    "err_store_dst_shape_smaller_than_other_shape": NkiSyntaxError,
    "err_exceed_max_supported_dimension": NkiSyntaxError,
    "err_leading_dimension_of_tensor_must_be_partition": NkiSyntaxError,
    "err_shared_hbm_must_in_kernel_level": NkiSyntaxError,
    "err_local_variable_used_out_of_scope": NkiSyntaxError,
    "err_unexpected_output_dependencies": NkiSyntaxError,
    "err_cannot_update_immutable_parameter": NkiSyntaxError,
    "err_mutable_parameter_not_returned": NkiSyntaxError,
    "err_tensor_output_not_written_to": NkiSyntaxError,
    "err_ambiguous_tensor_truth_value": NkiValueError,
    "err_dynamic_control_flow_not_supported": NkiSyntaxError,
    "err_nested_kernel_with_spmd_grid": NkiSyntaxError,
    "err_nki_api_outside_of_nki_kernel": NkiSyntaxError,
    "err_hbm_tensor_with_init_value_not_supported": NkiSyntaxError,
    "err_cannot_assign_to_index": NkiSyntaxError,
    "err_annotation_shape_mismatch": NkiSyntaxError,
    "err_failed_to_infer_tile_from_local_tensor": NkiSyntaxError,
    "err_unsupported_operation": NkiUnsupportedError,
    "err_invalid_argument": NkiTypeError,
    "err_insufficient_rank": NkiSyntaxError,
    "err_sbuf_capacity_exceeded": NkiCapacityError,
    "err_psum_capacity_exceeded": NkiCapacityError,
    "err_partition_start_misaligned": NkiSyntaxError,
    "err_runtime_out_of_bounds": NkiRuntimeError,
    # Current-dialect (nki >= 0.3) language rules.
    "err_missing_dst": NkiTypeError,
    "err_unexpected_keyword": NkiTypeError,
    "err_string_buffer_name": NkiTypeError,
    "err_raw_integer_enum": NkiTypeError,
    "err_list_kernel_argument": NkiTypeError,
    "err_keyword_only_separator": NkiSyntaxError,
    "err_jit_on_subkernel": NkiSyntaxError,
    "err_deprecated_jit_argument": NkiTypeError,
    "err_output_not_shared_hbm": NkiTypeError,
    "err_reshape_element_count": NkiValueError,
    "err_rank_mismatch": NkiValueError,
    "err_reduce_axes_not_trailing": NkiValueError,
    "err_invalid_tile_grid": NkiValueError,  # nl.tiles / blocks / alloc_tiles geometry (nki >= 0.7)
    "err_legacy_module_in_kernel": NkiSyntaxError,
    # Version rules of the current dialect (autocomp/nki/versions.py).
    "err_removed_api": NkiSyntaxError,  # removed in the modelled release; the message names the replacement
    "err_api_newer_than_version": NkiSyntaxError,  # added after the pinned release
    "err_lnc_degree_mismatch": NkiValueError,  # kernel and compiler LNC degrees differ (nki >= 0.7)
}


def raise_error(code: str, message: str, location: tuple[str, int] | None = None) -> None:
    """Raise the NkiError subclass registered for ``code`` (at ``location``, else the current kernel line)."""
    cls = ERROR_CLASSES.get(code, NkiError)
    raise cls(message, code=code, location=location)
