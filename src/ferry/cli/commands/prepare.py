"""``ferry prepare``: create the destination schema the confirmed map needs; match owners."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich import box
from rich.table import Table

from ferry.cli.common import ProjectOpt, print_paths, project_at, verdict
from ferry.cli.console import console
from ferry.engine.owners import match_owners
from ferry.engine.pipeline import open_destination, run_prepare
from ferry.engine.prepare import schema_term
from ferry.reports.pages import write_prepare


def register(app: typer.Typer) -> None:
    @app.command()
    def prepare(project: Path = ProjectOpt) -> None:
        """Create the custom fields, objects, pipelines and stages the map needs and match owners
        by email; what is already there is reused."""
        proj = project_at(project)
        run_id, provisioned = run_prepare(proj)
        counts: Counter[tuple[str, str, str]] = Counter(
            (p.item.kind, p.item.object, "created" if p.created else "existed")
            for p in provisioned)
        table = Table(title=f"prepare {run_id}", box=box.SIMPLE_HEAD, collapse_padding=True)
        for c in ("what", "object", "created", "existed"):
            table.add_column(c, justify="right" if c in ("created", "existed") else "left")
        for kind, obj in dict.fromkeys((k, o) for k, o, _ in counts):  # the destination's words
            table.add_row(*schema_term(proj.settings.destination.kind, kind, obj),
                          str(counts[(kind, obj, "created")] or ""),
                          str(counts[(kind, obj, "existed")] or ""))
        console.print(table)
        made = [p for p in provisioned if p.created]
        if made:
            names = ", ".join(f"{p.item.object}.{p.item.name}" for p in made[:5])
            console.print(f"created {len(made)}, e.g. {names}" + (" …" if len(made) > 5
                                                                   else "") + " (all in the report)")
        dest = open_destination(proj)
        try:
            owners = match_owners(proj.store, dest.users(),
                                  proj.settings.options.fallback_owner_email).report()
        finally:
            dest.close()
        unmatched = owners["unmatched"]
        console.print(f"owners: {owners['matched']} practitioner(s) matched to users by email,"
                      f" {len(unmatched)} unmatched → fallback"
                      f" {owners['fallback_owner'] or '(none set)'}")
        if unmatched and not owners["fallback_owner"]:
            console.print("[yellow]hint:[/] records of unmatched practitioners get no owner;"
                          " set options.fallback_owner_email in ferry.yaml to a destination"
                          " user's email")
        schema = [{"kind": p.item.kind, "object": p.item.object, "name": p.item.name,
                   "key": p.key, "created": p.created} for p in provisioned]
        print_paths(*write_prepare(proj.reports_dir("prepare"),
                                   {"run": run_id, "schema": schema, "owners": owners},
                                   project=proj.settings.project))
        verdict(True, f"prepare: {len(made)} created, {len(provisioned) - len(made)} already"
                " there", f"ferry sample -p {project}")
