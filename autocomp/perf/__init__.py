"""autocomp's NeuronCore cost model: schedule a simulator trace and explain its latency.

    from autocomp.perf import profile
    prof = profile(result.trace, target)          # a target name or alias, or a Target record
    prof.latency_us, prof.latency_low_us, prof.latency_high_us, prof.summary(), print(prof.describe())

Hardware targets are data: one record per target in ``autocomp.targets`` (``TARGETS`` here) holds
its documented numbers and its calibration, which a calibration file (``autocomp calibrate``) can
override: ``profile(trace, target, calibration=path)``. Every estimate carries a 90% interval;
``win_is_certain(parent, child)`` says whether a speedup lies outside the model's error. What is
modelled and where each number comes from: docs/cost-model.md.
"""

from autocomp.perf.calibration import CalibrationError, CalibrationFile, load_calibration
from autocomp.perf.profile import EngineStats, Hint, Profile, Roofline, profile
from autocomp.perf.targets import CALIBRATION, TARGETS, Calibration, Target, get_target
from autocomp.perf.uncertainty import Band, WinVerdict, win_is_certain

__all__ = ["CALIBRATION", "TARGETS", "Band", "Calibration", "CalibrationError", "CalibrationFile", "EngineStats",
           "Hint", "Profile", "Roofline", "Target", "WinVerdict", "get_target", "load_calibration", "profile",
           "win_is_certain"]
