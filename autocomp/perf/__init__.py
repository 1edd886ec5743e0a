"""autocomp's NeuronCore cost model: schedule a simulator trace and explain its latency.

    from autocomp.perf import profile
    prof = profile(result.trace, "trn2")
    prof.latency_us, prof.summary(), print(prof.describe())

Hardware targets are data (``TARGETS``); undocumented parameters live in one
calibration table in ``autocomp.perf.targets``.
"""

from autocomp.perf.profile import EngineStats, Hint, Profile, Roofline, profile
from autocomp.perf.targets import CALIBRATION, TARGETS, Calibration, Target, get_target

__all__ = ["CALIBRATION", "TARGETS", "Calibration", "EngineStats", "Hint", "Profile", "Roofline", "Target",
           "get_target", "profile"]
