"""Running a kernel function in the simulator: inputs in, outputs and trace out.

Dialect-free: both frontends' decorators end up in ``run_kernel``.
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from autocomp.nki import dtypes as dt
from autocomp.nki import versions
from autocomp.nki.capacity import check_capacity
from autocomp.nki.errors import raise_error, warn
from autocomp.nki.lint import warn_host_state
from autocomp.nki.lnc import Cooperative, NeedsCooperation
from autocomp.nki.runtime import KernelContext, activate, current_or_none, cyclic_gc_paused, target_record
from autocomp.nki.shapes import TensorSpec
from autocomp.nki.tile import Allocation, Tile
from autocomp.nki.trace import HBM, Trace
from autocomp.targets import Target


@dataclass
class SimResult:
    """What one simulated call produced: numpy outputs (None for shape-only runs) and the trace."""

    outputs: Any
    trace: Trace


def _to_numpy(value):
    """numpy arrays pass through; CPU torch tensors convert (bf16 through its bits)."""
    if isinstance(value, np.ndarray):
        return value, "numpy"
    mod = type(value).__module__
    if mod.startswith("torch"):
        import torch  # noqa: F401 - only when the caller uses torch

        t = value.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            return t.view(dtype=__import__("torch").int16).numpy().view(dt.bfloat16), "torch"
        return t.numpy(), "torch"
    return None, None


def _is_torch(value) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "copy_")


def _from_numpy(arr: np.ndarray, kind: str):
    if kind == "torch":
        import torch

        if arr.dtype == dt.bfloat16:
            return torch.from_numpy(arr.view(np.int16).copy()).view(torch.bfloat16)
        return torch.from_numpy(arr.copy())
    return arr


def _annotations(fn) -> dict[str, Any]:
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}


def _param_names(fn, n: int) -> list[str]:
    params = list(_annotations(fn).values())
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return names[:n] + [f"arg{i}" for i in range(len(names), n)]


def _annotation_spec(param) -> TensorSpec | None:
    ann = getattr(param, "annotation", inspect.Parameter.empty)
    return ann if isinstance(ann, TensorSpec) else None


def _make_input(ctx: KernelContext, name: str, value, param, kind_out: list, fn=None) -> Any:
    arr, kind = _to_numpy(value)
    spec = _annotation_spec(param) if param is not None else None
    if isinstance(value, TensorSpec):
        if ctx.numerics:
            raise_error("err_invalid_argument",
                        f"argument {name!r} is a shape placeholder {value!r}; placeholders only work when tracing "
                        "shapes (nki.benchmark / profile), pass a numpy array to compute values")
        shape, dtype, data = value.shape, value.dtype, None
        mutable = value.mutable
    elif arr is not None:
        shape, dtype = arr.shape, arr.dtype
        try:
            dtype = dt.as_dtype(dtype)
        except TypeError:
            raise_error("err_unsupported_dtype", f"argument {name!r} has dtype {arr.dtype}, which NKI does not support")
        data = np.array(arr, copy=True) if ctx.numerics else None
        mutable = False
        kind_out.append(kind)
    else:
        return value  # scalars and other Python values pass through
    if spec is not None:
        if tuple(spec.shape) != tuple(shape):
            raise_error("err_annotation_shape_mismatch",
                        f"argument {name!r} has shape {list(shape)} but the kernel annotates it as {spec!r}",
                        location=def_location(fn))
    # nt.mutable_tensor, bare or with a shape, makes the parameter writable.
    mutable = mutable or bool(getattr(getattr(param, "annotation", None), "mutable", False))
    if len(shape) == 0:
        shape, data = (1,), (data.reshape(1) if data is not None else None)
    alloc = Allocation(ctx, name, HBM, tuple(shape), dtype, -1, kind="input", data=data)
    alloc.mutable = mutable
    alloc.written = True
    return Tile(alloc, None)


def _collect(result, path="output"):
    """Flatten a kernel's return value into (structure, list of tiles)."""
    if result is None:
        return None, []
    if isinstance(result, Tile):
        return 0, [result]
    if isinstance(result, (tuple, list)):
        tiles, struct = [], []
        for i, r in enumerate(result):
            s, ts = _collect(r, f"{path}[{i}]")
            struct.append(None if s is None else _shift(s, len(tiles)))
            tiles.extend(ts)
        return (type(result), struct), tiles
    if isinstance(result, dict):
        tiles, struct = [], {}
        for k, r in result.items():
            s, ts = _collect(r, f"{path}[{k!r}]")
            struct[k] = None if s is None else _shift(s, len(tiles))
            tiles.extend(ts)
        return (dict, struct), tiles
    raise_error("err_invalid_argument",
                f"a kernel must return tensors (or a tuple of them), got {type(result).__name__} at {path}")


