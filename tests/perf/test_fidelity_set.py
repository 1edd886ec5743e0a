"""The public fidelity set (benchmarks/fidelity/*.toml) and the scoring of benchmarks/fidelity.py.

The data files must load and be consistent; the statistics (Spearman within chains, pooled
Spearman, median absolute % error, geometric-mean ratio) are checked on hand-computed synthetic
data; one end-to-end run reads a tiny kernel from a local git repository made here, so nothing
needs the network or the real checkouts.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("fidelity_benchmark", REPO / "benchmarks" / "fidelity.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    return module


fid = _load_benchmark()


def _raw(**overrides) -> dict:
    raw = {"id": "x.a", "checkout": "repo", "repository": "https://example.invalid/repo", "path": "k/kernel.py",
           "commit": "a" * 40, "function": "kern", "target": "trn1", "kind": "measured", "statistic": "p50",
           "published_us": 100.0, "published_in": "docs/page.rst", "published_commit": "b" * 40,
           "where": "table 1, row a", "chain": "c1", "inputs": ["x=128x512:float32"]}
    raw.update(overrides)
    return raw


def _entry(**overrides):
    return fid.make_entry(_raw(**overrides), "synthetic.toml")


# --------------------------------------------------------------------------- the data files

def test_every_data_file_loads_with_unique_ids():
    entries = fid.load_entries()
    assert len({e.id for e in entries}) == len(entries)
    measured = [e for e in entries if e.kind == "measured"]
    assert len(measured) >= 26, f"the SDK tutorials alone publish 26 latencies, found {len(measured)}"
    assert {e.target for e in measured} == {"trn1"}


def test_every_measured_chain_can_be_ranked_and_stays_on_one_target():
    chains: dict[str, list] = {}
    for e in fid.load_entries():
        if e.kind == "measured":
            for c in e.chains:
                chains.setdefault(c, []).append(e)
    for name, members in chains.items():
        assert len(members) >= 2, f"chain {name} has one entry: nothing to rank"
        assert len({m.target for m in members}) == 1, f"chain {name} mixes targets"
        assert len({m.published_us for m in members}) > 1, f"chain {name}: all published latencies equal"


def test_every_entry_names_its_source_and_shapes():
    from autocomp.nki.shapes import parse_shape_spec

    for e in fid.load_entries():
        assert e.path.endswith(".py"), e.id
        assert e.function.isidentifier(), e.id
        assert e.inputs, f"{e.id}: no input shapes"
        names = [parse_shape_spec(t)[0] for t in e.inputs] + list(e.scalars) + list(e.none_args)
        assert len(names) == len(set(names)), e.id
        assert e.statistic in ("p1", "p50", "p99", "profile"), f"{e.id}: statistic {e.statistic!r}"


def test_matmul_tutorial_ladder_is_recorded_as_published():
    matmul = {e.function: e.published_us for e in fid.load_entries() if "sdk-matmul-tutorial" in e.chains}
    assert matmul == {"nki_matmul_tiled_": 51800.0, "nki_matmul_hoist_load_": 42960.0,
                      "nki_matmul_block_free_dimension_": 22070.0, "nki_matmul_fully_optimized_": 6970.0}


# --------------------------------------------------------------------------- validation errors

@pytest.mark.parametrize("overrides, words", [
    ({"commit": "abc123"}, ["commit", "40-digit"]),
    ({"target": "trn9"}, ["trn9", "trn1"]),
    ({"kind": "guess"}, ["kind", "measured"]),
    ({"published_us": -3}, ["published_us", "positive"]),
    ({"inputs": ["x=12y4"]}, ["bad shape spec", "x=12y4"]),
    ({"grid": [0]}, ["grid"]),
    ({"path": "../escape.py"}, ["relative"]),
    ({"colour": "red"}, ["unknown field", "colour"]),
    ({"scalars": {"x": 1}}, ["given more than once", "x"]),
])
def test_a_bad_entry_is_refused_naming_file_entry_and_field(overrides, words):
    with pytest.raises(fid.DataError) as err:
        _entry(**overrides)
    message = str(err.value)
    assert "synthetic.toml" in message and "'x.a'" in message
    for word in words:
        assert word in message, message


def test_missing_field_and_duplicate_id_across_files_are_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('checkout = "r"\n[[kernel]]\nid = "only-id"\n')
    with pytest.raises(fid.DataError, match=r"bad\.toml: kernel 'only-id': missing field\(s\) repository"):
        fid.load_entries(tmp_path)
    bad.unlink()
    body = "".join(f'{k} = {json.dumps(v)}\n' for k, v in _raw().items())
    (tmp_path / "a.toml").write_text("[[kernel]]\n" + body)
    (tmp_path / "b.toml").write_text("[[kernel]]\n" + body)
    with pytest.raises(fid.DataError, match="already used in"):
        fid.load_entries(tmp_path)


def test_file_level_keys_are_defaults_that_a_kernel_overrides(tmp_path):
    raw = _raw()
    top = {k: v for k, v in raw.items() if k not in ("id", "published_us")}
    text = "".join(f"{k} = {json.dumps(v)}\n" for k, v in top.items())
    text += '[[kernel]]\nid = "one"\npublished_us = 5.0\n[[kernel]]\nid = "two"\npublished_us = 7.0\ntarget = "trn2"\n'
    (tmp_path / "set.toml").write_text(text)
    one, two = fid.load_entries(tmp_path)
    assert (one.id, one.target, one.published_us) == ("one", "trn1", 5.0)
    assert (two.id, two.target, two.function) == ("two", "trn2", "kern")


# --------------------------------------------------------------------------- statistics

def test_ranks_share_ties():
    assert fid.ranks([30.0, 10.0, 20.0, 20.0]) == [4.0, 1.0, 2.5, 2.5]


def test_spearman_on_hand_computed_cases():
    assert fid.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert fid.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # One adjacent swap among four: 1 - 6 * 2 / (4 * 15) = 0.8
    assert fid.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    # Ties in y: ranks (1, 2.5, 2.5, 4) -> 4.5 / sqrt(5 * 4.5)
    assert fid.spearman([1, 2, 3, 4], [10, 20, 20, 30]) == pytest.approx(4.5 / math.sqrt(22.5))
    assert fid.spearman([1, 2, 3], [5, 5, 5]) is None
    assert fid.spearman([1], [2]) is None


def test_median_abs_pct_error_and_geomean_ratio():
    measured, model = [100.0, 200.0, 400.0], [150.0, 200.0, 200.0]
    assert fid.median_abs_pct_error(measured, model) == pytest.approx(50.0)
    assert fid.geomean_ratio(measured, model) == pytest.approx(0.75 ** (1 / 3))
    assert fid.geomean_ratio([10.0, 10.0], [20.0, 5.0]) == pytest.approx(1.0)  # 2x and 0.5x cancel
    assert fid.median_abs_pct_error([], []) is None


def test_score_per_target_and_chain_with_a_flat_chain_counting_as_zero():
    entries = [
        _entry(id="a1", chain="ladder", published_us=300.0), _entry(id="a2", chain="ladder", published_us=200.0),
        _entry(id="a3", chain=["ladder", "sweep"], published_us=100.0),
        _entry(id="b1", chain="sweep", published_us=400.0),
        _entry(id="c1", chain="flat", published_us=50.0), _entry(id="c2", chain="flat", published_us=500.0),
        _entry(id="gone", chain="ladder", published_us=10.0),
        _entry(id="lim", chain="limits", kind="bound", published_us=100.0),
        _entry(id="t2a", chain="other", target="trn2", published_us=10.0),
        _entry(id="t2b", chain="other", target="trn2", published_us=20.0),
    ]
    estimates = {"a1": 600.0, "a2": 400.0, "a3": 200.0, "b1": 500.0, "c1": 90.0, "c2": 90.0, "lim": 250.0,
                 "t2a": 10.0, "t2b": 20.0}
    report = fid.score(entries, estimates, {"gone": "TypeError: boom"})
    trn1 = report["trn1"]
    assert trn1["measured"] == 7 and trn1["estimated"] == 6
    assert trn1["chains"]["ladder"]["spearman"] == pytest.approx(1.0)
    assert trn1["chains"]["ladder"]["geomean_ratio"] == pytest.approx(2.0)
    assert trn1["chains"]["sweep"]["spearman"] == pytest.approx(1.0)
    assert trn1["chains"]["flat"]["flat"] and trn1["chains"]["flat"]["model_spread"] == pytest.approx(1.0)
    assert trn1["chains"]["flat"]["measured_spread"] == pytest.approx(10.0)
    assert "limits" not in trn1["chains"] and "lim" not in {f["id"] for f in trn1["failures"]}
    assert trn1["spearman_within_chains"] == pytest.approx((1.0 + 1.0 + 0.0) / 3)
    assert trn1["chains_ranked"] == 3
    xs = [300.0, 200.0, 100.0, 400.0, 50.0, 500.0]
    ys = [600.0, 400.0, 200.0, 500.0, 90.0, 90.0]
    assert trn1["pooled_spearman"] == pytest.approx(fid.spearman(xs, ys))
    assert trn1["median_abs_pct_error"] == pytest.approx(fid.median_abs_pct_error(xs, ys))
    assert trn1["bounds"] == {"n": 1, "estimated": 1, "above": 1, "worst": [{"id": "lim", "ratio": 2.5}]}
    assert trn1["failures"] == [{"id": "gone", "reason": "TypeError: boom"}]
    assert report["trn2"]["pooled_spearman"] == pytest.approx(1.0)
    assert report["trn2"]["geomean_ratio"] == pytest.approx(1.0)


def test_sweep_with_tied_model_is_ranked_not_flat():
    entries = [_entry(id="s1", chain="s", published_us=100.0), _entry(id="s2", chain="s", published_us=400.0),
               _entry(id="s3", chain="s", published_us=200.0)]
    chain = fid.score(entries, {"s1": 10.0, "s2": 30.0, "s3": 10.0}, {})["trn1"]["chains"]["s"]
    assert not chain["flat"]
    assert chain["spearman"] == pytest.approx(fid.spearman([100, 400, 200], [10, 30, 10]))


# --------------------------------------------------------------------------- end to end, offline

KERNEL = '''
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl


@nki.jit
def scale(x, factor):
    out = nl.ndarray(x.shape, dtype=x.dtype, buffer=nl.shared_hbm)
    for i in nl.affine_range(x.shape[0] // 128):
        t = nl.load(x[i * 128:(i + 1) * 128, :])
        nl.store(out[i * 128:(i + 1) * 128, :], value=nl.multiply(t, factor))
    return out
'''


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                           *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
def test_end_to_end_reads_the_pinned_commit_from_a_local_checkout(tmp_path, capsys):
    sources, data = tmp_path / "sources", tmp_path / "data"
    repo = sources / "toy"
    (repo / "kernels").mkdir(parents=True)
    data.mkdir()
    _git(repo, "init", "-q")
    (repo / "kernels" / "scale.py").write_text(KERNEL)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "kernel")
    pinned = _git(repo, "rev-parse", "HEAD")
    # A later commit breaks the file: the benchmark must still read the pinned one.
    (repo / "kernels" / "scale.py").write_text("this is not python")
    _git(repo, "commit", "-q", "-am", "break")
    common = {k: v for k, v in _raw(checkout="toy", path="kernels/scale.py", commit=pinned, function="scale",
                                     inputs=["x=512x1024:float32"], scalars={"factor": 2.0}).items()
              if k not in ("id", "published_us", "chain")}
    text = "".join(f"{k} = {json.dumps(v)}\n" for k, v in common.items() if k != "scalars")
    text += "scalars = { factor = 2.0 }\n"
    text += '[[kernel]]\nid = "toy.small"\nchain = "toy"\npublished_us = 5.0\n'
    text += '[[kernel]]\nid = "toy.missing-function"\nchain = "toy"\nfunction = "nope"\npublished_us = 9.0\n'
    text += '[[kernel]]\nid = "toy.no-checkout"\nchain = "toy"\ncheckout = "absent"\npublished_us = 7.0\n'
    (data / "toy.toml").write_text(text)

    code = fid.main(["--sources", str(sources), "--data", str(data), "--json", "--timeout", "300"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    results, trn1 = out["results"], out["report"]["trn1"]
    assert results["toy.small"]["latency_us"] > 0
    assert results["toy.small"]["instructions"] > 0
    reasons = {f["id"]: f["reason"] for f in trn1["failures"]}
    assert "no function named 'nope'" in reasons["toy.missing-function"]
    assert "no checkout" in reasons["toy.no-checkout"] and "git clone" in reasons["toy.no-checkout"]
    assert trn1["estimated"] == 1


def test_sources_directory_is_required(capsys):
    with pytest.raises(SystemExit):
        fid.main([])
    assert "--sources DIR is required" in capsys.readouterr().err
