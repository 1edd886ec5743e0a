"""The knob tuner as a beam-search proposer: a pattern search over knob configurations.

Each iteration, for every beam member, in this order:
1. *pattern moves*: the knobs whose single changes already beat this kernel,
   all changed together and then stepped once more in the same direction
   (Hooke-Jeeves); optima of tile and block sizes usually lie that way;
2. *combinations*: those improving changes applied together;
3. *momentum*: one more step along the move that produced this kernel;
4. every unseen one-step neighbour.
Up to ``knob_batch`` configurations are evaluated in that order. Kernels that
differ only in knob values form a *family*; the tuner's memory of what was
tried is per family, so knobs of an LLM-written kernel are tuned from scratch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future

from autocomp.knobs import (
    Config,
    KnobError,
    KnobHistory,
    KnobSpace,
    crossovers,
    describe_config,
    knob_space,
    neighbours,
    random_configs,
    rewrite_constants,
)
from autocomp.search.node import KNOB, Node
from autocomp.search.prompts import stable_rng
from autocomp.search.session import Session
from autocomp.sources import source_hash

NOTHING_TO_TUNE = ("nothing to tune: problem.toml declares no [knobs] and no constant of the kernel is provably a "
                   "tile size (see autocomp/knob_rules.py); declare knobs in problem.toml, e.g. "
                   "[knobs] TILE_N = [128, 256, 512]")


class KnobTuner:
    """Proposer that rewrites module-level constants; never calls an LLM."""

    name = "knobs"

    def __init__(self, declared: Mapping[str, Sequence] | None, *, batch: int = 8, seed: int = 0,
                 restarts: int = 2, constraints: Sequence = ()):
        self.declared = dict(declared or {})
        self.constraints = tuple(constraints)
        self.batch = batch
        self.seed = seed
        self.restarts = restarts
        self._exhausted: str | None = None
        self._spaces: dict[str, tuple[KnobSpace, str]] = {}

    @property
    def exhausted(self) -> str | None:
        return self._exhausted

    # ------------------------------------------------------------------ families
    def space_of(self, node: Node) -> tuple[KnobSpace, str]:
        """The knob space of a kernel and its family key (its source with every knob blanked)."""
        cached = self._spaces.get(node.source_hash)
        if cached is None:
            space = knob_space(node.source, self.declared, self.constraints)
            try:
                family = source_hash(rewrite_constants(node.source, {n: 0 for n in space.names}))
            except KnobError:
                family = node.source_hash
            cached = self._spaces[node.source_hash] = (space, family)
        return cached

    def family_history(self, family: str, session: Session, *,
                       before: int | None = None) -> tuple[KnobHistory, dict[tuple, Node]]:
        """What the family's members did, from iterations before ``before`` only (None: all of them).

        Proposals for iteration ``t`` must not see candidates of ``t`` itself: a resumed run has some
        of them already, an uninterrupted one had none when it proposed.
        """
        history, members = KnobHistory(), {}
        for node in sorted(session.all_nodes(), key=lambda n: n.id):
            if before is not None and node.iteration >= before:
                continue
            space, fam = self.space_of(node)
            if fam != family or not node.evaluated:
                continue
            key = KnobHistory.key(space.current)
            members.setdefault(key, node)
            history.record(space.current, node.latency_us, moved=node.meta.get("moved") or ())
        return history, members

    # ------------------------------------------------------------------ proposing
    def propose(self, iteration: int, beam: Sequence[Node], session: Session) -> list[tuple[Node, Config, list[str],
                                                                                           str]]:
        """Ordered ``(parent, configuration, knobs moved, kind)`` proposals for this iteration."""
        tiers: dict[str, list] = {"pattern": [], "combination": [], "momentum": [], "neighbour": []}
        queued: set[tuple] = set()

        def add(kind: str, parent: Node, cfg: Config | None, moved: list[str], history: KnobHistory,
                family: str) -> None:
            if cfg is None or history.seen(cfg) or not self.space_of(parent)[0].admits(cfg):
                return
            key = (family, KnobHistory.key(cfg))
            if key in queued:
                return
            queued.add(key)
            tiers[kind].append((parent, cfg, moved, kind))

        for parent in beam:
            space, family = self.space_of(parent)
            if not space:
                continue
            history, members = self.family_history(family, session, before=iteration)
            here = space.current
            if not any(not history.frozen(k) for k in space.knobs):
                continue
            better = self._improving_moves(space, here, parent, history, members)
            if better:
                combined = self._apply(space, here, better, scale=1)
                pattern = self._apply(space, here, better, scale=2)
                add("pattern", parent, pattern, list(better), history, family)
                if len(better) > 1:
                    add("combination", parent, combined, list(better), history, family)
                for cfg, moved in crossovers(space, [combined, pattern], history):
                    add("combination", parent, cfg, moved, history, family)
            came_by = self._arrival(space, parent, session)
            if came_by:
                add("momentum", parent, self._apply(space, here, came_by, scale=1), list(came_by), history, family)
            for cfg, moved in neighbours(space, here, history, came_by=came_by):
                add("neighbour", parent, cfg, moved, history, family)
        ordered = [p for tier in tiers.values() for p in tier]
        if not ordered and beam:
            ordered = self._restarts(iteration, beam[0], session)
        return ordered[: self.batch]

    def _improving_moves(self, space: KnobSpace, here: Config, parent: Node, history: KnobHistory,
                         members: dict[tuple, Node]) -> dict[str, int]:
        """knob -> index step of the best single-knob change known to beat ``parent``."""
        if parent.latency_us is None:
            return {}
        best: dict[str, tuple[float, int]] = {}
        for key, latency in history.results.items():
            if latency is None or latency >= parent.latency_us:
                continue
            cfg = self.space_of(members[key])[0].current
            diff = [n for n in space.names if repr(cfg.get(n)) != repr(here.get(n))]
            if len(diff) != 1:
                continue
            knob = space.knob(diff[0])
            i, j = knob.index(here[diff[0]]), knob.index(cfg[diff[0]])
            if i is None or j is None:
                continue
            if diff[0] not in best or latency < best[diff[0]][0]:
                best[diff[0]] = (latency, j - i)
        return {name: step for name, (_, step) in best.items()}

    @staticmethod
    def _apply(space: KnobSpace, here: Config, steps: Mapping[str, int], *, scale: int) -> Config | None:
        cfg = dict(here)
        for name, step in steps.items():
            knob = space.knob(name)
            i = knob.index(here[name])
            if i is None:
                return None
            cfg[name] = knob.values[max(0, min(len(knob.values) - 1, i + scale * step))]
        return cfg

    def _arrival(self, space: KnobSpace, node: Node, session: Session) -> dict[str, int]:
        """The index steps that turned ``node``'s parent into it, when that made it faster."""
        parent = session.nodes.get(node.parent_id) if node.parent_id is not None else None
        if parent is None or node.origin != KNOB or not (node.correct and parent.correct):
            return {}
        if node.latency_us >= parent.latency_us:
            return {}
        before = self.space_of(parent)[0].current
        steps = {}
        for name in space.names:
            if name not in before:
                continue
            knob = space.knob(name)
            i, j = knob.index(before[name]), knob.index(space.current[name])
            if i is not None and j is not None and i != j:
                steps[name] = 1 if j > i else -1
        return steps

    def _restarts(self, iteration: int, best: Node, session: Session) -> list:
        space, family = self.space_of(best)
        if not space or not self.restarts:
            return []
        history, _ = self.family_history(family, session, before=iteration)
        rng = stable_rng(self.seed, "knob-restart", iteration, family)
        return [(best, cfg, list(cfg), "restart") for cfg in random_configs(space, history, rng, self.restarts)]

    # ------------------------------------------------------------------ expanding
    def expand(self, iteration: int, beam: Sequence[Node], session: Session) -> None:
        proposals = self.decide(iteration, beam, session)
        if not proposals:
            if not any(self.space_of(node)[0] for node in beam):
                self._exhausted = NOTHING_TO_TUNE
            else:
                self._exhausted = "every knob configuration near the beam has been tried"
            return
        futures: list[Future] = []
        for slot, parent, cfg, kind in proposals:
            space, _family = self.space_of(parent)
            try:
                source = rewrite_constants(parent.source, cfg)
            except KnobError:
                continue
            changed = {k: v for k, v in cfg.items() if repr(space.current.get(k)) != repr(v)}
            plan = f"knobs: {describe_config(changed)} ({kind} move from #{parent.id})"
            futures.append(session.submit(
                source, origin=KNOB, iteration=iteration, parent=parent, plan=plan, slot=slot,
                meta={"knobs": cfg, "moved": list(changed), "kind": kind, "beam_parent": parent.source_hash}))
        for fut in futures:
            fut.result()

    def decide(self, iteration: int, beam: Sequence[Node], session: Session) -> list[tuple[str, Node, Config, str]]:
        """``(slot, parent, configuration, kind)`` to evaluate this iteration: the recorded ones when the
        iteration was decided before (resume), else :meth:`propose`'s, recorded before any is evaluated."""
        key = f"{iteration}:knobs"
        recorded = session.decisions.recall(key)
        if recorded is not None:
            out = []
            for slot in recorded["slots"]:
                entry = session.decisions.recall(slot)
                if entry is not None and entry["parent"] in session.nodes:
                    out.append((slot, session.node(entry["parent"]), dict(entry["config"]), entry["kind"]))
            return out
        out = []
        for parent, cfg, _moved, kind in self.propose(iteration, beam, session):
            out.append((f"{iteration}:knob:{self.space_of(parent)[1]}:{describe_config(cfg)}", parent, cfg, kind))
        if out:
            entries = [(slot, "knob", {"parent": parent.id, "config": cfg, "kind": kind}, parent.id)
                       for slot, parent, cfg, kind in out]
            session.decisions.record_many(iteration, [(key, "knob_batch", {"slots": [e[0] for e in entries]}, None),
                                                      *entries])
        return out
