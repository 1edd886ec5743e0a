"""``autocomp migrate``: legacy-dialect (``neuronxcc.nki``) kernels rewritten into the current dialect (``nki``),
proven equivalent in the simulator (docs/nki-semantics.md#migrating-a-legacy-kernel)."""

from autocomp.migrate.findings import Applied, Finding, Migration
from autocomp.migrate.rules import MigrationError, migrate_source

__all__ = ["Applied", "Finding", "Migration", "MigrationError", "migrate_source"]
