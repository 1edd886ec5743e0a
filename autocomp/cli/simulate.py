"""`autocomp simulate`: run a kernel file in the simulator."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import typer

from autocomp import targets
from autocomp.cli import _npz as npz
from autocomp.cli._common import console, fail
from autocomp.cli._inputs import check_shapes, kernel_failure, read_text_file


def _inputs_for(fn, inputs: Path | None, shapes: list[str], seed: int, target: str) -> list:
    from autocomp.nki.loader import kernel_arity
    from autocomp.nki.shapes import parse_shape_specs

    f = getattr(fn, "func", fn)
    names = [p.name for p in inspect.signature(f).parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required, total = kernel_arity(fn)
    provided: dict[str, np.ndarray] = {}
    if inputs is not None:
        if not inputs.is_file():
            fail(f"{inputs}: no such inputs file; pass a .npz with one array per kernel parameter")
        try:
            provided.update(npz.load(inputs))
        except npz.NpzError as e:
            fail(str(e))
        except Exception as e:
            fail(f"{inputs}: cannot read it as a .npz archive ({e})")
        # Positional archives (arr_0, arr_1, ...) map onto parameters in order.
        for i, name in enumerate(names):
            if f"arr_{i}" in provided and name not in provided:
                provided[name] = provided.pop(f"arr_{i}")
    try:
        specs = parse_shape_specs(shapes)
    except ValueError as e:
        fail(str(e))
    check_shapes(specs, target, in_memory=True)
    unknown = (set(specs) | set(provided)) - set(names)
    if unknown:
        fail(f"{', '.join(sorted(unknown))}: not parameters of {f.__name__}({', '.join(names)})")
    rng = np.random.default_rng(seed)
    args = []
    for name in names[:required]:
        if name in provided:
            args.append(provided[name])
        elif name in specs:
            args.append(specs[name].random(rng))
        else:
            fail(f"no value for parameter {name!r} of {f.__name__}: give it in --inputs or as --shapes "
                 f"\"{name}=128x512:float32\"")
    for name in names[required:total]:
        if name in provided:
            args.append(provided[name])
        elif name in specs:
            args.append(specs[name].random(rng))
        else:
            break
    return args


def simulate(
    kernel: Path = typer.Argument(..., help="Kernel file (legacy neuronxcc.nki or current nki dialect)."),
    function: str = typer.Option(..., "--function", "-f", help="Kernel function name in the file."),
    inputs: Path = typer.Option(None, "--inputs", help=".npz file with one array per kernel parameter."),
    shapes: list[str] = typer.Option([], "--shapes", help='Random inputs, e.g. "a=4096x512:bfloat16".'),
    out: Path = typer.Option(None, "--out", help="Write outputs to this .npz file."),
    target: str = typer.Option(targets.DEFAULT_TARGET, "--target", help=f"{targets.choices()}."),
    seed: int = typer.Option(0, "--seed", help="Seed for random inputs."),
) -> None:
    """Run KERNEL in autocomp's NKI simulator and summarise its outputs."""
    from autocomp.nki import NkiError, run_kernel
    from autocomp.nki.loader import KernelLoadError, load_kernel
    from autocomp.nki.runtime import normalize_target

    try:
        target = normalize_target(target)
    except ValueError as e:
        fail(str(e))
    if seed < 0:
        fail(f"--seed {seed}: give a seed of 0 or more")
    read_text_file(kernel)
    if out is not None and out.is_dir():
        fail(f"--out {out}: is a directory; give a file name such as outputs.npz")
    try:
        fn = load_kernel(kernel, function, target)
    except KernelLoadError as e:
        fail(str(e))
    args = _inputs_for(fn, inputs, shapes, seed, target)
    try:
        result = run_kernel(fn, args, target=target, grid=getattr(fn, "grid", ()),
                            dialect=getattr(fn, "dialect", "v1"))
    except NkiError as e:
        fail(str(e), code=1)
    except Exception as e:  # the kernel's own code failed (an assert on shapes, a bad call): the user's file
        fail(*kernel_failure(kernel, function, e))
    outputs = result.outputs
    flat = outputs if isinstance(outputs, (tuple, list)) else [outputs] if outputs is not None else []
    console.print(f"[bold]{function}[/] ran in the simulator ({target}): {len(result.trace)} instructions")
    for i, o in enumerate(flat):
        arr = np.asarray(o)
        f32 = arr.astype(np.float32)
        console.print(f"  output {i}: shape {list(arr.shape)} {arr.dtype}  min {np.nanmin(f32):.4g}  "
                      f"max {np.nanmax(f32):.4g}  mean {np.nanmean(f32):.4g}  NaNs {int(np.isnan(f32).sum())}")
    for w in result.trace.warnings[:10]:
        console.print(f"  [yellow]warning[/] {w}")
    if out is not None:
        try:
            npz.save(out, {f"arr_{i}": np.asarray(o) for i, o in enumerate(flat)})
        except OSError as e:
            fail(f"--out {out}: cannot write the outputs ({e.strerror or e})")
        console.print(f"  outputs written to {out}")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
