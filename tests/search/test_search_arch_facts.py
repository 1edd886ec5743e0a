"""The architecture notes quote only what the cost model charges: every number is a placeholder filled from
autocomp.perf, each filled value matches the model, engines named match the simulator, and the HBM bandwidth the
note states is the one the roofline divides by."""

from __future__ import annotations

import re

import numpy as np
import pytest

from autocomp.nki import run_kernel
from autocomp.nki.loader import load_kernel
from autocomp.nki.shapes import TensorSpec
from autocomp.perf import profile
from autocomp.perf.targets import get_target
from autocomp.search import api_digest
from autocomp.search.arch_facts import arch_facts
from autocomp.search.prompts import PromptError, PromptLibrary, render_architecture

TARGETS = ("trn1", "trn2", "trn3")
# Structural API limits the simulator enforces, not costs: partitions and K/M <= 128, matmul N <= 512,
# trn3's moving free size <= 4096 (fp32 result) / 8192 (bf16 result) (autocomp/nki/ops/matmul.py).
STRUCTURAL = {"0", "128", "512", "4096", "8192"}
# A number standing alone (not part of a name such as trn1, fp32 or load_transpose2d).
_NUMBER = re.compile(r"(?<![A-Za-z_\d.$])\d+(?:\.\d+)?")
_PLACEHOLDER = re.compile(r"\$\{\w+\}")
ENGINE_OF_BULLET = {"Tensor engine": "tensor", "Vector engine": "vector", "Scalar engine": "scalar",
                    "GpSimd engine": "gpsimd", "DMA": "dma"}


