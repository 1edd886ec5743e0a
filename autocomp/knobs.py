"""Knob spaces: a kernel's tunable module-level constants, and rewriting a configuration into its source.

Used by the knob tuner (``autocomp.search.knob_tuner``) and by the evaluator, which trusts a baseline whose
only change is a knob setting from its own space (``autocomp.evaluate.trust``).

A *knob* is a module-level ``NAME = literal`` of kernel.py. The problem declares
them with their allowed values in ``[knobs]`` (and optional ``constraints``); when it
declares none, the ALL_CAPS integer constants that provably are tile sizes, not shapes
(the rule is in ``autocomp.knob_rules``), are knobs whose values are powers of two and
divisors near their current value. A configuration is rewritten into the source by
replacing only the literal (comments and layout elsewhere stay as they were);
a configuration the kernel cannot run with is simply rejected by the evaluator.
"""

from __future__ import annotations

import ast
import itertools
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autocomp.knob_rules import Constraint, shape_tied, tile_like_name
from autocomp.problem import module_constants
from autocomp.pyparse import parse_python

KnobValue = int | float | str | bool
Config = dict[str, KnobValue]

# Names that usually mean "a size you may change"; tried before other constants.
_TUNABLE_NAME = re.compile(r"TILE|BLOCK|CHUNK|UNROLL|BUF|GROUP|SIZE|STAGE|SPLIT|FACTOR|NUM_|_N$|_M$|_K$")
_ALL_CAPS = re.compile(r"^[A-Z][A-Z0-9_]*$")
# How many values each side of the current one an inferred knob gets.
_INFERRED_SPAN = 3


class KnobError(ValueError):
    """A knob that cannot be read or rewritten; the message names it and says why."""


@dataclass(frozen=True)
class Knob:
    """One tunable constant and its allowed values, in the order neighbours are taken."""

    name: str
    values: tuple[KnobValue, ...]
    declared: bool = True

    def index(self, value: KnobValue) -> int | None:
        for i, v in enumerate(self.values):
            if type(v) is type(value) and v == value:
                return i
        return None


@dataclass
class KnobSpace:
    """The knobs of one kernel source and its current configuration."""

    knobs: list[Knob]
    current: Config = field(default_factory=dict)
    constraints: tuple[Constraint, ...] = ()

    @property
    def names(self) -> list[str]:
        return [k.name for k in self.knobs]

    @property
    def size(self) -> int:
        """Number of configurations (product of the value counts)."""
        n = 1
        for k in self.knobs:
            n *= len(k.values)
        return n

    def __bool__(self) -> bool:
        return bool(self.knobs)

    def knob(self, name: str) -> Knob:
        for k in self.knobs:
            if k.name == name:
                return k
        raise KeyError(name)

    def admits(self, config: Mapping[str, KnobValue]) -> bool:
        """Whether ``config`` satisfies every ``[knobs]`` constraint (always, without constraints)."""
        return all(c.holds(config) for c in self.constraints)

    def configurations(self) -> Iterable[Config]:
        """Every configuration the constraints admit, for exhaustive enumeration (benchmarks)."""
        for combo in itertools.product(*[k.values for k in self.knobs]):
            config = dict(zip(self.names, combo))
            if self.admits(config):
                yield config


# --------------------------------------------------------------------------- reading and rewriting
def _module_assignments(tree: ast.Module) -> dict[str, ast.Assign]:
    out: dict[str, ast.Assign] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = node
    return out


def read_constants(source: str) -> dict[str, Any]:
    """Module-level ``NAME = literal`` values of ``source`` ({} if it does not parse)."""
    try:
        return module_constants(parse_python(source))
    except SyntaxError:
        return {}


def _offsets(source: str) -> list[int]:
    starts, pos = [], 0
    for line in source.splitlines(keepends=True):
        starts.append(pos)
        pos += len(line)
    starts.append(pos)
    return starts


def _literal(value: KnobValue) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e16:
        return repr(value)
    return repr(value)


