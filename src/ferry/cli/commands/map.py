"""``ferry map``: write mapping.yaml from the pair's recipe and the proposer; ``--confirm``
validates it against the staged data and the destination's schema, then stamps it."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import typer

from ferry.cli.common import ProjectOpt, project_at
from ferry.cli.console import console, err_console


def _profile(proj: Any, limit: int) -> Any:
    from ferry.mapping.validate import profile_records

    counts = proj.store.counts()
    if not counts:
        err_console.print("[yellow]note:[/] nothing staged yet: the map is the recipe alone "
                          "(run `ferry extract` for samples, options and custom fields)")
        return None

    def head(obj: str) -> Any:
        for i, rec in enumerate(proj.store.iter_records(obj)):
            if i >= limit:
                return
            yield rec

    return {obj: profile_records(head(obj)) for obj in counts}


def _schema(proj: Any) -> Any:
    from ferry.engine.pipeline import open_destination

    try:
        dest = open_destination(proj)
        try:
            return dest.describe()
        finally:
            dest.close()
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        err_console.print(f"[yellow]note:[/] destination schema unavailable "
                          f"({type(exc).__name__}); checking against the recipe's rules only")
        return None


def _columns(proj: Any) -> None:
    """File sources: the proposer places the export's columns the source's matcher cannot
    (``ferry.mapping.columns``); confident answers go to ferry.yaml ``source.columns``."""
    import asyncio

    from ferry.connectors.registry import source_module
    from ferry.engine.pipeline import open_source
    from ferry.mapping.columns import merge_columns, propose_for_source, supports_columns
    from ferry.settings import ConnectorSettings, save_settings

    settings = proj.settings
    if not supports_columns(source_module(settings.source.kind)):
        return
    given = settings.source.options().get("columns") or {}
    src = open_source(proj)
    try:
        proposals = propose_for_source(src, given)
    finally:
        asyncio.run(src.aclose())
    proposed = [p for p in proposals if p.status == "proposed"]
    review = [p for p in proposals if p.status == "review"]
    if proposed:
        new = settings.model_copy(deep=True)
        new.source = ConnectorSettings(**{**settings.source.model_dump(),
                                          "columns": merge_columns(given, proposals)})
        save_settings(new, proj.settings_path)
        proj.__dict__.pop("settings", None)  # cached_property: read the file again
        console.print(f"columns: {len(proposed)} export column(s) placed by the proposer "
                      f"(ferry.yaml source.columns; edit there to change)")
        for p in proposed:
            console.print(f"  {p.object}: {p.column!r} → {p.target} ({p.confidence:.2f})")
        if proj.store.counts():
            err_console.print("[yellow]note:[/] records staged before this change keep the old "
                              "columns: run `ferry extract` again")
    if review:
        console.print(f"columns: {len(review)} column(s) left to the custom bag for review "
                      "(set them in ferry.yaml source.columns to place them)")
        for p in review:
            hint = f" (best guess {p.target}, {p.confidence:.2f})" if p.target else ""
            console.print(f"  review column: {p.object}: {p.column!r}{hint}")


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
        from ferry.mapping.draft import draft_mapping
        from ferry.mapping.mapping_file import save
        from ferry.mapping.validate import confirm_file

        proj = project_at(project)
        if not confirm and columns and (force or not proj.mapping_path.exists()):
            _columns(proj)
        settings = proj.settings
        profile = _profile(proj, sample)
        schema = _schema(proj) if describe else None
        path = proj.mapping_path
        if confirm:
            doc = confirm_file(path, profile, schema, by=by or getpass.getuser())
            assert doc.confirmed is not None
            console.print(f"[green]confirmed[/] {path.name} ({doc.confirmed.hash[:12]}) by "
                          f"{doc.confirmed.by}; prepare/sample/run will use it")
            return
        if path.exists() and not force:
            raise typer.BadParameter(f"{path.name} exists (edit it, or --force to start again)")
        doc = draft_mapping(settings.source.kind, settings.destination.kind, profile, schema,
                            variant or None)
        review = [(om.name, fm.source) for om in doc.objects for fm in om.fields
                  if fm.status == "review"]
        header = (f"Ferry mapping: {doc.source} → {doc.destination} (from recipe {doc.recipe}).\n"
                  "Edit freely (comments survive); then run `ferry map --confirm`.\n"
                  "status: review lines need a decision; samples of PHI fields are masked.")
        save(doc, path, header)
        console.print(f"wrote {path} — {len(doc.objects)} object maps, "
                      f"{sum(len(v) for v in doc.custom_fields.values())} custom fields to "
                      f"create, {len(review)} field(s) to review")
        for name, src in review[:20]:
            console.print(f"  review: {name}: {src}")
