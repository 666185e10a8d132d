"""``ferry map``: write mapping.yaml from the pair's recipe and the proposer; ``--confirm``
validates it against the staged data and the destination's schema, then stamps it."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import typer

from ferry.cli.common import ProjectOpt, project_at, shown_path, verdict
from ferry.cli.console import console, err_console
from ferry.errors import ConfigError, MappingError
from ferry.phi.scrub import scrub


def _columns(proj: Any, project: Path) -> None:
    """Place the export's columns (records staged under another placement are staged again)."""
    from ferry.engine.checks import unknown_columns
    from ferry.engine.mapflow import place_columns

    bad = unknown_columns(proj.settings.source.options())
    if bad:  # placed by a person in ferry.yaml: a wrong name would leave the column unplaced
        raise ConfigError("ferry.yaml source.columns names a field its object does not have: "
                          + "; ".join(bad) + " (use one of the object's fields, or null for a"
                          " custom field), then ferry map --force")
    placed = place_columns(proj)
    if placed.restaged:
        console.print("staged again (their columns are placed differently now, and the map "
                      "below is read from them): " + ", ".join(
                          f"{n} {obj}" for obj, n in placed.restaged.items()))
        if placed.restage_run:  # values the new placement cannot read: said, as extract does
            from ferry.cli.commands.extract import report_problems

            report_problems(proj, *placed.restage_run)
    for file, why in placed.held:  # never read on a guess: its object is for a person
        err_console.print(f"[yellow]review file:[/] {file}: {why}", highlight=False)
    if not placed.every:
        return
    console.print("columns of the export, per file (every decision in ferry.yaml "
                  "source.columns; edit there to change):")
    files: dict[tuple[str, str], dict[str, int]] = {}
    for p in placed.every:
        n = files.setdefault((p.file or p.object, p.object), {})
        n[p.status] = n.get(p.status, 0) + 1
    empty = []  # objects with no staged record (every row refused at extract)
    extracted = bool(proj.store.runs("extract"))  # else nothing was read yet, none refused
    for (file, obj), n in files.items():
        console.print(f"  {file} → {obj}: {n.get('proposed', 0)} standard, "
                      f"{n.get('custom', 0)} custom, {n.get('not_migrated', 0)} not migrated"
                      + (f", {n['review']} to review" if n.get("review") else ""))
        if extracted and not proj.store.count(obj):
            empty.append(f"{file} → {obj}")
    if empty:  # read again above if its placement moved: every row is still refused
        err_console.print(f"[yellow]note:[/] nothing staged from {', '.join(empty)} (every row"
                          " was refused at extract: the extract report says why); place its"
                          " columns in ferry.yaml source.columns, then"
                          f" `ferry map --force -p {project}` reads it again", highlight=False)
    guesses = [p for p in placed.proposed if not p.reason.startswith("exact")]
    if guesses:
        console.print(f"columns: {len(guesses)} export column(s) placed by the proposer "
                      "(no exact name: check them)")
        for p in guesses:
            console.print(f"  {p.object}: {p.column!r} → {p.target} ({p.confidence:.2f})")
    if placed.review:
        console.print(f"columns: {len(placed.review)} column(s) left to the custom bag for "
                      "review (set them in ferry.yaml source.columns to place them)")
        for p in placed.review:
            console.print(f"  review column: {p.object}: {p.column!r} (best guess {p.target}, "
                          f"{p.confidence:.2f}: {p.reason})")


def register(app: typer.Typer) -> None:
    @app.command("map")
    def map_cmd(project: Path = ProjectOpt,
                confirm: bool = typer.Option(False, "--confirm",
                                             help="validate mapping.yaml and stamp it"),
                by: str = typer.Option("", help="who confirms (default: the OS user)"),
                variant: str = typer.Option("", help="recipe variant, e.g. no_accounting "
                                                     "(Odoo without Accounting)"),
                force: bool = typer.Option(False, help="overwrite an existing mapping.yaml"),
                describe: bool = typer.Option(True, help="read the destination's schema"),
                columns: bool = typer.Option(True, help="file sources: propose the export's "
                                                        "unknown columns into ferry.yaml"),
                sample: int = typer.Option(5000, help="records per object to profile")) -> None:
        """Propose mapping.yaml (or, with --confirm, validate and lock it)."""
        from ferry.engine import mapflow

        proj = project_at(project)
        if not confirm and columns and (force or not proj.mapping_path.exists()):
            _columns(proj, project)
        path = proj.mapping_path
        if not proj.store.counts():
            err_console.print("[yellow]note:[/] nothing staged yet: the map is the recipe alone "
                              "(run `ferry extract` for samples, options and custom fields)")
        schema, why = mapflow.destination_schema(proj) if describe else (None, None)
        if why:
            err_console.print(f"[yellow]note:[/] destination schema unavailable ({why});"
                              " checking against the recipe's rules only")
        if confirm:  # the schema read once above serves either step (describe=False: no retry)
            try:
                doc = mapflow.confirm(proj, by or getpass.getuser(), describe=False,
                                      schema=schema, sample=sample)
            except MappingError as exc:
                err_console.print(f"[red]error:[/] {scrub(str(exc))}")
                err_console.print(f"next: edit {path.name} as each line says, then"
                                  f" ferry map --confirm -p {project}", highlight=False)
                raise typer.Exit(2) from None
            assert doc.confirmed is not None
            console.print(f"[green]confirmed[/] {path.name} ({doc.confirmed.hash[:12]}) by "
                          f"{doc.confirmed.by}; prepare/sample/run will use it")
            verdict(True, "mapping confirmed", f"ferry prepare -p {project}")
            return
        if path.exists() and not force:
            raise ConfigError(f"{path.name} exists: edit it, then `ferry map --confirm`"
                              " (or start it again with ferry map --force)")
        doc = mapflow.propose(proj, variant=variant or None, describe=False, schema=schema,
                              sample=sample)
        review = [(om.name, fm.source) for om in doc.objects for fm in om.fields
                  if fm.status == "review"]
        console.print(f"wrote {shown_path(path)} — {len(doc.objects)} object maps, "
                      f"{sum(len(v) for v in doc.custom_fields.values())} custom fields to "
                      f"create, {len(review)} field(s) to review")
        for name, src in review[:10]:
            console.print(f"  review: {name}: {src}")
        if len(review) > 10:
            console.print(f"  … {len(review) - 10} more marked `status: review` in {path.name}")
        if review:  # what --confirm would otherwise be the first to say
            console.print(f"settle each in {path.name}: keep or change its target and set"
                          " `status: mapped`, or set `status: ignored` with a reason")
        verdict(None, f"map proposed: read {path.name}"
                + (f", settle the {len(review)} field(s) to review" if review else ""),
                f"ferry map --confirm -p {project}")
