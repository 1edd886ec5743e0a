"""`autocomp problems`: list, show, scaffold and import benchmark problems."""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autocomp import targets
from autocomp.cli._common import console, err_console, fail, json_errors, status_line
from autocomp.cli._inputs import read_text_file
from autocomp.pyparse import parse_python
from autocomp.units import latency

problems_app = typer.Typer(name="problems", help="The benchmark problems: list, inspect, create, import.",
                           no_args_is_help=True)

DIR_HELP = "Problems directory (default: $AUTOCOMP_PROBLEMS, else ./problems, else the bundled suite)."


def _wide_console() -> Console:
    """The shared console on a terminal; unwrapped 200 columns when piped, so rows stay greppable."""
    return console if sys.stdout.isatty() else Console(width=200, soft_wrap=False)


def _load(path: Path):
    from autocomp.problem import Problem, ProblemError

    try:
        return Problem.load(path)
    except ProblemError as e:
        fail(str(e))


def _load_ref(name: str, directory: Path | None):
    """The problem ``name`` (``NAME@VARIANT`` picks a variant) or a clean failure naming what is wrong."""
    from autocomp.problem import ProblemError
    from autocomp.suite.location import load_problem

    try:
        return load_problem(name, directory)
    except ProblemError as e:
        fail(str(e))


def _figures(problem, refresh: bool):
    from autocomp.suite.baseline import baseline_figures, cached_figures

    if not refresh and cached_figures(problem) is None:
        err_console.print(f"[dim]profiling {problem.name} at full shapes (cached afterwards)...[/]", highlight=False)
    return baseline_figures(problem, refresh=refresh)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


