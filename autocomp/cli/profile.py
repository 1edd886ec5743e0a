"""`autocomp profile`: estimate a kernel's latency with the cost model (shape-only tracing)."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import typer

from autocomp import targets
from autocomp.cli._common import console, fail, json_errors
from autocomp.cli._inputs import check_shapes, kernel_failure, parse_grid, read_text_file


def _scalars(items: list[str]) -> dict[str, object]:
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip().isidentifier():
            fail(f"bad --scalar {item!r}: write NAME=VALUE, e.g. --scalar eps=1e-5")
        try:
            values[name.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            fail(f"bad --scalar {item!r}: {text.strip()!r} is not a Python literal (number, string, tuple)")
    return values


def _arguments(fn, shapes: list[str], scalars: list[str], target: str) -> list:
    """Positional arguments for the kernel: shape placeholders and literal scalars by name."""
    from autocomp.nki.loader import kernel_arity
    from autocomp.nki.shapes import parse_shape_specs

    try:
        specs = parse_shape_specs(shapes)
    except ValueError as e:
        fail(str(e))
    check_shapes(specs, target, in_memory=False)
    given = dict(specs)
    for name, value in _scalars(scalars).items():
        if name in given:
            fail(f"{name} is given both as --shapes and as --scalar; keep one")
        given[name] = value
    f = getattr(fn, "func", fn)
    names = [p.name for p in inspect.signature(f).parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    unknown = set(given) - set(names)
    if unknown:
        fail(f"{', '.join(sorted(unknown))}: not parameters of {f.__name__}({', '.join(names)})")
    required, _ = kernel_arity(fn)
    args = []
    for i, name in enumerate(names):
        if name in given:
            args.append(given[name])
        elif i < required:
            fail(f"no value for parameter {name!r} of {f.__name__}: pass --shapes \"{name}=128x512:float32\" "
                 f"for a tensor or --scalar {name}=VALUE for a number")
        else:
            break
    return args


def profile_command(
    kernel: Path = typer.Argument(..., help="Kernel file (legacy neuronxcc.nki or current nki dialect)."),
    function: str = typer.Option(..., "--function", "-f", help="Kernel function name in the file."),
    shapes: list[str] = typer.Option([], "--shapes", help='Input tensor placeholder, e.g. "a=4096x512:bfloat16".'),
    scalar: list[str] = typer.Option([], "--scalar", help='Non-tensor argument, e.g. "eps=1e-5".'),
    target: str = typer.Option(targets.DEFAULT_TARGET, "--target", help=f"{targets.choices()}."),
    grid: str = typer.Option("", "--grid", help='SPMD grid of the launch, e.g. "2x2" for kernel[2, 2].'),
    as_json: bool = typer.Option(False, "--json", help="Print the neuron-profile style summary JSON."),
    timeline: Path = typer.Option(None, "--timeline", help="Write an HTML timeline of the schedule here."),
    trace: Path = typer.Option(None, "--trace", help="Write the schedule as a Chrome trace (Trace Event Format "
                               "JSON: open it in ui.perfetto.dev or chrome://tracing) here."),
    calibration: Path = typer.Option(None, "--calibration", help="Calibration file from `autocomp calibrate`: "
                                     "its parameters and error bands replace the built-in ones."),
) -> None:
    """Estimate KERNEL's latency on a NeuronCore model from a shape-only simulator trace."""
    from autocomp.nki import NkiError, run_kernel
    from autocomp.nki.loader import KernelLoadError, load_kernel
    from autocomp.perf import get_target, profile
    from autocomp.perf.calibration import CalibrationError, load_calibration

    json_errors(as_json)
    try:
        tgt = get_target(target)
    except ValueError as e:
        fail(str(e))
    cal = None
    if calibration is not None:
        try:
            cal = load_calibration(calibration)
            tgt = cal.apply(tgt)
        except CalibrationError as e:
            fail(str(e))
    read_text_file(kernel)
    if timeline is not None and timeline.is_dir():
        fail(f"--timeline {timeline}: is a directory; give a file name such as timeline.html")
    if trace is not None and trace.is_dir():
        fail(f"--trace {trace}: is a directory; give a file name such as trace.json")
    launch = parse_grid(grid) if grid else None
    try:
        fn = load_kernel(kernel, function, tgt.name)
    except KernelLoadError as e:
        fail(str(e))
    args = _arguments(fn, shapes, scalar, tgt.name)
    try:
        result = run_kernel(fn, args, target=tgt.name, grid=launch or getattr(fn, "grid", ()),
                            dialect=getattr(fn, "dialect", "v1"), numerics=False)
    except NkiError as e:
        fail(str(e), code=1)
    except Exception as e:  # the kernel's own code failed (an assert on shapes, a bad call): the user's file
        fail(*kernel_failure(kernel, function, e))
    prof = profile(result.trace, tgt, calibration=cal)
    if timeline is not None:
        try:
            timeline.write_text(prof.timeline_html(), encoding="utf-8")
        except OSError as e:
            fail(f"--timeline {timeline}: cannot write it ({e.strerror or e})")
    if trace is not None:
        from autocomp.perf.chrome_trace import dumps, profile_trace

        try:
            trace.write_text(dumps(profile_trace(prof)), encoding="utf-8")
        except OSError as e:
            fail(f"--trace {trace}: cannot write it ({e.strerror or e})")
    if as_json:
        print(json.dumps(prof.summary(), indent=2))
    else:
        console.print(prof.describe(), highlight=False, markup=False, soft_wrap=True)
        if timeline is not None:
            console.print(f"timeline written to {timeline}", highlight=False)
        if trace is not None:
            console.print(f"trace written to {trace}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("profile")(profile_command)
