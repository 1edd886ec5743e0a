"""Calibration files: a target's cost-model parameters fitted to measurements, and the error bar.

The built-in numbers live in each target's record (``autocomp.targets``: documented values and
estimates, each with its source). A calibration file, written by ``autocomp calibrate`` from a
user's own hardware measurements, overrides some of them for one target and carries the
model's measured error per estimate class (``autocomp.perf.uncertainty``)::

    # autocomp cost-model calibration
    format = 1
    target = "<name>"             # a target name or alias (autocomp.targets)

    [parameters]
    dma_engine_bytes_per_ns = 15.2
    launch_overhead_ns = 7200.0

    [uncertainty.dma]
    n = 12
    log_bias = 0.01
    log_sigma = 0.11
    pair_sigma = 0.06

    [fit]
    measurements = 24
    ...

``load_calibration(path)`` reads one (errors name the file, the key and what to do);
``profile(trace, target, calibration=path_or_file)`` applies it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from autocomp.perf.targets import Calibration, Target, get_target
from autocomp.perf.uncertainty import Band
from autocomp.targets import DEFAULT_TARGET, names

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

FORMAT = 1


@dataclass(frozen=True)
class Parameter:
    """One calibration parameter a fit may change: its bounds and what it means."""

    name: str
    low: float
    high: float
    meaning: str
    # Searched in log space (rates, times, scales: a step is a factor); False: linearly, in units of
    # ``unit`` (a share in [0, 1], or a time that may be 0, in ns).
    log_scale: bool = True
    unit: float = 1.0


# What `autocomp calibrate` fits by default: the parameters end-to-end latencies can tell apart.
# Starting values are the target's (its record in autocomp.targets); sources are in docs/cost-model.md.
PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    Parameter("dma_engine_bytes_per_ns", 1.0, 64.0, "bytes/ns one DMA engine streams (16 engines per core)"),
    Parameter("dma_descriptor_ns", 1.0, 1000.0, "DMA engine time per partition row of a transfer"),
    Parameter("dma_transfer_ns", 1.0, 5000.0, "DMA engine time per transfer it takes part in"),
    Parameter("compute_cycle_scale", 0.2, 5.0, "multiplier on Vector/Scalar/GpSimd instruction cycles"),
    Parameter("pe_cycle_scale", 0.2, 5.0, "multiplier on Tensor-engine instruction cycles"),
    Parameter("launch_overhead_ns", 100.0, 200_000.0, "fixed cost per kernel execution"),
    Parameter("static_overhead_occupancy", 0.0, 1.0, "share of the tiny-instruction overhead that occupies "
              "the engine (rest: latency)", log_scale=False),
    Parameter("dma_fixed_latency_ns", 10.0, 20_000.0, "time from a DMA's trigger to its first data"),
    Parameter("dve_cycle_scale", 0.2, 5.0, "multiplier on Vector-engine cycles (times compute_cycle_scale)"),
    Parameter("act_cycle_scale", 0.2, 5.0, "multiplier on Scalar-engine cycles (times compute_cycle_scale)"),
    Parameter("pool_cycle_scale", 0.2, 5.0, "multiplier on GpSimd cycles (times compute_cycle_scale)"),
    Parameter("dve_instruction_ns", 0.0, 5000.0, "fixed Vector-engine time of every instruction",
              log_scale=False, unit=1000.0),
    Parameter("act_instruction_ns", 0.0, 5000.0, "fixed Scalar-engine time of every instruction",
              log_scale=False, unit=1000.0),
    Parameter("pool_instruction_ns", 0.0, 5000.0, "fixed GpSimd time of every instruction",
              log_scale=False, unit=1000.0),
    Parameter("pe_instruction_ns", 0.0, 5000.0, "fixed Tensor-engine time of every instruction",
              log_scale=False, unit=1000.0),
    # Per instruction class (autocomp.perf.costs.CLASS_SCALES): a multiplier on the class's per-element
    # cycles, on top of its engine's scale. Only kernels that run the class depend on it, so a fit can move
    # it only when the measurements include such kernels.
    Parameter("dve_tensor_tensor_scale", 0.2, 5.0, "multiplier on Vector two-input instructions "
              "(tensor_tensor, scalar_tensor_tensor, select)"),
    Parameter("dve_tensor_scalar_scale", 0.2, 5.0, "multiplier on Vector tensor_scalar (one tile and scalars)"),
    Parameter("dve_scan_scale", 0.2, 5.0, "multiplier on Vector scans (tensor_tensor_scan)"),
    Parameter("dve_reduce_scale", 0.2, 5.0, "multiplier on Vector free-axis reductions (tensor_reduce ...)"),
    Parameter("dve_bn_stats_scale", 0.2, 5.0, "multiplier on Vector bn_stats and bn_aggr"),
    Parameter("dve_copy_scale", 0.2, 5.0, "multiplier on Vector copies, memsets and 32x32 transposes"),
    Parameter("act_activation_scale", 0.2, 5.0, "multiplier on Scalar-engine activations"),
    Parameter("act_copy_scale", 0.2, 5.0, "multiplier on Scalar-engine copies and tensor_scalar"),
    Parameter("pe_transpose_scale", 0.2, 5.0, "multiplier on Tensor-engine transposes (times pe_cycle_scale)"),
)}
CLASS_PARAMETERS = ("dve_tensor_tensor_scale", "dve_tensor_scalar_scale", "dve_scan_scale", "dve_reduce_scale",
                    "dve_bn_stats_scale", "dve_copy_scale", "act_activation_scale", "act_copy_scale",
                    "pe_transpose_scale")
DEFAULT_FIT = ("dma_engine_bytes_per_ns", "dma_descriptor_ns", "dma_transfer_ns", "dma_fixed_latency_ns",
               "compute_cycle_scale", "pe_cycle_scale", "launch_overhead_ns", "dve_instruction_ns",
               "act_instruction_ns", "pool_instruction_ns", "pe_instruction_ns", *CLASS_PARAMETERS)


class CalibrationError(ValueError):
    """A calibration file that cannot be used; the message names the file and what to change."""


def parameter_value(target: Target, name: str) -> float:
    """The effective value of a calibration parameter on ``target`` (documented one where unset)."""
    if name == "dma_engine_bytes_per_ns":
        return target.dma_engine_rate
    return float(getattr(target.cal, name))


def _numeric_fields() -> dict[str, str]:
    """Scalar calibration fields by name: "int" or "float" (optional ones included)."""
    out = {}
    for f in dataclasses.fields(Calibration):
        kind = str(f.type).split("|")[0].strip()
        if kind in ("int", "float"):
            out[f.name] = kind
    return out


SETTABLE = tuple(sorted(_numeric_fields()))  # every scalar calibration number a file may set


@dataclass
class CalibrationFile:
    """Parameter overrides and measured error bands for one target."""

    target: str
    parameters: dict[str, float] = field(default_factory=dict)
    bands: dict[str, Band] = field(default_factory=dict)
    fit: dict = field(default_factory=dict)  # provenance: measurements, before/after error
    path: str = ""

    def apply(self, target: str | Target | None = None) -> Target:
        """``target`` (default: the file's) with this file's parameters."""
        tgt = get_target(target if target is not None else self.target)
        if tgt.name != get_target(self.target).name:
            raise CalibrationError(f"{self.path or 'calibration'}: made for {self.target}, not {tgt.name}; "
                                   f"calibrate {tgt.name} separately (autocomp calibrate ... --target {tgt.name})")
        values = {k: (int(v) if _is_int_field(k) else float(v)) for k, v in self.parameters.items()}
        return tgt.with_calibration(**values) if values else tgt

    def bands_or_default(self) -> dict[str, Band]:
        return self.bands or dict(get_target(self.target).error_bands)


def _is_int_field(name: str) -> bool:
    return _numeric_fields().get(name) == "int"


def _where(path: str, key: str) -> str:
    return f"{path}: {key}" if key else path


def _number(path: str, key: str, value, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CalibrationError(f"{_where(path, key)} must be a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise CalibrationError(f"{_where(path, key)} = {value} is outside [{low}, {high}]")
    return float(value)


def from_dict(data: dict, path: str = "<calibration>") -> CalibrationFile:
    """Validate a parsed calibration file."""
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        raise CalibrationError(f"{path}: format {fmt!r} is not supported (this autocomp reads format {FORMAT}); "
                               "recalibrate with this version of autocomp calibrate")
    unknown = sorted(set(data) - {"format", "target", "parameters", "uncertainty", "fit"})
    if unknown:
        raise CalibrationError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; expected format, target, "
                               "[parameters], [uncertainty.CLASS], [fit]")
    target = data.get("target")
    try:
        target = get_target(target).name if isinstance(target, str) else None
    except ValueError as e:
        raise CalibrationError(f"{path}: target: {e}") from None
    if target is None:
        others = ", ".join(n for n in names() if n != DEFAULT_TARGET)
        raise CalibrationError(f'{path}: missing target = "{DEFAULT_TARGET}" (or {others})')
    params = data.get("parameters", {})
    if not isinstance(params, dict):
        raise CalibrationError(f"{path}: [parameters] must be a table of NAME = number")
    values = {}
    for key, value in params.items():
        if key not in SETTABLE:
            raise CalibrationError(f"{path}: parameters.{key} is not a calibration parameter; known: "
                                   f"{', '.join(SETTABLE)}")
        spec = PARAMETERS.get(key)
        values[key] = _number(path, f"parameters.{key}", value, spec.low if spec else 0.0,
                              spec.high if spec else None)
    bands = {}
    from autocomp.perf.uncertainty import CLASSES

    for cls, raw in (data.get("uncertainty") or {}).items():
        if cls not in CLASSES or not isinstance(raw, dict):
            raise CalibrationError(f"{path}: uncertainty.{cls}: not an estimate class table; classes: "
                                   f"{', '.join(CLASSES)}")
        try:
            bands[cls] = Band(n=int(_number(path, f"uncertainty.{cls}.n", raw.get("n"), 0)),
                              log_bias=_number(path, f"uncertainty.{cls}.log_bias", raw.get("log_bias")),
                              log_sigma=_number(path, f"uncertainty.{cls}.log_sigma", raw.get("log_sigma"), 0.0),
                              pair_sigma=_number(path, f"uncertainty.{cls}.pair_sigma", raw.get("pair_sigma"), 0.0),
                              source=str(raw.get("source", path)))
        except TypeError as e:
            raise CalibrationError(f"{path}: uncertainty.{cls}: {e}") from None
    fit = data.get("fit", {})
    return CalibrationFile(target=target, parameters=values, bands=bands, fit=fit if isinstance(fit, dict) else {},
                           path=path)


def load_calibration(path: str | Path) -> CalibrationFile:
    """Read a calibration file written by ``autocomp calibrate`` (or by hand)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise CalibrationError(f"{p}: cannot read the calibration file ({e.strerror or e})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CalibrationError(f"{p}: not valid TOML: {e}") from None
    return from_dict(data, str(p))


def resolve(calibration) -> CalibrationFile | None:
    """A CalibrationFile from a file, a path or None."""
    if calibration is None or isinstance(calibration, CalibrationFile):
        return calibration
    if isinstance(calibration, (str, Path)):
        return load_calibration(calibration)
    raise TypeError(f"calibration must be a path or a CalibrationFile, not {type(calibration).__name__}")


# ----------------------------------------------------------------------------- writing

def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(round(value, 6)) if math.isfinite(value) else '"nan"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{text}"'


def to_toml(cal: CalibrationFile, header: str = "") -> str:
    """The file's text (a small writer: values are numbers, strings and flat lists)."""
    lines = ["# autocomp cost-model calibration (autocomp calibrate); see docs/cost-model.md"]
    lines += [f"# {line}" for line in header.splitlines()]
    lines += [f"format = {FORMAT}", f'target = "{cal.target}"', "", "[parameters]"]
    for key in sorted(cal.parameters):
        meaning = PARAMETERS[key].meaning if key in PARAMETERS else ""
        lines.append(f"{key} = {_toml_value(cal.parameters[key])}" + (f"  # {meaning}" if meaning else ""))
    for cls, band in sorted(cal.bands.items()):
        lines += ["", f"[uncertainty.{cls}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in band.to_dict().items()]
    if cal.fit:
        lines += ["", "[fit]"]
        for key, value in cal.fit.items():
            if isinstance(value, dict):
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        for key, value in cal.fit.items():
            if isinstance(value, dict):
                lines += ["", f"[fit.{key}]"] + [f"{k} = {_toml_value(v)}" for k, v in value.items()
                                                 if not isinstance(v, dict)]
    return "\n".join(lines) + "\n"


def save_calibration(cal: CalibrationFile, path: str | Path, header: str = "") -> Path:
    p = Path(path)
    p.write_text(to_toml(cal, header), encoding="utf-8")
    return p
