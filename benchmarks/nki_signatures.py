"""Record the documented NKI API (function names and signatures) from the Neuron SDK's API stub files.

The aws-neuron-sdk documentation repository ships Python stub files from which its
API reference is generated (``nki/api/nki/**/__init__.py``). This script reads them
with ``ast`` (never importing them) and writes *names and signatures only* as data:
each public function's parameters (name, kind, order, default value as a literal or,
when the default is a name such as ``engine.unknown``, that expression's text), each
documented class's public methods, and the module's other public names. Whether a
name appears in the API reference index (``nki/api/nki.*.rst``) is recorded as
``documented``. Nothing else (docstrings, bodies) is copied.

    # current dialect (nki), from the newest stubs
    python benchmarks/nki_signatures.py --sdk /path/to/aws-neuron-sdk --dialect v2 \
        --out tests/nki/data/signatures_v2.json
    # legacy dialect (neuronxcc.nki): the last commit whose stubs were the legacy ones
    python benchmarks/nki_signatures.py --sdk /path/to/aws-neuron-sdk --dialect v1 --rev 1db4d74e \
        --out tests/nki/data/signatures_v1.json

``--sdk`` is a git clone (bare or not) of aws-neuron/aws-neuron-sdk; ``--rev`` (default
HEAD) picks the commit, and the file records the full commit it came from.
``tests/nki/test_api_signatures.py`` checks the simulator's modules against the data.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

# Real module name -> stub file inside the SDK repository, per dialect. The legacy
# dialect's compiler submodules are attributes of neuronxcc.nki.compiler.
STUBS = {
    "v2": {
        "nki": "nki/api/nki/__init__.py",
        "nki.isa": "nki/api/nki/isa/__init__.py",
        "nki.language": "nki/api/nki/language/__init__.py",
        "nki.collectives": "nki/api/nki/collectives/__init__.py",
    },
    "v1": {
        "neuronxcc.nki": "nki/api/nki/__init__.py",
        "neuronxcc.nki.isa": "nki/api/nki/isa/__init__.py",
        "neuronxcc.nki.language": "nki/api/nki/language/__init__.py",
        "neuronxcc.nki.compiler": "nki/api/nki/compiler/__init__.py",
        "neuronxcc.nki.compiler.psum": "nki/api/nki/compiler/psum.py",
        "neuronxcc.nki.compiler.sbuf": "nki/api/nki/compiler/sbuf.py",
    },
}
# The API reference index pages list the documented names of each module (autosummary entries).
INDEX = {
    "nki": "nki/api/nki.rst",
    "nki.isa": "nki/api/nki.isa.rst",
    "nki.language": "nki/api/nki.language.rst",
    "nki.collectives": "nki/api/nki.collectives.rst",
    "nki.compiler": "nki/api/nki.compiler.rst",
}
_ENTRY = re.compile(r"^ {3}([A-Za-z_][\w.]*)\s*$")


class StubError(Exception):
    """A stub file could not be read or parsed."""


def _git_show(sdk: Path, rev: str, path: str) -> str | None:
    proc = subprocess.run(["git", "-C", str(sdk), "show", f"{rev}:{path}"], capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else None


def _resolve_rev(sdk: Path, rev: str) -> str:
    proc = subprocess.run(["git", "-C", str(sdk), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise StubError(f"{sdk}: cannot resolve revision {rev!r} ({proc.stderr.strip()}); pass --rev with a commit "
                        "of the aws-neuron-sdk repository")
    return proc.stdout.strip()


def _default(node: ast.expr) -> dict:
    """A default value as data: {"value": literal} or {"expr": source text} for names and attributes."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return {"expr": ast.unparse(node)}
    if value is Ellipsis:
        return {"expr": "..."}
    if isinstance(value, tuple):
        return {"value": list(value), "tuple": True}
    if isinstance(value, (int, float, str, bool, list, type(None))):
        return {"value": value}
    return {"expr": ast.unparse(node)}


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef, method: bool = False) -> list[dict]:
    a = fn.args
    out: list[dict] = []
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        if method and i == 0:
            continue  # self / cls
        kind = "POSITIONAL_ONLY" if i < len(a.posonlyargs) else "POSITIONAL_OR_KEYWORD"
        out.append({"name": arg.arg, "kind": kind, **({"default": _default(default)} if default else {})})
    if a.vararg:
        out.append({"name": a.vararg.arg, "kind": "VAR_POSITIONAL"})
    for arg, default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        out.append({"name": arg.arg, "kind": "KEYWORD_ONLY",
                    **({"default": _default(default)} if default is not None else {})})
    if a.kwarg:
        out.append({"name": a.kwarg.arg, "kind": "VAR_KEYWORD"})
    return out


