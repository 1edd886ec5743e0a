"""The gate lets kernels use the legacy NKI names deployed kernels import: ``neuronxcc.nki.language.constants``,
``neuronxcc.nki.isa.constants``, ``nl.finfo`` and the ``nki.tensor`` type; and only what those modules export."""

from __future__ import annotations

from autocomp.evaluate.gate import check_source

SOURCE = '''
import neuronxcc.nki as nki
import neuronxcc.nki.language as nl
import neuronxcc.nki.isa as nisa
from neuronxcc.nki.isa.constants import oob_mode, dge_mode
from neuronxcc.nki.language.constants import sizeinbytes
import numpy as np

MAX_F = 18200


@nki.jit
def k(a: nki.tensor, b: nki.tensor) -> nki.tensor:
    rows = MAX_F // sizeinbytes(a.dtype) // a.shape[1]
    low = nl.finfo(a.dtype).min
    out = nl.ndarray(a.shape, dtype=a.dtype, buffer=nl.shared_hbm)
    t = nl.load(a)
    nl.store(out, nl.maximum(t, low))
    assert isinstance(t, nki.tensor) and oob_mode.skip != dge_mode.none and rows > 0
    return out
'''


def test_legacy_constants_modules_finfo_and_tensor_pass():
    result = check_source(SOURCE, "k")
    assert result.ok, result.reason()


def test_only_the_constants_modules_exports_pass():
    bad = SOURCE.replace("from neuronxcc.nki.language.constants import sizeinbytes",
                         "from neuronxcc.nki.language.constants import finfo as sizeinbytes")
    result = check_source(bad, "k")
    assert not result.ok and "constants.finfo" in result.reason()
