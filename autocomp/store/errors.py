"""Errors of the run store. Each message names the run directory or file and what to do."""

from __future__ import annotations


class StoreError(Exception):
    """A run directory that cannot be created, opened or written."""


class CorruptRunError(StoreError):
    """run.sqlite exists but SQLite cannot read it; the file is left untouched."""


class SchemaTooNewError(StoreError):
    """run.sqlite was written by a newer autocomp; the file is left untouched."""


class RunNotFoundError(StoreError):
    """No run matches the id, prefix or path the user gave."""


class RunLockedError(StoreError):
    """Another process has the run open for writing."""


class DuplicateEvaluationError(StoreError):
    """The candidate already has an evaluation for this purpose."""