@problems_app.command("list")
def list_problems(
    directory: Path = typer.Option(None, "--dir", help=DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
    refresh: bool = typer.Option(False, "--refresh", help="Re-measure baselines instead of using the cache."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Every problem (and each variant, as NAME@VARIANT) with its dialect, target, input shapes and the
    baseline's cost-model latency."""
    from autocomp.problem import Problem, ProblemError, find_problems
    from autocomp.suite.baseline import baseline_figures, cached_figures
    from autocomp.suite.location import problems_dir

    json_errors(as_json)
    root = problems_dir(directory)
    if not root.is_dir():
        fail(f"{root}: no such problems directory; pass --dir or set $AUTOCOMP_PROBLEMS")
    listed = []  # in listing order: a row for what cannot load, else (path, variant, problem) to measure
    for path in find_problems(root):
        try:
            problem = Problem.load(path)
        except ProblemError as e:
            listed.append({"name": path.name, "path": str(path), "error": str(e)})
            continue
        for variant in (None, *sorted(problem.base_spec.variants)):
            try:
                listed.append((path, variant, problem.with_variant(variant)))
            except ProblemError as e:
                listed.append({"name": f"{problem.name}@{variant}", "path": str(path), "error": str(e)})
    # Uncached baselines are traced at full shapes (seconds each): counted first so progress reads "3/24".
    uncached = {i for i, item in enumerate(listed)
                if isinstance(item, tuple) and (refresh or cached_figures(item[2]) is None)}
    rows, measured = [], 0
    with status_line(quiet) as progress:
        for i, item in enumerate(listed):
            if isinstance(item, dict):
                rows.append(item)
                continue
            path, variant, shown = item
            if i in uncached:
                measured += 1
                if progress is not None:
                    progress(f"measuring baselines {measured}/{len(uncached)}: {shown.name}")
            figures = baseline_figures(shown, refresh=refresh)
            rows.append({"name": shown.name, "path": str(path), "variant": variant,
                         "dialect": shown.spec.dialect, "target": shown.spec.target,
                         "shapes": [s.model_dump() for s in figures.input_shapes],
                         "shapes_text": figures.shapes_text, "latency_us": figures.latency_us,
                         "roofline_percent": figures.roofline_percent, "bound_by": figures.bound_by,
                         "knobs": len(shown.spec.knobs), "error": figures.error})
    if as_json:
        print(json.dumps([{k: v for k, v in r.items() if k != "shapes_text"} for r in rows], indent=1))
        return
    if not rows:
        console.print(f"no problems in {root} (create one with `autocomp problems new NAME`)")
        return
    table = Table(title=f"Problems in {root}", title_justify="left")
    for header, justify in (("name", "left"), ("dialect", "left"), ("target", "left"), ("input shapes", "left"),
                            ("latency", "right"), ("% roofline", "right"), ("bound", "left")):
        table.add_column(header, justify=justify, overflow="fold")
    for r in rows:
        if "dialect" not in r:
            table.add_row(escape(r["name"]), "", "", f"[red]invalid: {escape(r['error'])}[/]", "-", "-", "")
            continue
        shapes = r["shapes_text"] if not r["error"] else f"[red]baseline failed: {escape(r['error'])}[/]"
        table.add_row(escape(r["name"]), r["dialect"], r["target"], shapes, latency(r["latency_us"], "-"),
                      _fmt(r["roofline_percent"], ".1f"), r["bound_by"])
    out = _wide_console()
    out.print(table)
    out.print("[dim]latency and roofline: autocomp's cost model on the baseline kernel at full shapes "
              "(evidence tier: sim)[/]")


def _parameter_names(problem) -> list[str]:
    tree = parse_python(problem.baseline_source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == problem.spec.function:
            return [a.arg for a in node.args.posonlyargs + node.args.args]
    return []


def _shape_lines(problem, shapes: list[tuple[list[int], str]]) -> list[str]:
    """``name: 4096x512 bfloat16`` per kernel parameter."""
    names = _parameter_names(problem)
    return [f"{names[i] if i < len(names) else f'arg{i}'}: {'x'.join(map(str, shape))} {dtype}"
            for i, (shape, dtype) in enumerate(shapes)]


def _array_shapes(arrays) -> list[tuple[list[int], str]]:
    from autocomp.nki import dtypes as dt

    return [(list(a.shape), dt.dtype_name(a.dtype)) for a in arrays]


@problems_app.command("show")
def show(
    name: str = typer.Argument(..., help="Problem name in the problems directory, or a path to a problem; "
                                         "NAME@VARIANT for one of its variants."),
    directory: Path = typer.Option(None, "--dir", help=DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    refresh: bool = typer.Option(False, "--refresh", help="Re-measure the baseline instead of using the cache."),
) -> None:
    """Everything about one problem: spec, knobs, input shapes, baseline latency and profile hints."""
    from autocomp.problem import module_constants
    from autocomp.suite.baseline import knob_space_size

    json_errors(as_json)
    problem = _load_ref(name, directory)
    spec = problem.spec
    figures = _figures(problem, refresh)
    defaults = module_constants(parse_python(problem.baseline_source))
    check_shapes = (_shape_lines(problem, _array_shapes(problem.inputs(spec.seeds[0])))
                    if spec.check_shapes else [])
    info = problem.describe() | {
        "check_shapes": spec.check_shapes, "knob_space_size": knob_space_size(problem),
        "knob_defaults": {k: defaults.get(k) for k in spec.knobs},
        "inputs": [str(s) for s in figures.input_shapes], "check_inputs": check_shapes,
        "baseline": figures.model_dump(),
        "files": {f: str(problem.root / f) for f in ("problem.toml", problem.kernel_file, "reference.py")}}
    if as_json:
        print(json.dumps(info, indent=1))
        return
    tol = spec.tolerance
    out = _wide_console()
    out.print(f"[bold]{escape(problem.name)}[/]  ({escape(str(problem.root))})", highlight=False)
    for line in spec.description.strip().splitlines():
        out.print(f"  {escape(line)}", highlight=False)
    rows = [("function", f"{spec.function}  ({problem.kernel_file})"),
            ("dialect", f"{spec.dialect} ({'neuronxcc.nki' if spec.dialect == 'v1' else 'nki'})"),
            ("target", spec.target), ("seeds", ", ".join(map(str, spec.seeds))),
            *([("variants", ", ".join(f"{problem.base_spec.name}@{v}" for v in sorted(problem.base_spec.variants))
                + (f"  (this is {problem.name})" if problem.variant else f"  (this is the default, {problem.name})"))]
              if problem.base_spec.variants else []),
            *([("origin", "translated: kernel.py was written by the LLM from reference.py")]
              if spec.origin == "translated" else []),
            ("tolerance", f"rel-L2 <= {tol.rel_l2:g} and |out - ref| <= {tol.atol:g} + {tol.rtol:g} * |ref|")]
    for knob, values in spec.knobs.items():
        rows.append(("knobs" if knob == next(iter(spec.knobs)) else "",
                     f"{knob} in {', '.join(map(repr, values))}  (baseline {defaults.get(knob)!r})"))
    rows += [("", f"constraint: {c}") for c in spec.knob_constraints]
    if spec.knobs:
        rows.append(("", f"space: {knob_space_size(problem)} combinations"))
    # Several timing shapes (docs/evaluation.md#problems-over-several-shapes): the inputs and baseline below are
    # the first one's.
    rows += [("shapes" if i == 0 else "", f"{s.label()}, weight {s.weight:g}" + ("  (inputs and baseline below)"
                                                                               if i == 0 else ""))
             for i, s in enumerate(spec.shapes)]
    shapes = _shape_lines(problem, [(s.shape, s.dtype) for s in figures.input_shapes])
    rows += [("inputs" if i == 0 else "", f"{s}  (timing)") for i, s in enumerate(shapes)]
    rows += [("", f"{s}  (correctness check)") for s in check_shapes]
    if figures.error:
        rows.append(("baseline", f"[red]failed: {escape(figures.error)}[/]"))
    else:
        rows.append(("baseline", f"{figures.latency_us:.1f} µs on {figures.target} (cost model, evidence tier sim); "
                                 f"{figures.roofline_percent:.1f}% of roofline, {figures.bound_by}-bound; "
                                 f"MFU {figures.mfu:.1f}%, MBU {figures.mbu:.1f}%; "
                                 f"{figures.instructions} instructions"))
        busy = ", ".join(f"{k} {v:.0f}%" for k, v in figures.engine_utilisation.items())
        rows.append(("", f"engine utilisation: {busy}"))
        rows += [("hints" if i == 0 else "", f"{h['code']}: {h['message']}") for i, h in enumerate(figures.hints)]
    rows += [("files" if i == 0 else "", p) for i, p in enumerate(info["files"].values())]
    for label, text in rows:
        text = text if text.startswith("[red]") else escape(text)
        out.print(f"  [bold]{label:<10}[/] {text}", highlight=False)


@problems_app.command("new")
def new(
    name: str = typer.Argument(..., help="Name of the new problem (letters, digits, _ . -)."),
    directory: Path = typer.Option(None, "--dir", help=DIR_HELP),
    dialect: str = typer.Option(None, "--dialect", help="v2 (current nki, the default) or v1 (legacy "
                                "neuronxcc.nki)."),
    from_reference: Path = typer.Option(None, "--from-reference", help="A numpy (or, with torch installed, PyTorch) "
                                        "file defining make_inputs(rng) and reference(*inputs): the LLM writes the "
                                        "first kernel, repairing it until it is correct in the simulator."),
    model: list[str] = typer.Option(None, "--model", "-m", help="With --from-reference: the LLM as "
                                    "provider:model (manual: answer the prompt files yourself)."),
    max_attempts: int = typer.Option(None, "--max-attempts", help="With --from-reference: kernels the LLM may "
                                     "write (the first and its repairs) before giving up (default 5)."),
    resume: bool = typer.Option(False, "--resume", help="Continue NAME's unfinished translation (its attempts "
                                "are kept in NAME/translation/)."),
    then_optimize: bool = typer.Option(False, "--then-optimize", help="With --from-reference: optimise the "
                                       "translated kernel right away."),
    tolerance: str = typer.Option(None, "--tolerance", help="With --from-reference: rel_l2=X,atol=Y,rtol=Z "
                                  "(default by the inputs' precision: the suite's bf16 or fp32 tolerance)."),
    target: str = typer.Option(None, "--target", help=f"With --from-reference: {targets.choices()}."),
    llm_base_url: str = typer.Option(None, "--llm-base-url", help="Base URL of an OpenAI-compatible server."),
    manual_timeout: float = typer.Option(None, "--manual-timeout", metavar="SECONDS",
                                         help="With --model manual: how long to wait for each answer file."),
    manual_stdin: bool = typer.Option(None, "--manual-stdin", help="With --model manual: read answers from stdin."),
    max_usd: float = typer.Option(None, "--max-usd", help="Stop before LLM spend could exceed this many dollars."),
    isolation: str = typer.Option(None, "--isolation", help="Sandbox for LLM-written kernels: auto, bwrap, userns "
                                  "or none."),
    allow_unisolated: bool = typer.Option(None, "--allow-unisolated", help="Run LLM-written kernels without a "
                                          "sandbox when none is available."),
) -> None:
    """Create NAME/ with a small working kernel, reference and knobs to start from, or (--from-reference) a
    problem whose first kernel the LLM writes from your reference function."""
    from autocomp.suite.check import check_kernel
    from autocomp.suite.location import problems_dir
    from autocomp.suite.scaffold import scaffold

    if from_reference is not None or resume:
        from autocomp.cli.translate import DEFAULT_MAX_ATTEMPTS, translate_command
        from autocomp.suite.location import ENV_VAR

        # Like imports, translations go to the user's problems, never into the installed package's shipped suite.
        parent = directory or Path(os.environ.get(ENV_VAR) or "problems")
        options = {"models": model or None, "llm_base_url": llm_base_url, "manual_timeout": manual_timeout,
                   "manual_stdin": manual_stdin, "max_usd": max_usd, "isolation": isolation,
                   "allow_unisolated": allow_unisolated, "target": target}
        translate_command(name, parent, from_reference, dialect=dialect or "v2", target=target,
                          tolerance=tolerance, resume=resume, max_attempts=max_attempts or DEFAULT_MAX_ATTEMPTS,
                          options=options, then_optimize=then_optimize)
        return
    translation_only = {"--model": model, "--max-attempts": max_attempts, "--then-optimize": then_optimize,
                        "--tolerance": tolerance, "--target": target}
    given = [flag for flag, value in translation_only.items() if value]
    if given:
        fail(f"{', '.join(given)}: only with --from-reference FILE (a problem whose kernel the LLM writes)")
    dialect = dialect or "v2"
    try:
        root = scaffold(name, problems_dir(directory), dialect)
    except (ValueError, FileExistsError) as e:
        fail(str(e))
    except OSError as e:
        fail(f"{problems_dir(directory)}: cannot create the problem there ({e.strerror or e}); pass --dir with a "
             "directory you can write")
    problem = _load(root)
    failures = [c.reason for seed in problem.spec.seeds for c in check_kernel(problem, seed) if not c.passed]
    if failures:
        fail(f"{root}: the scaffolded baseline does not pass its reference: {failures[0]}", code=1)
    console.print(f"created {root} ({dialect}); its baseline passes on seeds {problem.spec.seeds}", highlight=False)
    console.print("  next: edit kernel.py (the baseline), reference.py (make_inputs, reference) and problem.toml; "
                  f"check with `autocomp problems show {root}`", highlight=False)


IMPORT_DIR_HELP = "Problems directory to write into (default: $AUTOCOMP_PROBLEMS, else ./problems, created)."


@problems_app.command("import-harness")
def import_harness(
    harness: Path = typer.Argument(..., help="An Autocomp-style Trainium harness (.py with # SUBSTITUTE HERE)."),
    out: Path = typer.Option(None, "--out", help="Problem directory to write (default: <problems dir>/<name>)."),
    name: str = typer.Option(None, "--name", help="Problem name (default: from the file name)."),
    function: str = typer.Option(None, "--function", help="Kernel to import when the harness has several."),
    target: str = typer.Option(targets.DEFAULT_TARGET, "--target", help=f"{targets.choices()}."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing problem directory."),
    directory: Path = typer.Option(None, "--dir", help=IMPORT_DIR_HELP),
    check_shapes: bool = typer.Option(None, "--check-shapes/--no-check",
                                      help="Check correctness on small shapes (default: when the inputs are large "
                                           "and test_nki uses the full shapes) or always at the timing shapes."),
    solution: Path = typer.Option(None, "--solution", help="A solution kernel (or a harness with one pasted in): "
                                  "stored as <problem>/solutions/<file> and evaluated like `autocomp eval`."),
) -> None:
    """Convert an Autocomp-style harness into a problem directory (kernel.py, reference.py, problem.toml).

    The kernel must pass the evaluator's static gate; correctness inputs come from test_nki or are shrunk
    automatically; the harness's input distribution and tolerance are kept.
    """
    from autocomp.harness import HarnessError, convert_harness, default_name
    from autocomp.harness.shapes import choose_check_shapes
    from autocomp.suite.location import ENV_VAR, bundled_problems_dir

    read_text_file(harness, "file", "save the harness as UTF-8 text")
    if solution is not None:
        read_text_file(solution, "solution file", "save the solution as UTF-8 text")
    # Imports go to the user's problems, never into the installed package's shipped suite.
    root_dir = directory or Path(os.environ.get(ENV_VAR) or "problems")
    if name is None and (bundled_problems_dir() / default_name(harness) / "problem.toml").is_file():
        fail(f"{harness}: its name {default_name(harness)!r} is a bundled problem's; pass --name to import it "
             "under another name")

    def convert(cap, overwrite):
        try:
            return convert_harness(harness, out=out, name=name, function=function, target=target, force=overwrite,
                                   problems_root=root_dir, check_cap=cap)
        except HarnessError as e:
            fail(str(e))
        except OSError as e:
            fail(f"{e.filename or out or root_dir}: cannot write the problem there ({e.strerror or e}); "
                 "pass --out or --dir with a directory you can write")

    try:
        result, problem, failure = choose_check_shapes(convert, check_shapes, force,
                                                       lambda text: err_console.print(f"[dim]{text}[/]",
                                                                                      highlight=False))
    except HarnessError as e:
        fail(str(e))
    console.print(f"wrote {result.root}: function {result.function} ({result.dialect}), "
                  f"{len(result.inputs)} input(s), reference: {result.reference_kind}", highlight=False)
    for note in result.notes:
        console.print(f"  note: {note}", highlight=False)
    if failure:
        fail(f"{result.root}: the imported kernel does not match the reference: {failure}", code=1)
    where = ("check shapes " + ", ".join("x".join(map(str, s.shape)) for s in result.check_specs)
             if problem.spec.check_shapes and result.check_specs else "the timing shapes")
    console.print(f"  the imported baseline passes the evaluator's gate and its reference on seeds "
                  f"{problem.spec.seeds} at {where}", highlight=False)
    if solution is not None:
        _import_solution(problem, solution)


def _import_solution(problem, solution: Path) -> None:
    """Store the solution next to the problem and evaluate it as `autocomp eval` would."""
    from autocomp.evaluate import Evaluator, EvaluatorError
    from autocomp.evaluate.backends import get_backend
    from autocomp.harness import HarnessError
    from autocomp.harness.solution import solution_source

    try:
        source = solution_source(solution, problem.spec.function)
    except HarnessError as e:
        fail(str(e))
    stored = problem.root / "solutions" / solution.name
    stored.parent.mkdir(exist_ok=True)
    stored.write_text(source)
    console.print(f"stored the solution as {stored}; evaluating it (backend sim)", highlight=False)
    try:
        evaluator = Evaluator(get_backend("sim"), workers=1)
        try:
            result = evaluator.evaluate_many(problem, [source], filenames=[solution.name])[0]
        finally:
            evaluator.close()
    except (EvaluatorError, RuntimeError) as e:
        fail(str(e))
    if result.status != "correct":
        fail(f"{stored}: the solution is {result.status}: {result.reason}", code=1)
    base = problem.root
    console.print(f"  solution: correct, {result.latency_us:.1f} µs (cost model); re-run with "
                  f"`autocomp eval {base} {stored}`", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(problems_app, name="problems")
