"""The benchmark suite around ``problems/``: locating problems, baseline figures, checking kernels, scaffolding.

The problem *format* (problem.toml, kernel.py, reference.py) lives in ``autocomp.problem``.
"""

from autocomp.suite.baseline import BaselineFigures, baseline_figures, knob_space_size
from autocomp.suite.check import Comparison, check_kernel, compare
from autocomp.suite.location import ProblemNotFoundError, load_problem, problems_dir, resolve_problem
from autocomp.suite.sampling import mixed

__all__ = ["BaselineFigures", "Comparison", "ProblemNotFoundError", "baseline_figures", "check_kernel", "compare",
           "knob_space_size", "load_problem", "mixed", "problems_dir", "resolve_problem"]
