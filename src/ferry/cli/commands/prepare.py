"""``ferry prepare``: create the destination schema the confirmed map needs; match owners."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ferry.cli.common import ProjectOpt, print_paths, project_at
from ferry.cli.console import console
from ferry.engine.owners import match_owners
from ferry.engine.pipeline import open_destination, run_prepare
from ferry.reports.render import write_report


def register(app: typer.Typer) -> None:
    @app.command()
    def prepare(project: Path = ProjectOpt) -> None:
        """Idempotent: fields, objects, pipelines and stages already there are reused."""
        proj = project_at(project)
        run_id, provisioned = run_prepare(proj)
        table = Table(title=f"prepare {run_id}")
        for c in ("kind", "object", "name", "key", "created"):
            table.add_column(c)
        for p in provisioned:
            table.add_row(p.item.kind, p.item.object, p.item.name, p.key,
                          "yes" if p.created else "existed")
        console.print(table)
        owners = match_owners(proj.store, open_destination(proj).users(),
                              proj.settings.options.fallback_owner_email).report()
        console.print(f"owners: {owners['matched']} practitioners matched,"
                      f" {len(owners['unmatched'])} unmatched →"
                      f" fallback {owners['fallback_owner'] or '(none set)'}")
        schema = [{"kind": p.item.kind, "object": p.item.object, "name": p.item.name,
                   "key": p.key, "created": p.created} for p in provisioned]
        print_paths(*write_report(proj.reports_dir("prepare"), "prepare",
                                  {"run": run_id, "schema": schema, "owners": owners},
                                  project=proj.settings.project))
