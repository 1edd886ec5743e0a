"""Several models with weights; each call picks one, reproducibly from a seed."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence

from autocomp.llm.errors import LLMConfigError
from autocomp.llm.providers import ModelSpec, parse_model_spec


class Ensemble:
    """Weighted choice among models.

    ``choose(key)`` derives its draw from ``(seed, key)``, so a call keyed by its
    prompt gets the same model on a re-run whatever order threads run in;
    ``choose()`` without a key draws from one seeded stream instead.
    """

    def __init__(self, members: Mapping[str | ModelSpec, float] | Sequence[str | ModelSpec], *, seed: int = 0):
        pairs = list(members.items()) if isinstance(members, Mapping) else [(m, 1.0) for m in members]
        if not pairs:
            raise LLMConfigError("The model ensemble is empty; name at least one provider:model.")
        self.specs: list[ModelSpec] = [parse_model_spec(m) for m, _ in pairs]
        self.weights: list[float] = [float(w) for _, w in pairs]
        if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise LLMConfigError(f"Ensemble weights must be >= 0 with a positive sum, got {self.weights}.")
        self.seed = seed
        self._stream = random.Random(seed)
        self._lock = threading.Lock()

    @classmethod
    def single(cls, spec: str | ModelSpec) -> Ensemble:
        """An ensemble of one model."""
        return cls([spec])

    def choose(self, key: str | None = None) -> ModelSpec:
        """Pick a model, deterministically for a given ``key`` and seed."""
        if len(self.specs) == 1:
            return self.specs[0]
        if key is not None:
            return random.Random(f"{self.seed}:{key}").choices(self.specs, self.weights)[0]
        with self._lock:
            return self._stream.choices(self.specs, self.weights)[0]

    def shares(self) -> dict[str, float]:
        """Each model's probability of being picked."""
        total = sum(self.weights)
        shares: dict[str, float] = {}
        for spec, w in zip(self.specs, self.weights, strict=True):
            shares[spec.id] = shares.get(spec.id, 0.0) + w / total
        return shares

    def __repr__(self) -> str:
        return f"Ensemble({self.shares()!r}, seed={self.seed})"
