"""`autocomp migrate KERNEL.py --function F`: rewrite a legacy-dialect kernel into the current dialect and prove
the two equivalent in the simulator (docs/nki-semantics.md#migrating-a-legacy-kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from autocomp import targets
from autocomp.cli._common import console, fail, json_errors
from autocomp.cli._inputs import check_timeout, read_text_file


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        fail(f"--seeds {text!r}: give comma-separated integers, e.g. --seeds 0,1,2")
    if not seeds or any(s < 0 for s in seeds):
        fail(f"--seeds {text!r}: give at least one seed, each 0 or more")
    return seeds


def _llm(model: str, base_url: str | None, max_calls: int, manual_dir: Path):
    from autocomp.llm import LLMSettings, build_service
    from autocomp.llm.errors import LLMConfigError
    from autocomp.search.config import MANUAL_MODEL

    if model.strip().lower() == "manual":  # a person answering, as `autocomp optimize --model manual`
        model = MANUAL_MODEL
    try:
        return build_service(LLMSettings(models=[model], base_url=base_url, max_llm_calls=max_calls,
                                         manual_dir=manual_dir, manual_stdin=True))
    except (LLMConfigError, ValueError) as e:
        fail(f"--model {model}: {e}")


def _print(report, out: Path | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    m, eq = report.migration, report.equivalence
    style = "bold green" if report.equivalent else "bold red"
    console.print(f"[bold]{escape(m.function)}[/]: [{style}]{'equivalent' if report.equivalent else 'NOT equivalent'}"
                  f"[/] ({eq.tolerance if eq else 'not checked'}; migrated by {report.by})")
    counts = m.rule_counts()
    console.print("rules applied: " + (", ".join(f"{k} x{v}" for k, v in counts.items()) or "none"))
    if m.findings:
        console.print(f"not migrated by the rules ({len(m.findings)}):")
        for f in m.findings:
            console.print(f"  {escape(str(f))}", highlight=False)
    if eq is not None:
        if eq.original_error:
            console.print(f"[red]the original kernel failed:[/] {escape(eq.original_error)}", highlight=False)
        table = Table("inputs", "verdict", "detail")
        for c in eq.cases:
            table.add_row(escape(c.label), "[green]equivalent[/]" if c.equivalent else "[red]differs[/]",
                          escape(c.detail))
        console.print(table)
    if report.assist is not None:
        for r in report.assist.rounds:
            console.print(f"  LLM round {r.round}: {escape(r.verdict)}", highlight=False)
        console.print(f"  LLM: {escape(report.assist.stopped)}", highlight=False)
    if out is not None:
        console.print(f"migrated kernel written to {out}")


def migrate(
    kernel: Path = typer.Argument(..., help="Legacy-dialect (neuronxcc.nki) kernel file."),
    function: str = typer.Option(..., "--function", "-f", help="Kernel function name in the file."),
    problem: str = typer.Option(None, "--problem", help="Take the inputs (every seed's check inputs) from this "
                                                          "problem (name or directory)."),
    inputs: list[str] = typer.Option([], "--inputs", help='One shape set per option, e.g. '
                                                          '"a=128x512:bfloat16,b=512x256:bfloat16"; repeat it to '
                                                          'check several shapes.'),
    seeds: str = typer.Option(None, "--seeds", help="Comma-separated seeds (default: the problem's, else 0,1,2)."),
    out: Path = typer.Option(None, "--out", help="Write the migrated kernel here (default: KERNEL_v2.py next to "
                                                 "KERNEL)."),
    model: str = typer.Option(None, "--model", help="provider:model (or manual) to finish what the rules could "
                                                    "not, until the migration is proven equivalent."),
    llm_base_url: str = typer.Option(None, "--llm-base-url", help="Base URL of an OpenAI-compatible server."),
    rounds: int = typer.Option(3, "--rounds", help="Most LLM answers to try."),
    target: str = typer.Option(None, "--target", help=f"{targets.choices()} (default: the problem's, else "
                                                      f"{targets.DEFAULT_TARGET})."),
    atol: float = typer.Option(0.0, "--atol", help="Absolute tolerance (default 0: outputs must be bit-exact)."),
    rtol: float = typer.Option(0.0, "--rtol", help="Relative tolerance (default 0)."),
    timeout: float = typer.Option(600.0, "--timeout", help="Wall-clock seconds per sandboxed run."),
    isolation: str = typer.Option("auto", "--isolation", help="Sandbox: auto, bwrap, userns or none."),
    allow_unisolated: bool = typer.Option(False, "--allow-unisolated",
                                          help="Run the kernels without a sandbox when none is available."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object instead of a report."),
) -> None:
    """Rewrite KERNEL from the legacy dialect into the current one, then prove both give the same outputs."""
    from autocomp.evaluate import Evaluator, EvaluatorError
    from autocomp.migrate import MigrationError
    from autocomp.migrate.pipeline import InputsError, problem_cases, run_migration, spec_cases
    from autocomp.nki.runtime import normalize_target
    from autocomp.problem import ProblemError
    from autocomp.suite.location import load_problem

    json_errors(as_json)
    source = read_text_file(kernel)
    check_timeout(timeout)
    if atol < 0 or rtol < 0:
        fail(f"--atol {atol:g} / --rtol {rtol:g}: tolerances cannot be negative")
    if rounds < 1:
        fail(f"--rounds {rounds}: give 1 or more")
    if problem is None and not inputs:
        fail("no inputs: pass --problem NAME (its check inputs) or --inputs \"x=128x512:float32,...\"")
    prob = None
    if problem is not None:
        try:
            prob = load_problem(problem)
        except ProblemError as e:
            fail(str(e))
    try:
        target = normalize_target(target or (prob.spec.target if prob else targets.DEFAULT_TARGET))
    except ValueError as e:
        fail(str(e))
    seed_list = _seeds(seeds) if seeds else (list(prob.spec.seeds) if prob else [0, 1, 2])
    if out is None:
        out = kernel.with_name(f"{kernel.stem}_v2.py")
    if out.resolve() == kernel.resolve():
        fail(f"--out {out}: is the kernel file itself; write the migration to another file")
    if out.is_dir():
        fail(f"--out {out}: is a directory; give a file name such as kernel_v2.py")
    try:
        cases = problem_cases(prob, seed_list) if prob else []
        cases += spec_cases(source, function, inputs, seed_list)
    except (InputsError, ProblemError) as e:
        fail(str(e))
    llm = renderer = None
    if model:
        from autocomp.migrate.assist import brief_for
        from autocomp.search.prompts import PromptLibrary, PromptRenderer

        llm = _llm(model, llm_base_url, rounds, out.parent / f"{out.stem}.manual")
        renderer = PromptRenderer(PromptLibrary(), brief_for(function, target, [c.label for c in cases],
                                                              problem=prob))
    try:
        evaluator = Evaluator("sim", workers=1, cache=False, timeout_s=timeout, isolation=isolation,
                              allow_unisolated=allow_unisolated)
        try:
            report = run_migration(source, function, cases, evaluator, target=target, filename=kernel.name,
                                   atol=atol, rtol=rtol, timeout_s=timeout, llm=llm, renderer=renderer,
                                   rounds=rounds)
        finally:
            evaluator.close()
    except MigrationError as e:
        fail(str(e))
    except EvaluatorError as e:
        fail(str(e))
    try:
        out.write_text(report.final_source)
    except OSError as e:
        fail(f"--out {out}: cannot write the migrated kernel ({e.strerror or e})")
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "kernel": str(kernel), "out": str(out)}))
    else:
        _print(report, out)
    if not report.equivalent:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate)