def rewrite_constants(source: str, values: Mapping[str, KnobValue]) -> str:
    """``source`` with the module-level constants in ``values`` set to new literals.

    Only the right-hand side literal changes; comments, spacing and every other
    line stay byte-for-byte. Raises :class:`KnobError` for a name that is not a
    module-level ``NAME = literal`` assignment.
    """
    if not values:
        return source
    try:
        tree = parse_python(source)
    except SyntaxError as e:
        raise KnobError(f"cannot rewrite knobs: the kernel does not parse (line {e.lineno}: {e.msg})") from None
    assigns = _module_assignments(tree)
    line_starts = _offsets(source)
    edits: list[tuple[int, int, str]] = []
    for name, value in values.items():
        node = assigns.get(name)
        if node is None:
            raise KnobError(f"knob {name!r} is not a module-level `{name} = ...` assignment of the kernel")
        try:
            ast.literal_eval(node.value)
        except (ValueError, SyntaxError):
            raise KnobError(f"knob {name!r} is assigned an expression, not a literal (line {node.lineno}); "
                            f"write it as `{name} = <number>`") from None
        v = node.value
        start = line_starts[v.lineno - 1] + _char_col(source, line_starts[v.lineno - 1], v.col_offset)
        end = line_starts[v.end_lineno - 1] + _char_col(source, line_starts[v.end_lineno - 1], v.end_col_offset)
        edits.append((start, end, _literal(value)))
    out = source
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    return out


def _char_col(source: str, line_start: int, byte_col: int) -> int:
    """ast columns count UTF-8 bytes; convert to a character offset within the line."""
    line_end = source.find("\n", line_start)
    line = source[line_start:] if line_end < 0 else source[line_start:line_end]
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


