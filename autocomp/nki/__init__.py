"""autocomp's NKI simulator: runs unmodified NKI kernels on numpy and records a trace.

    import autocomp.nki
    autocomp.nki.install()                  # provides neuronxcc.nki and nki when absent
    import neuronxcc.nki as nki
    out = nki.simulate_kernel(my_kernel, a, b)

``run_kernel`` is the programmatic entry point used by the rest of autocomp.
"""

from autocomp.nki.errors import NkiError, NkiWarning
from autocomp.nki.install import install, uninstall
from autocomp.nki.kernel import SimResult, run_kernel
from autocomp.nki.shapes import TensorSpec, parse_shape_specs
from autocomp.nki.trace import Trace

__all__ = ["install", "uninstall", "run_kernel", "SimResult", "Trace", "TensorSpec", "parse_shape_specs",
           "NkiError", "NkiWarning"]