def _shift(struct, offset):
    if isinstance(struct, int):
        return struct + offset
    kind, inner = struct
    if kind is dict:
        return kind, {k: None if v is None else _shift(v, offset) for k, v in inner.items()}
    return kind, [None if v is None else _shift(v, offset) for v in inner]


def _rebuild(struct, values):
    if struct is None:
        return None
    if isinstance(struct, int):
        return values[struct]
    kind, inner = struct
    if kind is dict:
        return {k: _rebuild(v, values) for k, v in inner.items()}
    return kind(_rebuild(v, values) for v in inner)


def run_kernel(kernel, args=(), kwargs=None, *, target: str | Target | None = None, grid: tuple[int, ...] = (),
               numerics: bool = True, strict: bool = False, dialect: str = "v1",
               nki_version: str | tuple | None = None) -> SimResult:
    """Simulate ``kernel(*args, **kwargs)``; ``grid`` runs an SPMD grid of instances.

    ``target`` is a target name or alias, or a ``Target`` record; ``None`` reads
    NEURON_PLATFORM_TARGET_OVERRIDE, else the default target (``autocomp.targets``).

    ``numerics=False`` traces shapes only: inputs may be ``TensorSpec`` placeholders,
    no values are computed and ``outputs`` is None. Instances run one after the other,
    unless they synchronise (``nisa.core_barrier``, ``nisa.sendrecv``): then the kernel
    runs again with the instances taking turns (``autocomp.nki.lnc``).

    ``nki_version`` pins the release of the current dialect the run follows (``"0.6"``; None: the
    modelled one, ``autocomp.nki.versions.MODELLED``); v1 kernels ignore it.
    """
    # A frontend's kernel object says how its function is entered (v2: arguments become NkiTensor views), so a
    # kernel run here sees the same argument types as one called directly.
    entry = getattr(kernel, "simulation_entry", None)
    fn = entry() if callable(entry) else getattr(kernel, "func", kernel)
    if current_or_none() is not None:
        raise_error("err_nested_kernel_with_spmd_grid" if grid else "err_invalid_argument",
                    "a kernel cannot be launched from inside another kernel; call the sub-kernel function directly")
    if dialect == "v1":
        warn_host_state(fn)
    version = versions.normalize(nki_version) if dialect == "v2" else ""
    try:
        return _simulate(fn, args, kwargs, target, grid, numerics, strict, dialect, version, cooperative=False)
    except NeedsCooperation:
        return _simulate(fn, args, kwargs, target, grid, numerics, strict, dialect, version, cooperative=True)


def _simulate(fn, args, kwargs, target, grid, numerics: bool, strict: bool, dialect: str, nki_version: str,
              cooperative: bool) -> SimResult:
    kwargs = dict(kwargs or {})
    ctx = KernelContext(spec=target_record(target), dialect=dialect, nki_version=nki_version, numerics=numerics,
                        strict=strict, grid=tuple(int(g) for g in grid))
    ctx.trace = Trace(kernel=getattr(fn, "__name__", "kernel"), dialect=dialect, nki_version=nki_version,
                      target=ctx.target, grid=ctx.grid, numerics=numerics)
    params = _annotations(fn)
    names = _param_names(fn, len(args))
    with cyclic_gc_paused():
        previous = activate(ctx)
        kinds: list[str] = []
        try:
            call_args = [_make_input(ctx, n, a, params.get(n), kinds, fn) for n, a in zip(names, args)]
            call_kwargs = {k: _make_input(ctx, k, v, params.get(k), kinds, fn) for k, v in kwargs.items()}
            inputs = [a for a in list(call_args) + list(call_kwargs.values()) if isinstance(a, Tile)]
            points = list(itertools.product(*[range(g) for g in ctx.grid])) if ctx.grid else [()]
            struct, out_tiles = None, []
            if cooperative:
                results = Cooperative(ctx, points).run(lambda instance: call_kernel(fn, call_args, call_kwargs))
                ctx.depth = 0
                for result in results:
                    struct, out_tiles = _collect(result)
                    _check_outputs(out_tiles, inputs, fn, returned_nothing=result is None)
            else:
                for instance, pid in enumerate(points):
                    ctx.program_id, ctx.instance, ctx.shared_cursor = pid, instance, 0
                    ctx.depth = 1
                    result = call_kernel(fn, call_args, call_kwargs)
                    ctx.depth = 0
                    struct, out_tiles = _collect(result)
                    _check_outputs(out_tiles, inputs, fn, returned_nothing=result is None)
            check_capacity(ctx.trace, ctx.spec, strict)
            outputs = None
            if numerics:
                kind = kinds[0] if kinds else "numpy"
                values = [_from_numpy(np.array(t.host_values(None), copy=True), kind) for t in out_tiles]
                outputs = _rebuild(struct, values)
                _write_back_mutable(args, names, inputs)
        finally:
            activate(previous)
    return SimResult(outputs=outputs, trace=ctx.trace)


