"""Make the simulator importable as ``nki`` / ``neuronxcc.nki`` before the test modules import them."""

import pytest

import autocomp.nki
from autocomp.nki.v2.versioning import pinned

autocomp.nki.install()


@pytest.fixture
def nki_06():
    """Kernels launched in the test follow NKI 0.6 (the constructs NKI 0.7 removed still run, with a warning)."""
    with pinned("0.6"):
        yield