def _public(name: str) -> bool:
    return not name.startswith("_")


def read_stub(source: str, path: str) -> dict:
    """The public API of one stub module: functions, classes (with their public methods) and other names."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise StubError(f"{path}:{e.lineno}: cannot parse the stub ({e.msg})") from e
    functions: dict[str, list] = {}
    classes: dict[str, dict] = {}
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _public(node.name):
            functions[node.name] = _params(node)
        elif isinstance(node, ast.ClassDef) and _public(node.name):
            methods = {}
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and _public(item.name):
                    decorators = {d.id for d in item.decorator_list if isinstance(d, ast.Name)}
                    if "property" in decorators:
                        methods[item.name] = {"property": True}
                    else:
                        methods[item.name] = {"params": _params(item, method="staticmethod" not in decorators)}
            classes[node.name] = {"methods": methods}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name) and _public(t.id)]
    return {"functions": functions, "classes": classes, "names": sorted(set(names))}


def documented_names(index_text: str | None) -> set[str]:
    """The autosummary entries of an API reference page (``sbuf.alloc`` style entries included)."""
    if index_text is None:
        return set()
    return {m.group(1) for line in index_text.splitlines() if (m := _ENTRY.match(line))}


def _index_for(module: str) -> tuple[str, str]:
    """(index page, prefix of this module's entries on it) for a real module name."""
    short = module.removeprefix("neuronxcc.")
    for page_module in sorted(INDEX, key=len, reverse=True):
        if short == page_module or short.startswith(page_module + "."):
            prefix = short[len(page_module) + 1:]
            return INDEX[page_module], (prefix + "." if prefix else "")
    raise StubError(f"no API reference page is known for module {module}")


def extract(sdk: Path, dialect: str, rev: str) -> dict:
    commit = _resolve_rev(sdk, rev)
    modules = {}
    for module, path in STUBS[dialect].items():
        source = _git_show(sdk, commit, path)
        if source is None:
            raise StubError(f"{sdk}@{commit[:12]}: no stub file {path} for {module}; is --rev a commit of the "
                            f"{dialect} dialect's stubs?")
        api = read_stub(source, path)
        page, prefix = _index_for(module)
        listed = {e[len(prefix):] for e in documented_names(_git_show(sdk, commit, page)) if e.startswith(prefix)}
        api["functions"] = {name: {"params": v, "documented": name in listed}
                            for name, v in sorted(api["functions"].items())}
        api["classes"] = {name: v | {"documented": name in listed} for name, v in sorted(api["classes"].items())}
        api["names"] = {name: {"documented": name in listed} for name in api["names"]}
        api["stub"] = path
        modules[module] = api
    return {"dialect": dialect, "source": {"repository": "aws-neuron/aws-neuron-sdk", "commit": commit},
            "modules": modules}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sdk", type=Path, required=True, help="git clone of aws-neuron/aws-neuron-sdk")
    ap.add_argument("--dialect", choices=sorted(STUBS), required=True)
    ap.add_argument("--rev", default="HEAD", help="commit of the stubs (default: HEAD)")
    ap.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = ap.parse_args(argv)
    try:
        data = extract(args.sdk, args.dialect, args.rev)
    except StubError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    n = sum(len(m["functions"]) for m in data["modules"].values())
    print(f"{args.out}: {n} functions of {len(data['modules'])} modules from {data['source']['commit'][:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
