"""`autocomp memory`: list, show, export, import and clear the experience memory shared across runs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from autocomp.cli._common import console, fail, json_errors

memory_app = typer.Typer(help="The experience memory: what earlier runs learned, shown to later plan prompts.",
                         no_args_is_help=True)

MEMORY_OPTION = typer.Option(None, "--memory", metavar="PATH",
                             help="The memory file (default: $AUTOCOMP_MEMORY, else "
                                  "$XDG_DATA_HOME/autocomp/memory.sqlite).")
EVIDENCE_OPTION = typer.Option(None, "--evidence", help="Only entries measured in the simulator (sim) or on "
                                                        "hardware (hw).")


def _store(path: Path | None):
    from autocomp.memory import MemoryStore, resolve_path

    resolved = resolve_path(path)
    if resolved is None:
        fail("the experience memory is off ($AUTOCOMP_MEMORY is 'off'); pass --memory PATH to name a memory file")
    if resolved.exists() and not resolved.is_file():
        fail(f"--memory {resolved}: is a directory; give the memory file, e.g. {resolved / 'memory.sqlite'}")
    return MemoryStore(resolved)


def _evidence(value: str | None) -> str | None:
    if value is not None and value not in ("sim", "hw"):
        fail(f"--evidence {value!r}: use sim (the simulator's estimates) or hw (hardware measurements)")
    return value


def _run(action):
    from autocomp.memory import MemoryStoreError

    try:
        return action()
    except MemoryStoreError as e:
        fail(str(e))


@memory_app.command("list")
def list_entries(memory: Path = MEMORY_OPTION, evidence: str = EVIDENCE_OPTION,
                 problem: str = typer.Option(None, "--problem", help="Only entries of this problem."),
                 as_json: bool = typer.Option(False, "--json", help="Print the entries as a JSON list.")) -> None:
    """Entries in the order they were recorded: id, kind, evidence tier, problem, family, gain, idea, run."""
    json_errors(as_json)
    store = _store(memory)
    entries = _run(lambda: store.entries(evidence=_evidence(evidence), problem=problem))
    if as_json:
        typer.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=1))
        return
    if not entries:
        console.print(f"no entries in {store.path}", highlight=False)
        return
    table = Table(box=None, header_style="bold")
    for col in ("id", "kind", "evidence", "problem", "family", "target", "gain", "idea", "run"):
        table.add_column(col, justify="right" if col in ("id", "gain") else "left", no_wrap=col in ("run", "id"))
    for e in entries:
        table.add_row(str(e.id), e.kind, e.evidence, escape(e.problem), escape(e.family), e.target,
                      f"{e.gain:.2f}x" if e.gain else "—", escape(e.idea[:60]), escape(e.run_id))
    console.print(table)
    console.print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} in {store.path}", highlight=False)


@memory_app.command("show")
def show_entry(entry_id: str = typer.Argument(..., metavar="ID", help="An entry id from `autocomp memory list`."),
               memory: Path = MEMORY_OPTION,
               as_json: bool = typer.Option(False, "--json", help="Print the entry as one JSON object.")) -> None:
    """One entry in full: where it came from, what was measured, the plan and the change."""
    from autocomp.memory.retrieve import render_entry

    json_errors(as_json)
    store = _store(memory)
    try:
        number = int(entry_id.lstrip("#"))
    except ValueError:
        fail(f"{entry_id!r} is not an entry id; give a number from `autocomp memory list`")
    entry = _run(lambda: store.get(number))
    if entry is None:
        fail(f"no entry {number} in {store.path}; see `autocomp memory list`")
    if as_json:
        typer.echo(json.dumps(entry.model_dump(mode="json"), indent=1))
        return
    console.print(escape(render_entry(entry).rstrip()), highlight=False, soft_wrap=True)


@memory_app.command("export")
def export_entries(file: Path = typer.Argument(..., help="The JSON file to write."), memory: Path = MEMORY_OPTION,
                   evidence: str = EVIDENCE_OPTION) -> None:
    """Write the entries (or one evidence tier's) to a JSON file that `autocomp memory import` reads."""
    store = _store(memory)
    if file.is_dir():
        fail(f"{file}: is a directory; give the file to write, e.g. {file / 'memory.json'}")
    count = _run(lambda: store.export(file, evidence=_evidence(evidence)))
    console.print(f"wrote {count} entr{'y' if count == 1 else 'ies'} to {file}", highlight=False)


@memory_app.command("import")
def import_entries(file: Path = typer.Argument(..., help="A file written by `autocomp memory export`."),
                   memory: Path = MEMORY_OPTION) -> None:
    """Add the entries of an exported file; entries already in the memory (same origin) are skipped."""
    store = _store(memory)
    added, known = _run(lambda: store.import_file(file))
    console.print(f"added {added} entr{'y' if added == 1 else 'ies'} to {store.path}"
                  + (f" ({known} already there)" if known else ""), highlight=False)


@memory_app.command("clear")
def clear_entries(memory: Path = MEMORY_OPTION, evidence: str = EVIDENCE_OPTION,
                  yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Delete every entry (or one evidence tier's)."""
    store = _store(memory)
    which = f"the {evidence} entries" if _evidence(evidence) else "every entry"
    if not yes and not typer.confirm(f"Delete {which} of {store.path}?", default=False):
        fail("nothing deleted (pass --yes to clear without asking)", 1)
    count = _run(lambda: store.clear(evidence=evidence))
    console.print(f"deleted {count} entr{'y' if count == 1 else 'ies'} from {store.path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(memory_app, name="memory")
