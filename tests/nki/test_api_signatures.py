"""Every function the Neuron SDK documents exists in the simulator with its documented signature.

The documented API (names, parameter names, kinds, order, defaults) is recorded from the
SDK's stub files by ``benchmarks/nki_signatures.py`` into ``tests/nki/data/``; the
comparison rules are in ``tests/fakes/api_signatures.py``. A difference fails unless ``EXCEPTIONS``
names it with the reason the simulator cannot offer it; an exception that no longer
applies fails too, so the list only shrinks. Run ``python -m tests.fakes.api_signatures``
for the coverage table and every difference.
"""

from __future__ import annotations

import pytest

from tests.fakes.api_signatures import check, coverage, load

_COLLECTIVES = ("the docs define each collective over a ReplicaGroup of ranks, separate devices of a distributed job "
                "that each run the kernel on their own inputs and block until their peers send; a problem here is one "
                "kernel run on one set of inputs, so the peers' data does not exist (the two cores of kernel[2] "
                "synchronise with nisa.core_barrier and nisa.sendrecv, which are simulated)")

_FRAMEWORK_METHOD = "undocumented method of the framework integration class (see FrameworkKernel)"

# key -> why the simulator does not offer it as documented.
EXCEPTIONS = {
    "v1": {
        "neuronxcc.nki.FrameworkKernel": "undocumented class of the framework (torch/jax) integration; the simulator "
                                         "runs kernels on numpy arrays without a framework",
        "neuronxcc.nki.FrameworkKernel.dump_config": _FRAMEWORK_METHOD,
        "neuronxcc.nki.FrameworkKernel.is_framework_tensor": _FRAMEWORK_METHOD,
        "neuronxcc.nki.FrameworkKernel.map_framework_tensor": _FRAMEWORK_METHOD,
        "neuronxcc.nki.FrameworkKernel.translate_to_neuron_dtype": _FRAMEWORK_METHOD,
        "neuronxcc.nki.isa.builtin_custom_op": "undocumented: runs a compiled custom-operator library (lib_file_name) "
                                               "on the device, which a simulator cannot load",
        "neuronxcc.nki.isa.dma_engine": "undocumented constant whose value the stubs do not give",
        "neuronxcc.nki.language.gemm_grid": "undocumented; the stubs give neither its result nor its use",
        "neuronxcc.nki.language.gemm_stationary_grid": "undocumented; the stubs give neither its result nor its use",
    },
    "v2": {
        **{f"nki.collectives.{name}": _COLLECTIVES for name in (
            "all_reduce", "all_gather", "all_gather_v", "reduce_scatter", "all_to_all", "all_to_all_v",
            "collective_permute", "collective_permute_implicit", "collective_permute_implicit_reduce",
            "collective_permute_implicit_current_processing_rank_id", "rank_id")},
        "nki.language.DType": "undocumented type alias for annotations (str in the stubs), not a value kernels use",
        "nki.language.average": "undocumented constant whose value and use the stubs do not give",
    },
}


def _failures(dialect: str) -> list[str]:
    found = check(dialect)
    known = EXCEPTIONS[dialect]
    bad = [f"{f.key}: {'; '.join(f.problems)}" for f in found if not f.matches and f.key not in known]
    stale = [f"{f.key}: listed as an exception but now matches the docs; remove it from EXCEPTIONS"
             for f in found if f.matches and f.key in known]
    unknown = sorted(set(known) - {f.key for f in found})
    return bad + stale + [f"{k}: in EXCEPTIONS but not in the recorded API" for k in unknown]


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_every_documented_function_has_its_documented_signature(dialect):
    failures = _failures(dialect)
    assert not failures, f"{dialect} ({coverage(check(dialect))}):\n" + "\n".join(failures)


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_exceptions_give_a_reason(dialect):
    assert all(len(reason.split()) >= 4 for reason in EXCEPTIONS[dialect].values())


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_recorded_api_names_its_source(dialect):
    data = load(dialect)
    assert data["dialect"] == dialect
    assert len(data["source"]["commit"]) == 40
    assert sum(len(m["functions"]) for m in data["modules"].values()) > 100


def test_the_comparison_catches_each_kind_of_difference():
    from tests.fakes.api_signatures import compare

    documented = [{"name": "x", "kind": "POSITIONAL_OR_KEYWORD"},
                  {"name": "dtype", "kind": "POSITIONAL_OR_KEYWORD", "default": {"value": None}}]

    def ok(x, dtype=None, *, extra=1):
        pass

    def keyword_only(x, *, dtype=None):
        pass

    def renamed(data, dtype=None):
        pass

    def other_default(x, dtype=1):
        pass

    def swallows(x, dtype=None, **kwargs):
        pass

    assert compare(ok, documented, {}) == []
    assert compare(keyword_only, documented, {})
    assert compare(renamed, documented, {})
    assert compare(other_default, documented, {})
    assert compare(swallows, documented, {})
