"""Settings every test shares."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Set at import, before any test module imports numpy. The simulator runs many tiny matmuls, and a multi-threaded
# BLAS in the test process (or in the CLI subprocesses the tests start, which inherit this) spins a thread per core
# against the other tests' processes: on a busy 2-core machine a 128x128 @ 128x512 product ran 7x slower with two
# threads than with one. Evaluation workers and measurers force one thread themselves (evaluate/sandbox.py,
# evaluate/measurer.py); this covers the test process.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


@pytest.fixture(autouse=True, scope="session")
def _no_user_memory() -> Iterator[None]:
    """No test reads or writes the user's experience memory (docs/architecture.md#experience-memory): it is off
    unless a test names a memory file of its own (tests/memory/ do). Session scope, so it is in force before any
    module-scoped fixture starts a run."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOCOMP_MEMORY", "off")
        yield
