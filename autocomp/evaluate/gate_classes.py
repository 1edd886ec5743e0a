"""The static gate's rules for helper classes: config records and small helper objects a kernel creates.

A kernel file may define module-level classes with no base class, undecorated or decorated with
``@dataclass``, whose body holds a docstring, constant attributes (annotated or not) and methods.
An instance holds state, so the rules keep every instance inside one kernel call and every attribute
write on an instance made by that call:

- A class name may only be called (``Cfg(...)``), or named in an annotation or as isinstance's second
  argument. It is never passed around, so ``Cls.method(nl, v)`` (a method run on a module, patching it
  through ``self.x = v``) cannot be written: a method always runs on an instance.
- Instances are made only inside functions: module-level values, default arguments and class attributes
  are constants, so no instance outlives the call that made it.
- A method assigns attributes only on its own receiver (``self.x = ...``, not in nested functions) and
  never rebinds it. Methods take no decorators (a classmethod would receive the class itself, whose
  attributes outlive the call; property/staticmethod are not needed by kernels).
- Class attributes and dataclass defaults are immutable constants: a list there is shared by every
  instance and every call. ``field(default=<constant>)`` and ``field(default_factory=list|dict|set|tuple)``
  (a fresh container per instance) are the dataclass forms allowed.
- No dunder methods but ``__init__``, no dunder class attributes (visit_Name refuses every dunder name),
  no bases, metaclass or class keywords: nothing runs when the class is created or an attribute is read.

Used as a mixin of the gate's checker (gate.py), whose name resolution, fail(), _check_annotation and
_function_body it relies on.
"""

from __future__ import annotations

import ast

from autocomp.evaluate import gate_subset as sub
from autocomp.evaluate.gate_module import bound_names, clip, dunder


