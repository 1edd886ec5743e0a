"""Which constants may be tuned without a ``[knobs]`` table, and ``[knobs]`` constraint expressions.

**Inference rule** (conservative: a constant that only *might* be a tile size is left alone, because
changing a shape constant just produces failing candidates). Without declared knobs, a module-level
``NAME = <positive int>`` of kernel.py is a knob only when

1. its name says it is a tiling choice: one of its ``_``-separated words is TILE, BLOCK, CHUNK, UNROLL,
   SPLIT, STAGE, BUF or BUFFER (optionally plural), e.g. ``TILE_N``, ``BLOCK_M``, ``NUM_BUFS``;
   ``P``, ``HEAD_DIM``, ``D_MODEL``, ``GROUP`` are never inferred; and
2. nothing ties its value to a shape: neither it nor any local name computed from it appears in an
   equality test (``==``, ``!=``, ``is``, ``in``: ``cos.shape == (T, HEAD_DIM // 2)``; the operands of a
   ``%`` are exempt, since ``C % TILE_N == 0`` tests divisibility), in a
   ``reshape`` argument, or in the shape of an HBM tensor (``nl.ndarray(..., buffer=nl.shared_hbm)``:
   the output shape). Divisibility asserts (``C % TILE_N == 0``), loop steps, trip counts and
   on-chip tile shapes are fine: they are what a tile size is for.

Declared ``[knobs]`` are never filtered. **Constraints** (``constraints = ["TILE_N * BLOCK_N <= 2048"]``
in ``[knobs]``) are parsed with ``ast`` and may use only knob names, numbers, arithmetic, comparisons and
and/or/not; a configuration is tried only when every constraint holds.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass

from autocomp.pyparse import parse_python

_TILE_WORD = re.compile(r"^(TILE|BLOCK|CHUNK|UNROLL|SPLIT|STAGE|BUF|BUFFER)S?$")


def tile_like_name(name: str) -> bool:
    return any(_TILE_WORD.match(word) for word in name.split("_"))


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _names_outside_modulo(node: ast.AST) -> set[str]:
    """Names of ``node`` except inside ``a % b``: ``C % TILE_N == 0`` tests divisibility, not a shape."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return set()
    if isinstance(node, ast.Name):
        return {node.id}
    return set().union(*(_names_outside_modulo(child) for child in ast.iter_child_nodes(node)))


def _is_hbm(call: ast.Call) -> bool:
    return any(k.arg == "buffer" and "hbm" in ast.unparse(k.value) for k in call.keywords)


def shape_tied(tree: ast.Module, candidates: set[str]) -> set[str]:
    """The ``candidates`` whose value a shape depends on (rule 2 of the module docstring)."""
    tied: set[str] = set()
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in [tree, *functions]:
        # Local names computed from a candidate carry its taint (two passes reach chains in any order).
        derived = {c: {c} for c in candidates}
        body = scope.body if isinstance(scope, ast.Module) else list(ast.walk(scope))
        for _ in range(2):
            for node in body:
                if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
                    used = _names(node.value)
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for c in candidates:
                        if used & derived[c]:
                            derived[c] |= {n for t in targets for n in _names(t)}
        for node in ast.walk(scope):
            suspects: list[ast.AST] = []
            used_in_equality: set[str] = set()
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In,
                                                                     ast.NotIn)) for op in node.ops):
                used_in_equality = _names_outside_modulo(node)
            elif isinstance(node, ast.Call):
                func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if func == "reshape":
                    suspects = [*node.args, *(k.value for k in node.keywords)]
                elif func == "ndarray" and _is_hbm(node):
                    suspects = node.args[:1] + [k.value for k in node.keywords if k.arg == "shape"]
            for used in [used_in_equality, *(_names(s) for s in suspects)]:
                tied |= {c for c in candidates if used & derived[c]}
    return tied


# --------------------------------------------------------------------------- constraints
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}


class ConstraintError(ValueError):
    """A constraint expression outside the allowed subset; the message says what is not allowed."""


@dataclass(frozen=True)
class Constraint:
    """One ``[knobs]`` constraint: ``text`` parsed once, evaluated per configuration."""

    text: str
    tree: ast.expr
    names: frozenset[str]

    def holds(self, config: Mapping[str, object]) -> bool:
        """True when satisfied, or when it names a knob this configuration lacks (an LLM kernel dropped it)."""
        if not self.names <= set(config):
            return True
        try:
            return bool(_evaluate(self.tree, config))
        except (ArithmeticError, TypeError, ValueError, OverflowError):
            return False  # e.g. a division by a zero-valued knob: not a configuration to try


def parse_constraint(text: str, knobs: set[str] | None = None) -> Constraint:
    """Parse ``text``; raises ConstraintError naming the offending part."""
    if not isinstance(text, str) or not text.strip():
        raise ConstraintError("a constraint must be a non-empty string such as \"TILE_N * BLOCK_N <= 2048\"")
    try:
        tree = parse_python(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ConstraintError(f"syntax error: {e.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.operator, ast.cmpop, ast.unaryop, ast.boolop, ast.expr_context)):
            if isinstance(node, (ast.operator, ast.cmpop, ast.unaryop)) and type(node) not in {**_BINARY,
                                                                                           **_COMPARE, **_UNARY}:
                raise ConstraintError(f"operator {type(node).__name__} is not allowed")
            continue
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ConstraintError(f"{node.value!r}: only numbers may appear as literals")
        elif not isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Name)):
            raise ConstraintError(f"`{ast.unparse(node)}` is not allowed: use knob names, numbers, + - * / // % **, "
                                  "comparisons and and/or/not")
    names = frozenset(_names(tree))
    if knobs is not None and names - knobs:
        raise ConstraintError(f"{', '.join(sorted(names - knobs))} is not a knob (knobs: "
                              f"{', '.join(sorted(knobs)) or 'none'})")
    return Constraint(text, tree, names)


def _evaluate(node: ast.expr, env: Mapping[str, object]):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, env), _evaluate(node.right, env)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError("exponent too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, env))
    if isinstance(node, ast.BoolOp):
        values = (_evaluate(v, env) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, env)
        for op, right_node in zip(node.ops, node.comparators):
            right = _evaluate(right_node, env)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise ValueError(f"unsupported node {type(node).__name__}")
