"""Shape placeholders (``nt.tensor[[4096, 512], nl.float32]``) and ``--shapes`` parsing."""

from __future__ import annotations

import re

import numpy as np

from autocomp.nki import dtypes as dt


class TensorSpec:
    """A tensor known by shape and dtype only; traced without values."""

    def __init__(self, shape, dtype=dt.float32, mutable: bool = False):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = dt.as_dtype(dtype)
        self.mutable = mutable

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def random(self, rng: np.random.Generator) -> np.ndarray:
        """Values with mixed signs, a range of magnitudes and some zeros."""
        if dt.is_float(self.dtype):
            v = rng.standard_normal(self.shape).astype(np.float32)
            v *= np.float32(2.0) ** rng.integers(-4, 4, size=self.shape).astype(np.float32)
            v[rng.random(self.shape) < 0.02] = 0
            return v.astype(self.dtype)
        if self.dtype == dt.bool_:
            return rng.random(self.shape) < 0.5
        info = np.iinfo(self.dtype)
        lo, hi = max(info.min, -100), min(info.max, 100)
        return rng.integers(lo, hi + 1, size=self.shape).astype(self.dtype)

    def __eq__(self, other) -> bool:
        return isinstance(other, TensorSpec) and self.shape == other.shape and self.dtype == other.dtype

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"tensor[{list(self.shape)}, {dt.dtype_name(self.dtype)}]"


_SPEC = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*([0-9]+(?:\s*[x,]\s*[0-9]+)*)\s*(?::\s*([A-Za-z0-9_]+))?\s*$")


def parse_shape_spec(text: str) -> tuple[str, TensorSpec]:
    """``"a=4096x512:bfloat16"`` -> ("a", TensorSpec((4096, 512), bfloat16)); dtype defaults to float32."""
    m = _SPEC.match(text)
    if not m:
        raise ValueError(f"bad shape spec {text!r}: write NAME=DIMxDIM[:dtype], e.g. a=4096x512:bfloat16")
    name, dims, dtype = m.group(1), m.group(2), m.group(3) or "float32"
    shape = tuple(int(d) for d in re.split(r"\s*[x,]\s*", dims))
    try:
        return name, TensorSpec(shape, dt.as_dtype(dtype))
    except TypeError as e:
        raise ValueError(f"bad dtype in shape spec {text!r}: {e}") from None


def parse_shape_specs(texts: list[str]) -> dict[str, TensorSpec]:
    specs: dict[str, TensorSpec] = {}
    for text in texts:
        for part in text.split(";") if ";" in text else [text]:
            if part.strip():
                name, spec = parse_shape_spec(part)
                if name in specs:
                    raise ValueError(f"shape for {name!r} given twice")
                specs[name] = spec
    return specs