def _template(target: str) -> str:
    return (PromptLibrary().root / "architecture" / f"{target}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("target", TARGETS)
def test_the_note_has_no_hand_written_numbers(target):
    text = _PLACEHOLDER.sub("", _template(target))
    stray = sorted(set(_NUMBER.findall(text)) - STRUCTURAL)
    assert not stray, f"prompts/architecture/{target}.md states {stray} by hand: use a cost-fact placeholder"
    assert len(_PLACEHOLDER.findall(_template(target))) >= 30


@pytest.mark.parametrize("target", TARGETS)
def test_the_rendered_note_quotes_the_models_values(target):
    t = get_target(target)
    text = PromptLibrary().architecture(target)
    assert "${" not in text and "n/a" not in text
    # Recomputed here from the target data, independently of arch_facts.
    expected = {
        f"{t.pe_ghz:g} GHz", f"{t.dve_ghz:g} GHz", f"{t.act_ghz:g} GHz",
        f"about {round(2 * 128 * 128 * t.pe_ghz / 1e3)} TFLOPS",
        f"{round(2 * 128 * 128 * t.pe_ghz / 1e3 / t.fp32_matmul_factor)} TFLOPS fp32"
        if target != "trn1" else f"{round(2 * 128 * 128 * t.pe_ghz / 1e3 / 4)} TFLOPS for fp32",
        f"min(M, {t.mm_init_cycles})", f"{t.fp32_matmul_factor}x for fp32" if target != "trn1"
        else f"fp32 operands cost {t.fp32_matmul_factor}x",
        f"{t.min_ii_cycles} cycles",
        f"{round(min(16 * t.dma_engine_rate, t.cal.hbm_gbps_per_nc))} GB/s",
        f"{t.dma_engine_rate:g} bytes/ns each",
        f"{t.dma_engines}", f"{t.sbuf_bytes_per_partition // 1024} KiB",
        f"{(t.sbuf_bytes_per_partition - t.cal.sbuf_reserved_bytes) // 1024} KiB per partition usable",
        f"{t.sbuf_bytes_per_partition * 128 // 2**20} MiB", f"{t.psum_bytes_per_partition // 2048} banks",
    }
    missing = [e for e in expected if e not in text]
    assert not missing, missing


def test_the_facts_track_the_model_for_each_target():
    one, two, three = (arch_facts(t) for t in TARGETS)
    # trn1 DMA: 17 B/ns x 16 engines, narrow elements take a 4-byte lane (docs/cost-model.md).
    assert (one["hbm_gbps_per_core_fp32"], one["hbm_gbps_per_core_bf16"]) == ("272", "136")
    assert two["hbm_gbps_per_core_fp32"] == two["hbm_gbps_per_core_bf16"] == "362"  # HBM-capped: 368 > 362
    assert three["hbm_gbps_per_core_fp32"] == "528"  # DMA-capped below the 600 GB/s HBM share
    assert one["dependent_tiny_cycles"] == "264"  # the measured spacing of dependent tiny instructions
    assert (one["dve_copy_fast"], two["dve_copy_fast"], two["dve_copy_strided"], two["dve_tt_fast"]) == \
        ("1", "4", "2", "2")
    assert (two["act_copy_fast"], three["act_copy_fast"]) == ("1", "2")
    assert three["pe_tflops_mx"] == "315" and two["pe_tflops_fp8"] == "157" and one["pe_tflops_fp8"] == "92"
    changed = arch_facts(get_target("trn1").with_calibration(hbm_gbps_per_nc=200.0, dma_lane_bytes=None))
    assert changed["hbm_gbps_per_core_fp32"] == changed["hbm_gbps_per_core_bf16"] == "200"


@pytest.mark.parametrize("target", TARGETS)
def test_engines_named_in_the_note_are_the_ones_the_simulator_uses(target):
    """Calls named under an engine's bullet run on that engine per the API digest, which
    test_search_api_digest.py checks against the simulator's traces."""
    engines = {}
    for dialect in ("v1", "v2"):
        for entry in api_digest.entries(dialect)[0]:
            if entry.engines:
                engines.setdefault(entry.call.split(".", 1)[1], set()).update(entry.engines)
                engines.setdefault(entry.call, set()).update(entry.engines)
    checked = 0
    for bullet in re.split(r"\n- ", PromptLibrary().architecture(target)):
        head = next((e for label, e in ENGINE_OF_BULLET.items() if bullet.startswith(f"**{label}")), None)
        if head is None:
            continue
        for name in re.findall(r"`((?:nl\.|nisa\.)?[a-z_0-9]+)[(`]", bullet):
            if name in engines:
                assert head in engines[name], f"{target}: the note puts {name} on {head}, " \
                                              f"the simulator runs it on {sorted(engines[name])}"
                checked += 1
    assert checked >= 5


def test_a_note_with_an_unknown_fact_is_refused(tmp_path):
    path = tmp_path / "trn1.md"
    path.write_text("clock ${pe_mhz} MHz\n")
    with pytest.raises(PromptError, match=r"trn1\.md: unknown cost fact \$\{pe_mhz\}"):
        render_architecture(path, "trn1")


COPY = '''
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def copy(a):
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(a.shape[0] // 128):
        nl.store(out[i * 128:(i + 1) * 128, :], nl.load(a[i * 128:(i + 1) * 128, :]))
    return out
'''


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("dtype, fact", [(np.float32, "hbm_gbps_per_core_fp32"),
                                         ("bfloat16", "hbm_gbps_per_core_bf16")])
def test_the_roofline_divides_by_the_bandwidth_the_note_states(target, dtype, fact, tmp_path):
    path = tmp_path / "kernel.py"
    path.write_text(COPY)
    spec = TensorSpec((1024, 2048), dtype)
    trace = run_kernel(load_kernel(path, "copy", target), [spec], target=target, numerics=False,
                       dialect="v1").trace
    prof = profile(trace, target)
    assert prof.roofline.bound_by == "hbm"
    moved = 2 * 1024 * 2048 * np.dtype(spec.dtype).itemsize  # read once, written once
    stated = float(arch_facts(target)[fact])
    assert prof.roofline.ideal_hbm_ns == pytest.approx(moved / stated, rel=0.01)
    assert f"{arch_facts(target)[fact]} GB/s" in PromptLibrary().architecture(target)