def call_kernel(fn, args, kwargs):
    """Run one instance of the kernel function (its caller's frame marks the kernel's top level)."""
    return fn(*args, **kwargs)


def def_location(fn) -> tuple[str, int] | None:
    """Where errors about a kernel as a whole point (its outputs, its signature): the ``def`` line."""
    fn = inspect.unwrap(fn)  # frontends wrap kernels with functools.wraps
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return code.co_filename, code.co_firstlineno
    line = next((first + i for i, text in enumerate(lines) if text.lstrip().startswith(("def ", "async def "))),
                first)
    return code.co_filename, line


def _check_outputs(out_tiles: list[Tile], inputs: list[Tile], fn=None, returned_nothing: bool = False) -> None:
    returned = {id(t.alloc) for t in out_tiles}
    for t in out_tiles:
        a = t.alloc
        if a.buffer != HBM:
            raise_error("err_unsupported_memory",
                        f"the kernel returns {a.name}, which is in {a.buffer.upper()}; return an HBM tensor "
                        "(nl.ndarray(..., buffer=nl.shared_hbm)) after storing the result into it")
        if not a.written:
            raise_error("err_tensor_output_not_written_to",
                        f"output tensor {a.name} is never written; store results into it (is a loop empty?)",
                        location=def_location(fn))
        a.returned = True
    if current_or_none().dialect == "v2":
        return  # v2 kernels may write their HBM arguments in place without returning them
    legacy_outputs = _check_output_parameters(returned_nothing)
    for t in inputs:
        a = t.alloc
        if a.mutable and a.kind == "input" and id(a) not in returned and a.dirty and id(a) not in legacy_outputs:
            raise_error("err_mutable_parameter_not_returned",
                        f"mutable parameter {a.name} is written but not returned; return it from the kernel",
                        location=def_location(fn))


def _check_output_parameters(returned_nothing: bool) -> dict:
    """v1 parameters the kernel wrote without ``nt.mutable_tensor``.

    Before NKI 2.21 kernels took their outputs as parameters and returned nothing (AWS's example tests
    and tutorials still do, launched through ``nki.simulate_kernel``, ``nki.trace`` or ``nki_jit``): such a
    kernel ran on hardware, so it is accepted with ``warn_output_parameter`` and the written parameters are
    copied back into the caller's arrays. A kernel that returns outputs and also writes an unannotated
    parameter is the current convention broken: ``err_cannot_update_immutable_parameter`` at the write.
    """
    ctx = current_or_none()
    for alloc, where in ctx.output_params.values():
        if not returned_nothing:
            raise_error("err_cannot_update_immutable_parameter",
                        f"kernel parameter {alloc.name} is immutable; annotate it as nt.mutable_tensor and return "
                        "it, or write the result to a new nl.shared_hbm tensor that the kernel returns",
                        location=where)
        if not alloc.mutable:
            alloc.mutable = True
            at = f" (first written at {where[0]}:{where[1]})" if where else ""
            warn(f"kernel parameter {alloc.name} is written and the kernel returns nothing: the legacy convention "
                 f"of outputs passed as parameters{at}; it is copied back to the caller's array. Current kernels "
                 "return a new nl.shared_hbm tensor instead", "warn_output_parameter")
    return ctx.output_params


def _write_back_mutable(args, names, inputs: list[Tile]) -> None:
    """Like AWS's simulator, copy modified mutable HBM inputs back into the caller's arrays (numpy or torch)."""
    by_name = {t.alloc.name: t for t in inputs}
    for name, value in zip(names, args):
        t = by_name.get(name)
        if t is None or not t.alloc.mutable:
            continue
        if isinstance(value, np.ndarray) and value.flags.writeable:
            value[...] = t.alloc.data.reshape(value.shape)
        elif _is_torch(value):
            value.copy_(_from_numpy(np.ascontiguousarray(t.alloc.data.reshape(tuple(value.shape))), "torch"))