# --------------------------------------------------------------------------- the space
def _inferred_values(current: int) -> tuple[int, ...]:
    """Powers of two and divisors of ``current`` within 4x of it, at most 3 each side."""
    if current <= 0:
        return (current,)
    cands = {current}
    p = 1
    while p <= current * 4:
        if p * 4 >= current:
            cands.add(p)
        p *= 2
    cands.update(d for d in range(max(1, current // 4), current) if current % d == 0)
    ordered = sorted(cands)
    i = ordered.index(current)
    return tuple(ordered[max(0, i - _INFERRED_SPAN): i + _INFERRED_SPAN + 1])


def knob_space(source: str, declared: Mapping[str, Sequence[KnobValue]] | None = None,
               constraints: Sequence[Constraint] = ()) -> KnobSpace:
    """The knobs of ``source``: the declared ones that it still defines, else its inferred tile sizes.

    A declared knob whose current value is not among the allowed ones gets it
    added in front, so the current configuration is always a point of the space.
    """
    consts = read_constants(source)
    knobs: list[Knob] = []
    current: Config = {}
    declared = dict(declared or {})
    for name, values in declared.items():
        if name not in consts:
            continue
        vals = tuple(values)
        cur = consts[name]
        if not isinstance(cur, (int, float, str, bool)):
            continue
        if Knob(name, vals).index(cur) is None:
            vals = _insert_sorted(vals, cur)
        knobs.append(Knob(name, vals, declared=True))
        current[name] = cur
    constraints = tuple(constraints)
    if knobs or declared and any(n in consts for n in declared):
        return KnobSpace(knobs, current, constraints)
    inferred = []
    candidates = {name for name, value in consts.items()
                  if _ALL_CAPS.match(name) and type(value) is int and value > 0 and tile_like_name(name)}
    tied = shape_tied(parse_python(source), candidates) if candidates else set()
    for name, value in consts.items():
        if name in candidates and name not in tied:
            vals = _inferred_values(value)
            if len(vals) > 1:
                inferred.append(Knob(name, vals, declared=False))
                current[name] = value
    # Likely tile/block sizes first: their neighbours are proposed first.
    inferred.sort(key=lambda k: not _TUNABLE_NAME.search(k.name))
    return KnobSpace(inferred, current, constraints)


def _insert_sorted(values: tuple[KnobValue, ...], value: KnobValue) -> tuple[KnobValue, ...]:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (*values, value)):
        return tuple(sorted((*values, value)))
    return (value, *values)


# --------------------------------------------------------------------------- proposing configurations
@dataclass
class KnobHistory:
    """What the tuner knows: latency (None = failed) of every configuration it has evaluated."""

    results: dict[tuple, float | None] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # knob -> failed single moves
    successes: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def key(config: Mapping[str, KnobValue]) -> tuple:
        return tuple(sorted((k, repr(v)) for k, v in config.items()))

    def seen(self, config: Mapping[str, KnobValue]) -> bool:
        return self.key(config) in self.results

    def record(self, config: Mapping[str, KnobValue], latency: float | None, moved: Sequence[str] = ()) -> None:
        self.results[self.key(config)] = latency
        for name in moved:
            table = self.successes if latency is not None else self.failures
            table[name] = table.get(name, 0) + 1

    def frozen(self, knob: Knob) -> bool:
        """An inferred constant that broke the kernel twice and never worked is not a tuning knob."""
        return not knob.declared and self.failures.get(knob.name, 0) >= 2 and not self.successes.get(knob.name)


def _step(space: KnobSpace, config: Config, name: str, delta: int) -> Config | None:
    knob = space.knob(name)
    i = knob.index(config[name])
    if i is None or not 0 <= i + delta < len(knob.values):
        return None
    return {**config, name: knob.values[i + delta]}


def neighbours(space: KnobSpace, parent: Config, history: KnobHistory, *, came_by: Mapping[str, int] | None = None,
               limit: int | None = None) -> list[tuple[Config, list[str]]]:
    """Unseen configurations one step from ``parent``, most promising first, with the knobs moved.

    A knob the parent was reached by moving keeps its direction first (momentum);
    then every other knob's neighbours in declared order.
    """
    came_by = dict(came_by or {})
    out: list[tuple[Config, list[str]]] = []
    keys: set[tuple] = set()

    def add(cfg: Config | None, moved: list[str]) -> None:
        if cfg is None or history.seen(cfg) or KnobHistory.key(cfg) in keys or not space.admits(cfg):
            return
        keys.add(KnobHistory.key(cfg))
        out.append((cfg, moved))

    live = [k for k in space.knobs if not history.frozen(k)]
    for k in live:
        if k.name in came_by:
            add(_step(space, parent, k.name, came_by[k.name]), [k.name])
    for k in live:
        for delta in (1, -1):
            add(_step(space, parent, k.name, delta), [k.name])
    return out[:limit] if limit else out


def crossovers(space: KnobSpace, configs: Sequence[Config], history: KnobHistory) -> list[tuple[Config, list[str]]]:
    """Unseen mixes of good configurations: where two differ, take each knob from either.

    Two single-knob improvements of one parent combine into the configuration
    with both, which is usually the next step a coordinate search would take.
    """
    out: list[tuple[Config, list[str]]] = []
    keys: set[tuple] = set()
    for a, b in itertools.combinations(configs, 2):
        diff = [n for n in space.names if repr(a.get(n)) != repr(b.get(n))]
        if not diff or len(diff) > 4:
            continue
        for mask in itertools.product((0, 1), repeat=len(diff)):
            cfg = {**a, **{n: (b[n] if m else a[n]) for n, m in zip(diff, mask)}}
            key = KnobHistory.key(cfg)
            if history.seen(cfg) or key in keys or not space.admits(cfg):
                continue
            keys.add(key)
            out.append((cfg, [n for n, m in zip(diff, mask) if m]))
    return out


def random_configs(space: KnobSpace, history: KnobHistory, rng: random.Random, count: int) -> list[Config]:
    """Up to ``count`` unseen configurations drawn uniformly (restarts when the local search stalls)."""
    out: list[Config] = []
    keys: set[tuple] = set()
    for _ in range(count * 20):
        if len(out) >= count:
            break
        cfg = {k.name: rng.choice(k.values) for k in space.knobs}
        key = KnobHistory.key(cfg)
        if not history.seen(cfg) and key not in keys and space.admits(cfg):
            keys.add(key)
            out.append(cfg)
    return out


def describe_config(config: Mapping[str, KnobValue]) -> str:
    """``TILE_N=256 BLOCK_M=2`` for plans, logs and tables."""
    return " ".join(f"{k}={v!r}" for k, v in config.items())


def changed(before: Mapping[str, KnobValue], after: Mapping[str, KnobValue]) -> dict[str, KnobValue]:
    return {k: v for k, v in after.items() if repr(before.get(k)) != repr(v)}
