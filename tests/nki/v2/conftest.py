"""Make the simulator importable as ``nki`` / ``neuronxcc.nki`` before the test modules import them."""

import autocomp.nki

autocomp.nki.install()