class ClassRules:
    """Class checks of the gate's checker (see the module docstring)."""

    def _dataclasses_name(self, node: ast.expr, name: str) -> bool:
        """``node`` is ``dataclasses.<name>`` (imported or as an attribute of the module)."""
        if isinstance(node, ast.Name):
            return not self._local(node.id) and self.origins.get(node.id) == f"dataclasses.{name}"
        return isinstance(node, ast.Attribute) and node.attr == name and self._resolve(node.value) == "dataclasses"

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        name = node.name
        if id(node) not in self.top_classes:
            self.fail(node, f"class {name} is defined inside a function or block; define helper classes at module "
                            "level")
            return
        if dunder(name):
            self.fail(node, f"class {name} has a dunder name; give it an ordinary name")
        for base in node.bases:
            if not (isinstance(base, ast.Name) and base.id == "object" and self._builtin("object")):
                self.fail(base, f"class {name}({clip(base, 30)}) inherits behaviour the gate cannot see; helper "
                                "classes take no base class")
        for k in node.keywords:
            self.fail(k.value, f"class {name}({k.arg or '**'}=...) is not allowed (a metaclass or class hook runs "
                               "code when the class is made); helper classes take no keywords")
        dataclass = False
        for d in node.decorator_list:
            if self._dataclass_decorator(d, name):
                dataclass = True
            else:
                self.fail(d, f"decorator {clip(d)!r} on class {name} is not allowed; classes may only be decorated "
                             "with @dataclass")
        for stmt in node.body:
            self._class_member(name, stmt, dataclass)

    def _dataclass_decorator(self, d: ast.expr, cls: str) -> bool:
        func = d.func if isinstance(d, ast.Call) else d
        if not self._dataclasses_name(func, "dataclass"):
            return False
        self.sanctioned.add(id(func))
        self.visit(func)
        if isinstance(d, ast.Call):
            for a in d.args:
                self.fail(a, f"@dataclass on class {cls} takes keyword options only (frozen=True, ...)")
            for k in d.keywords:
                if k.arg not in sub.DATACLASS_OPTIONS or not _bool_constant(k.value):
                    self.fail(k.value, f"@dataclass option {k.arg or '**'}={clip(k.value, 30)} on class {cls} is not "
                                       f"allowed; use True/False for {', '.join(sorted(sub.DATACLASS_OPTIONS))}")
        return True

    def _class_member(self, cls: str, stmt: ast.stmt, dataclass: bool) -> None:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                                          and isinstance(stmt.value.value, str)):
            return  # a docstring
        if isinstance(stmt, ast.FunctionDef):
            self._method(cls, stmt)
            return
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target = stmt.targets[0]
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            target = stmt.target
            self._check_annotation(stmt.annotation, f"{target.id}: ")
            self.visit(stmt.annotation)
        else:
            self.fail(stmt, f"`{clip(stmt, 40)}` in the body of class {cls}: a class body may hold only a docstring, "
                            "constant attributes (name = constant) and methods")
            return
        self.visit(target)  # dunder names (__slots__, __class_getitem__, ...) are refused there
        value = stmt.value
        if value is None:
            return
        if dataclass and isinstance(value, ast.Call) and self._dataclasses_name(value.func, "field"):
            self._field(cls, target.id, value)
            return
        self._class_constant(cls, target.id, value)
        self.visit(value)

    def _class_constant(self, cls: str, attr: str, value: ast.expr) -> None:
        bad = _non_constant(value)
        if bad is None:
            return
        shown = f"class attribute {cls}.{attr} = {clip(value, 30)}"
        if isinstance(bad, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            self.fail(bad, f"{shown} is a mutable container shared by every instance and kept across kernel calls; "
                           "use a tuple, or make it per instance in __init__ (or field(default_factory=list))")
        elif isinstance(bad, ast.Call):
            self.fail(bad, f"{shown} calls {clip(bad.func, 30)} when the class is made; class attributes and "
                           "dataclass defaults may only be constants: compute it in __init__ or in the kernel")
        elif isinstance(bad, ast.Lambda):
            self.fail(bad, f"{shown}: a lambda in a class body becomes a method; define the method with def")
        else:
            self.fail(bad, f"{shown} is not a constant; class attributes may only be constants (numbers, strings, "
                           "None, tuples, NKI/numpy names)")

    def _field(self, cls: str, attr: str, call: ast.Call) -> None:
        """``field(default=<constant>)``, ``field(default_factory=list)`` and boolean options."""
        self.sanctioned.add(id(call.func))
        self.visit(call.func)
        for a in call.args:
            self.fail(a, f"field() of {cls}.{attr} takes keyword arguments only")
        for k in call.keywords:
            v = k.value
            if k.arg == "default":
                self._class_constant(cls, attr, v)
                self.visit(v)
            elif k.arg == "default_factory":
                if not (isinstance(v, ast.Name) and v.id in sub.FIELD_FACTORIES and self._builtin(v.id)):
                    self.fail(v, f"field(default_factory={clip(v, 30)}) of {cls}.{attr} is not allowed; a factory "
                                 f"may only be {', '.join(sorted(sub.FIELD_FACTORIES))} (a fresh empty container)")
            elif k.arg not in sub.FIELD_FLAGS or not (_bool_constant(v) or (isinstance(v, ast.Constant)
                                                                            and v.value is None)):
                self.fail(v, f"field option {k.arg or '**'}={clip(v, 30)} of {cls}.{attr} is not allowed; use "
                             f"default=<constant>, default_factory=list or True/False for "
                             f"{', '.join(sorted(sub.FIELD_FLAGS))}")

    def _method(self, cls: str, fn: ast.FunctionDef) -> None:
        for d in fn.decorator_list:
            self.fail(d, f"decorator @{clip(d, 30)} on method {cls}.{fn.name} is not allowed; methods take no "
                         "decorators (a classmethod would get the class itself, whose attributes outlive the call)")
        if dunder(fn.name) and fn.name != "__init__":
            self.fail(fn, f"method {cls}.{fn.name} is an interpreter hook (dunder name); helper classes may define "
                          "__init__ and ordinary methods only")
        positional = fn.args.posonlyargs + fn.args.args
        receiver = positional[0].arg if positional else None
        if receiver is not None and receiver in bound_names(fn.body):
            self.fail(fn, f"method {cls}.{fn.name} assigns to its receiver {receiver!r}; use another name, so that "
                          f"{receiver}.x = ... always writes to the instance itself")
            receiver = None
        self._function_body(fn, receiver)

    def _class_name_use(self, node: ast.Name) -> None:
        """A class may be called, named in an annotation, or be isinstance's second argument."""
        if id(node) not in self.called and id(node) not in self.annotation_ids and id(node) not in self.sanctioned:
            self.fail(node, f"class {node.id} may only be called ({node.id}(...)), named in annotations or checked "
                            "with isinstance; passing the class itself around would let its methods run on other "
                            "objects")

    def _sanction_isinstance(self, call: ast.Call) -> None:
        if len(call.args) == 2:
            kinds = call.args[1].elts if isinstance(call.args[1], ast.Tuple) else [call.args[1]]
            self.sanctioned.update(id(k) for k in kinds if isinstance(k, ast.Name))


def _bool_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, bool)


def _non_constant(node: ast.expr) -> ast.AST | None:
    """The first part of a class attribute's value that is not a constant (names and attribute paths are
    checked by the visitor: no module, class or uncalled getattr may stand there), or None."""
    if isinstance(node, (ast.Constant, ast.Name)):
        return None
    if isinstance(node, ast.Attribute):
        return _non_constant(node.value)
    if isinstance(node, ast.Tuple):
        return next((b for e in node.elts if (b := _non_constant(e)) is not None), None)
    if isinstance(node, ast.UnaryOp):
        return _non_constant(node.operand)
    if isinstance(node, ast.BinOp):
        return _non_constant(node.left) or _non_constant(node.right)
    return node
