"""Instruction traces as data (autocomp.nki.trace_codec): exact round trips, and refusal of anything else."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autocomp.nki import TensorSpec, run_kernel
from autocomp.nki.loader import load_kernel
from autocomp.nki.trace import Access, Instruction, TensorInfo, Trace
from autocomp.nki.trace_codec import TraceFileError, decode, encode
from autocomp.perf import Profile, profile
from autocomp.problem import Problem
from tests.fakes.eval_support import PROBLEMS

REPO = Path(__file__).parents[2]
TUTORIALS = REPO / "tests" / "perf" / "kernels"
CONFORMANCE = REPO / "tests" / "nki" / "conformance" / "kernels"


def _traced(path: Path, function: str, args: list, grid: tuple[int, ...] = (), target: str = "trn1",
            dialect: str = "v1") -> Trace:
    """The trace of one run: shape-only when every array argument is a TensorSpec, numeric otherwise."""
    numerics = not any(isinstance(a, TensorSpec) for a in args)
    fn = load_kernel(path, function, target)
    return run_kernel(fn, args, target=target, grid=grid, numerics=numerics, dialect=dialect).trace


def _suite(name: str, full: bool) -> Trace:
    """A suite (or test) problem's baseline: at full size shape-only, or at check size on real inputs."""
    root = REPO / "problems" / name if (REPO / "problems" / name).is_dir() else PROBLEMS / name
    p = Problem.load(root)
    args = [TensorSpec(s.shape, s.dtype) for s in p.input_specs()] if full else list(p.inputs(p.spec.seeds[0]))
    return _traced(p.kernel_path, p.spec.function, args, target=p.spec.target, dialect=p.spec.dialect)


KERNELS = {
    "gemm_bf16 (full, shape-only)": lambda: _suite("gemm_bf16", full=True),
    "attention_bf16 (full)": lambda: _suite("attention_bf16", full=True),
    "layernorm (check, numeric)": lambda: _suite("layernorm", full=False),
    "mamba_scan (full)": lambda: _suite("mamba_scan", full=True),
    "conv2d_bf16 (full)": lambda: _suite("conv2d_bf16", full=True),
    "v2_add (current dialect)": lambda: _suite("v2_add", full=False),
    "matmul tutorial, blocked": lambda: _traced(
        TUTORIALS / "matmul_tutorial.py", "matmul_blocked",
        [TensorSpec((2048, 1024), "bfloat16"), TensorSpec((2048, 2048), "bfloat16")]),
    "layernorm tutorial v2": lambda: _traced(
        TUTORIALS / "layernorm_tutorial.py", "layernorm_v2",
        [TensorSpec((512, 1024), "float32"), 1e-5, TensorSpec((1, 1024), "float32"),
         TensorSpec((1, 1024), "float32")]),
    "mamba tutorial v2": lambda: _traced(
        TUTORIALS / "mamba_tutorial.py", "mamba_v2",
        [TensorSpec((1, 256, 512)), TensorSpec((1, 256, 512)), TensorSpec((256, 16)), TensorSpec((1, 16, 512)),
         TensorSpec((1, 16, 512))]),
    "conformance SPMD grid": lambda: _traced(
        CONFORMANCE / "grid.py", "spmd_matmul", [TensorSpec((256, 256), "float32"), TensorSpec((256, 1024), "float32")],
        grid=(2, 2)),
    "conformance attention": lambda: _traced(
        CONFORMANCE / "attention.py", "causal_attention",
        [TensorSpec((128, 512), "bfloat16"), TensorSpec((128, 512), "bfloat16"), TensorSpec((512, 128), "bfloat16")]),
}


def _instruction_rows(trace: Trace) -> list[tuple]:
    def acc(a: Access) -> tuple:
        return tuple((f, getattr(a, f), type(getattr(a, f))) for f in Access.__slots__)

    return [(ins.seq, ins.opcode, ins.engine, ins.api, tuple(map(acc, ins.dst)), tuple(map(acc, ins.src)),
             ins.partitions, ins.elems, _typed(ins.attrs), ins.loc, ins.line, ins.loop, ins.instance)
            for ins in trace.instructions]


def _typed(value):
    """A value with the type of every part spelled out, so 1 == 1.0 == True do not compare equal."""
    if isinstance(value, dict):
        return ("dict", tuple((k, _typed(v)) for k, v in value.items()))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_typed(v) for v in value))
    return (type(value).__name__, repr(value))


def assert_same_trace(a: Trace, b: Trace) -> None:
    assert _instruction_rows(a) == _instruction_rows(b)
    assert [(k, tuple(getattr(t, f) for f in TensorInfo.__slots__)) for k, t in a.tensors.items()] == \
        [(k, tuple(getattr(t, f) for f in TensorInfo.__slots__)) for k, t in b.tensors.items()]
    for f in ("kernel", "dialect", "target", "grid", "numerics", "files", "loops", "warnings", "spill_bytes",
              "sbuf_peak_bytes_per_partition", "psum_peak_bytes_per_partition"):
        assert getattr(a, f) == getattr(b, f), f


def assert_same_profile(a: Profile, b: Profile) -> None:
    for f in dataclasses.fields(Profile):
        if f.name != "trace":
            assert getattr(a, f.name) == getattr(b, f.name), f.name


@pytest.mark.parametrize("name", list(KERNELS))
def test_the_cost_model_sees_the_same_trace_after_a_round_trip(name):
    trace = KERNELS[name]()
    assert len(trace.instructions) > 0
    back = decode(encode(trace))
    assert_same_trace(trace, back)
    assert_same_profile(profile(trace), profile(back))


