"""The parent's checks as plain functions: output comparison, precision rules, timing physics, file protocol."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from autocomp.evaluate.correctness import compare, describe_failure, downcast_reason
from autocomp.evaluate.protocol import ArrayRef, Timing, TraceFacts, load_array, save_array
from autocomp.evaluate.result import EvalResult
from autocomp.evaluate.timing import physical_floor_us, speedup_flags, timing_violation
from autocomp.problem import Tolerance
from autocomp.sources import encoding_declaration, normalize_source, source_digest, source_hash

TOL = Tolerance(rel_l2=1e-3, atol=1e-3, rtol=1e-3)


def test_matching_output_passes_with_its_error_statistics():
    ref = np.linspace(-5, 5, 64, dtype=np.float64).reshape(8, 8)
    out = (ref + 1e-5).astype(np.float32)
    err = compare(out, ref, TOL, seed=3, index=0)
    assert err.passed and err.mismatched == 0 and err.nonfinite == 0
    assert err.max_abs == pytest.approx(1e-5, rel=0.1) and 0 < err.rel_l2 < 1e-5


def test_unwritten_nan_elements_fail_and_point_at_the_first_one():
    ref = np.ones((4, 6))
    out = np.ones((4, 6), dtype=np.float32)
    out[2:, :] = np.nan
    err = compare(out, ref, TOL, seed=1, index=0)
    assert not err.passed and err.nonfinite == 12 and err.worst_index == [2, 0]
    assert err.max_abs is None and err.rel_l2 is None
    assert "12 of 24 elements are NaN" in describe_failure(err, TOL)


def test_one_bad_element_fails_the_elementwise_bound_even_if_rel_l2_is_small():
    ref = np.full((100, 100), 10.0)
    out = ref.astype(np.float32)
    out[7, 42] = 11.0
    err = compare(out, ref, TOL, seed=0, index=1)
    assert not err.passed and err.mismatched == 1 and err.worst_index == [7, 42]
    assert err.worst_value == 11.0 and err.worst_expected == 10.0
    line = describe_failure(err, TOL)
    assert "output 1 (seed 0)" in line and "[7, 42]" in line and "got 11, expected 10" in line


def test_shape_mismatch_and_reference_specials():
    assert "shape [4] but the reference is [2, 2]" in compare(np.zeros(4), np.zeros((2, 2)), TOL, 0, 0).note
    ref = np.array([1.0, np.inf, np.nan])
    assert compare(np.array([1.0, np.inf, np.nan], np.float32), ref, TOL, 0, 0).passed
    assert not compare(np.array([1.0, 5.0, np.nan], np.float32), ref, TOL, 0, 0).passed


def test_downcast_rules():
    assert downcast_reason(["float32"], ["float32"], ["float32"], ["float32"]) is None
    assert "output 0 is bfloat16" in downcast_reason(["bfloat16"], ["float32"], ["float32"], ["float32"])
    assert "computes in bfloat16" in downcast_reason(["float32"], ["float32"], ["bfloat16", "float32"], ["float32"])
    # A bf16 problem whose baseline already computes in bf16 may keep doing so.
    assert downcast_reason(["bfloat16"], ["bfloat16"], ["bfloat16"], ["bfloat16", "float32"]) is None
    assert "float8" in downcast_reason(["bfloat16"], ["bfloat16"], ["float8_e4m3"], ["bfloat16"])
    assert downcast_reason(["float32"], ["bfloat16"], ["float32"], ["bfloat16"]) is None  # upcasting is fine


def _timing(latency_us: float, **summary) -> Timing:
    return Timing(latency_us=latency_us, evidence="sim", summary={"total_time": latency_us * 1e-6, **summary})


def test_latency_below_the_physical_floor_is_refused():
    # 1 GFLOP of bf16 matmul cannot take 1 us on trn1 (peak ~92 TFLOP/s -> >= ~11 us).
    floor = physical_floor_us({"hardware_flops": 1e9}, "trn1", 0)
    assert floor > 10
    why = timing_violation(_timing(1.0, hardware_flops=1e9), "trn1", 0)
    assert why is not None and "below the physical limit" in why
    assert timing_violation(_timing(floor * 1.5, hardware_flops=1e9), "trn1", 0) is None
    # Writing 64 MiB of output takes time too, whatever the trace claims.
    assert "below the physical limit" in timing_violation(_timing(1.0), "trn1", 64 << 20)


def test_latency_must_agree_with_the_profile_and_cover_the_outputs():
    t = Timing(latency_us=10.0, evidence="sim", summary={"total_time": 20e-6})
    assert "disagrees" in timing_violation(t, "trn1", 0)
    t = Timing(latency_us=50.0, evidence="sim", summary={"total_time": 50e-6},
               facts=TraceFacts(instructions=3, hbm_write_bytes=1024, compute_dtypes=["float32"]))
    assert "writes 1024 bytes to HBM but the outputs hold 4096" in timing_violation(t, "trn1", 4096)
    assert timing_violation(t, "trn1", 1024) is None


def test_speedup_flags():
    t = _timing(10.0, model_flops=1e6)
    assert speedup_flags(12.0, 10.0, t, 1e6) == ["speedup_over_10x_review"]
    assert speedup_flags(2.0, 10.0, t, 1e9) == ["fewer_flops_than_baseline_review"]
    noisy = Timing(latency_us=10.0, evidence="hw", summary={"total_time": 1e-5}, spread=0.05)
    assert "noisy_timing" in speedup_flags(1.0, 10.0, noisy, None)


def test_arrays_round_trip_including_bfloat16(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4).astype(ml_dtypes.bfloat16)
    ref = save_array(tmp_path, "x", a)
    assert ref.dtype == "bfloat16"
    back = load_array(tmp_path, ref)
    assert back.dtype == a.dtype and np.array_equal(back.astype(np.float32), a.astype(np.float32))


def test_loading_refuses_mismatched_or_unsafe_files(tmp_path):
    save_array(tmp_path, "x", np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="expected float32"):
        load_array(tmp_path, ArrayRef(file="x.npy", dtype="float32", shape=[4]))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        load_array(tmp_path, ArrayRef(file="obj.npy", dtype="float32", shape=[1]))
    (tmp_path / "link.npy").symlink_to(tmp_path / "x.npy")
    with pytest.raises(ValueError, match="not a regular file"):
        load_array(tmp_path, ArrayRef(file="link.npy", dtype="float32", shape=[2, 2]))
    with pytest.raises(ValueError):
        ArrayRef(file="../escape.npy", dtype="float32", shape=[1])


def test_normalized_source_ignores_comments_and_layout_but_not_code():
    a = "def k(a):\n    # double it\n    return a * 2   \n\n\n"
    b = "def k(a):\n\n    return a*2  # twice\n"
    c = "def k(a):\n    return a * 3\n"
    assert normalize_source(a) == normalize_source(b)
    assert source_hash(a) == source_hash(b) != source_hash(c)
    assert source_hash("x = '#not a comment'") != source_hash("x = ''")


def test_one_content_hash_keys_the_cache_and_names_candidates():
    same = ["x = ('a')\n", 'x = "a"  # quoted otherwise\n', "x = \\\n    'a'\n"]
    assert len({source_digest(s) for s in same}) == 1
    assert source_digest("x = 'a'\n") != source_digest("x = b'a'\n")  # a different value
    assert source_hash(same[0]) == source_digest(same[0])[:16] and len(source_digest(same[0])) == 64
    # An encoding declaration changes how the file the evaluator writes is read: not the same kernel.
    declared = "# -*- coding: latin-1 -*-\nx = 'é'\n"
    assert encoding_declaration(declared) == "latin-1" and encoding_declaration("x = 1\n# coding: latin-1\n") is None
    assert source_digest(declared) != source_digest("x = 'é'\n")
    assert source_digest(declared) == source_digest("# vim: set fileencoding=latin-1 :\nx = 'é'  # e\n")


def test_eval_result_json_round_trip():
    r = EvalResult(status="incorrect", reason="output 0 (seed 0): ...", max_abs=None, seeds=[0, 1, 2])
    assert EvalResult.model_validate_json(r.model_dump_json()) == r


# --------------------------------------------------------------------------- traces the worker hands back
def _muladd_trace():
    """The honest ew_muladd baseline's trace on seed 0's inputs, with what the parent knows about the job."""
    from autocomp.evaluate.trace_check import TensorSpecs
    from autocomp.nki import run_kernel
    from autocomp.nki.loader import load_kernel
    from tests.fakes.eval_support import problem

    p = problem("ew_muladd")
    args = list(p.inputs(0))
    trace = run_kernel(load_kernel(p.kernel_path, p.spec.function, "trn1"), args, target="trn1").trace
    specs = TensorSpecs(inputs=[(a.shape, "float32") for a in args], outputs=[(args[0].size, "float32")])
    return trace, {"kernel_path": str(p.kernel_path), "kernel_lines": p.baseline_source.count("\n") + 1,
                   "target": "trn1", "specs": specs, "what": "the check run"}


def _renumbered(trace, keep):
    from autocomp.nki.trace import Instruction

    kept = [ins for ins in trace.instructions if keep(ins)]
    trace.instructions = [Instruction(i, x.opcode, x.engine, x.api, x.dst, x.src, x.partitions, x.elems, x.attrs,
                                      x.loc, x.line, x.loop, x.instance) for i, x in enumerate(kept)]
    return trace


def test_an_honest_trace_passes_and_its_facts_are_the_parents_own():
    from autocomp.evaluate.trace_check import check_trace, trace_facts

    trace, job = _muladd_trace()
    check_trace(trace, **job)
    facts = trace_facts(trace)
    assert facts.instructions == len(trace.instructions) and facts.hbm_write_bytes == 256 * 128 * 4
    assert facts.compute_dtypes == ["float32"]


@pytest.mark.parametrize("forgery, reason", [
    ("line", "outside the kernel file's"),
    ("file", "names source file '/elsewhere/helper.py'"),
    ("input_shape", "shows inputs [float32[512, 128], float32[256, 128]] but the job passed"),
    ("output_unwritten", "does not produce the whole output: at most 16384 of the 32768 elements"),
    ("compute_dropped", "before any instruction wrote it"),
    ("out_of_bounds", "accesses bytes"),
    ("opcode", "unknown opcode 'FASTMATH'"),
    ("tensor", "which the trace never allocated"),
    ("target", "not the job's target 'trn1'"),
    ("loop", "loop frame 99"),
])
def test_a_forged_trace_is_refused_with_the_rule_it_breaks(forgery, reason):
    from autocomp.evaluate.trace_check import TraceRejected, check_trace

    trace, job = _muladd_trace()
    ins = trace.instructions
    if forgery == "line":
        ins[3].line = job["kernel_lines"] + 5
    elif forgery == "file":
        trace.files.append("/elsewhere/helper.py")
        ins[0].loc = 1
    elif forgery == "input_shape":
        first = next(t for t in trace.tensors.values() if t.kind == "input")
        first.shape = (512, 128)
    elif forgery == "output_unwritten":
        last_store = max(i for i, x in enumerate(ins) if x.opcode == "DMA" and x.dst[0].buffer == "hbm")
        _renumbered(trace, lambda x: x is not ins[last_store])
    elif forgery == "compute_dropped":
        _renumbered(trace, lambda x: x.opcode == "DMA")
    elif forgery == "out_of_bounds":
        store = next(x for x in ins if x.opcode == "DMA" and x.dst[0].buffer == "hbm")
        store.dst[0].offset += 256 * 128
    elif forgery == "opcode":
        ins[1].opcode = "FASTMATH"
    elif forgery == "tensor":
        ins[1].src[0].tensor = 999
    elif forgery == "target":
        trace.target = "trn2"
    elif forgery == "loop":
        ins[2].loop = 99
    with pytest.raises(TraceRejected, match=reason.replace("[", r"\[").replace("]", r"\]")) as e:
        check_trace(trace, **job)
    assert str(e.value).startswith("the check run's trace") and "\n" not in str(e.value)


def test_reshaped_views_of_inputs_and_outputs_are_the_same_allocation():
    from autocomp.evaluate.trace_check import check_trace

    trace, job = _muladd_trace()
    t = next(t for t in trace.tensors.values() if t.kind == "input")
    view = type(t)(500, t.name, t.buffer, (128, 256), t.dtype, t.itemsize, t.partitions, t.bytes_per_partition,
                   kind="input")
    trace.tensors[500] = view
    check_trace(trace, **job)  # a reshape of an input is fine ...
    view.name = "smuggled"
    with pytest.raises(ValueError, match="input tensor 'smuggled'"):
        check_trace(trace, **job)  # ... an input the job never passed is not


# --------------------------------------------------------------------------- warnings and patches
def test_warnings_are_bookkeeping_not_patches_but_swapped_backend_methods_are():
    import warnings

    from autocomp.evaluate import tamper
    from autocomp.nki import storage

    class Backend:
        def __init__(self):
            self._kept = {}

        def record(self):
            return "real"

    backend = Backend()
    before = tamper.snapshot({"backend": backend})
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        warnings.warn_explicit("spill", UserWarning, "kernel.py", 3, module="autocomp.nki.storage",
                               registry=storage.__dict__.setdefault("__warningregistry__", {}))
    backend._kept["check"] = object()  # state kept in a container made up front is not a patch
    assert tamper.changes(before, {"backend": backend}) == []
    backend.record = lambda: "forged"
    assert tamper.changes(before, {"backend": backend}) == ["<backend>.record"]


def test_the_worker_reports_each_warning_once_in_one_short_line(tmp_path):
    from autocomp.evaluate.protocol import MAX_WARNINGS
    from autocomp.evaluate.worker import WarningLog

    kernel = tmp_path / "work" / "kernel.py"
    log = WarningLog(kernel, "cand.py")
    for _ in range(3):
        log(f"{kernel}:7: [warn_sbuf_spill] live SBUF\ntiles", UserWarning, str(kernel), 7)
    log("invalid value encountered in divide", RuntimeWarning, "/numpy/core/x.py", 10)
    assert log.lines == ["cand.py:7: UserWarning: cand.py:7: [warn_sbuf_spill] live SBUF tiles",
                         "RuntimeWarning: invalid value encountered in divide"]
    for i in range(2 * MAX_WARNINGS):
        log(f"warning {i}", UserWarning, "x.py", i)
    assert len(log.lines) == MAX_WARNINGS and log.dropped == MAX_WARNINGS + 2


# --------------------------------------------------------------------------- trusted measuring processes
def _request(artifacts):
    """A timing request for a job whose worker left nothing in ``artifacts``."""
    from autocomp.evaluate.protocol import InputSpec, Job, TimingRequest

    job = Job(nonce="n", backend="sim", target="trn1", dialect="v1", function="muladd", kernel_file="kernel.py",
              seeds=[0], inputs={},
              input_hashes={}, output_dir=str(artifacts), work_dir=str(artifacts), memory_mb=1024, cpu_s=10,
              file_size_mb=64)
    spec = InputSpec(dtype="float32", shape=[256, 128])
    return TimingRequest(job=job, artifacts=str(artifacts), kernel_path=str(artifacts / "kernel.py"), kernel_lines=10,
                         inputs=[spec, spec], outputs=[spec])


def test_a_measuring_process_answers_with_the_same_refusals_and_is_replaced_when_it_dies(tmp_path):
    from autocomp.evaluate.backends import SimBackend
    from autocomp.evaluate.measurer import MeasurerError, MeasurerPool
    from autocomp.evaluate.trace_check import TraceRejected

    pool = MeasurerPool(SimBackend(), processes=1)
    request = _request(tmp_path)  # no trace file in it
    with pytest.raises(TraceRejected, match="trace-check.npz: missing or not a regular file"):
        pool(request)
    server = pool._idle.queue[0]
    server.proc.kill()
    server.proc.wait()
    with pytest.raises(MeasurerError, match="ended without an answer"):
        pool(request)
    with pytest.raises(TraceRejected):
        pool(request)  # a fresh process took its place
    fresh = pool._idle.queue[0].proc
    assert fresh.pid != server.proc.pid
    pool.close()
    assert fresh.wait(timeout=30) == 0  # it leaves when its stdin closes


def test_the_measuring_server_reports_failures_as_data():
    import io
    import json

    from autocomp.evaluate.measurer import serve

    out = io.StringIO()
    serve(io.StringIO('not json\n{"backend": "nope", "options": {}, "request": {}}\n'), out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [list(a) for a in answers] == [["error"], ["error"]]
    assert "unknown backend 'nope'" in answers[1]["error"]