def _tiny_trace(attrs: list) -> Trace:
    t = Trace(kernel="k", target="trn2", grid=(2,), numerics=False)
    t.tensors[1] = TensorInfo(1, "x", "hbm", (128, 64), "float32", 4, 128, 256, kind="input")
    t.tensors[7] = TensorInfo(7, "s", "sbuf", (128, 64), "bfloat16", 2, 128, 128, 3, address=(0, 1024))
    loc = t.file_id("/k.py")
    for i, a in enumerate(attrs):
        src = Access(1, "hbm", "float32", 4, 0, 128, 0, ((1, 64),), partition_stride=64)
        dst = Access(7, "sbuf", "bfloat16", 2, 0, 128, 64 * i, ((1, 32), (32, 2)), indirect=bool(i % 2))
        t.instructions.append(Instruction(i, "DMA", "dma", "nl.load", (dst,), (src,), 128, 64, a, loc, 3 + i, 0,
                                          i % 2))
    t.warnings.append("k.py:3: [warn_x] something")
    t.spill_bytes, t.sbuf_peak_bytes_per_partition = 12, 34
    return t


def test_attribute_values_keep_their_exact_types():
    attrs = [{"value": 1}, {"value": 1.0}, {"value": True}, {"key": (True, 2)}, {"key": (1, 2)}, None,
             {"ops": ("add", "multiply"), "nested": ((1, 2), (3, (4.5, None)))}, {"list": [1, (2, 3)]},
             {"dict": {"a": 1}}, {"inf": math.inf, "neg": -1e30}, {"np": np.float32(0.5), "i": np.int64(3)}, {}]
    back = decode(encode(_tiny_trace(attrs)))
    got = [ins.attrs for ins in back.instructions]
    expected = attrs[:10] + [{"np": 0.5, "i": 3}, {}]  # numpy scalars come back as the Python numbers they hold
    assert [_typed(a) for a in got] == [_typed(a) for a in expected]
    assert_same_trace(_tiny_trace(attrs[:10]), decode(encode(_tiny_trace(attrs[:10]))))
    assert got[0] is not got[1] and back.instructions[0].dst[0] is not back.instructions[1].dst[0]


def test_values_that_are_not_plain_data_are_not_written():
    with pytest.raises(TraceFileError, match="cannot be stored"):
        encode(_tiny_trace([{"fn": print}]))
    trace = _tiny_trace([None])
    trace.instructions[0].opcode = None
    with pytest.raises(TraceFileError, match="must be a string"):
        encode(trace)


def _rewrite(data: bytes, **members) -> bytes:
    """The trace file with some members replaced (None: removed) or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            name = info.filename[:-4]
            if name in members:
                continue
            dst.writestr(info, src.read(info))
        for name, arr in members.items():
            if arr is not None:
                buf = io.BytesIO()
                np.save(buf, arr, allow_pickle=True)
                dst.writestr(f"{name}.npy", buf.getvalue())
    return out.getvalue()


def _header(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return json.loads(np.load(io.BytesIO(zf.read("header.npy"))).tobytes())


def _with_header(data: bytes, **changes) -> bytes:
    header = {**_header(data), **changes}
    return _rewrite(data, header=np.frombuffer(json.dumps(header).encode(), np.uint8))


def test_malformed_or_foreign_files_are_refused_with_a_reason(tmp_path):
    good = encode(_tiny_trace([{"value": 1}, {"value": 2}]))
    bad = {
        "not a zip": (b"hello", "not a trace file"),
        "pickled column": (_rewrite(good, i_seq=np.array([{"x": 1}], dtype=object)), "allow_pickle=False"),
        "float column": (_rewrite(good, i_seq=np.array([0.5, 1.5])), "1-d integer array"),
        "extra member": (_rewrite(good, payload=np.zeros(3)), "unexpected members ['payload.npy']"),
        "missing member": (_rewrite(good, a_tensor=None), "missing ['a_tensor.npy']"),
        "other version": (_with_header(good, version=99), "version 99"),
        "not ours": (_with_header(good, format="something-else"), "not an autocomp trace file"),
        "string index out of range": (_rewrite(good, i_opcode=np.array([0, 999])), "string index out of range"),
        "ragged columns": (_rewrite(good, i_line=np.array([1, 2, 3])), "different lengths"),
        "operand count": (_rewrite(good, i_ndst=np.array([1, 5])), "operand counts"),
        "header type": (_with_header(good, grid="2"), "'grid'"),
    }
    for data, reason in bad.values():
        with pytest.raises(TraceFileError, match=reason.replace("[", r"\[").replace("]", r"\]")):
            decode(data)
    path = tmp_path / "t.npz"
    path.write_bytes(good)
    assert len(decode(path)) == 2
    (tmp_path / "link.npz").symlink_to(path)
    with pytest.raises(TraceFileError, match="not a regular file"):
        decode(tmp_path / "link.npz")


def test_size_caps_refuse_a_bloated_trace_before_building_it(tmp_path):
    data = encode(_tiny_trace([None] * 50))
    with pytest.raises(TraceFileError, match="50 instructions, over the limit of 10"):
        decode(data, max_instructions=10)
    with pytest.raises(TraceFileError, match="over the 1000-byte limit"):
        decode(data, max_bytes=1000)
    # A compressed member that unpacks far beyond its file size is refused from the zip directory alone.
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info) if info.filename != "i_seq.npy" else
                         _npy(np.zeros(5_000_000, np.int64)))
    assert len(bomb.getvalue()) < 200_000
    with pytest.raises(TraceFileError, match="unpacks to more than"):
        decode(bomb.getvalue(), max_bytes=1 << 20)


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()
