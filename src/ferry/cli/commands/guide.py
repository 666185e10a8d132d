"""``ferry guide``: the rebuild reference for workflows, reminders and policies."""

from __future__ import annotations

from pathlib import Path

import typer

from ferry.cli.common import ProjectOpt, print_paths, project_at, verdict
from ferry.cli.console import console
from ferry.engine.guide import guide as build_guide
from ferry.reports.verification import write_guide


def register(app: typer.Typer) -> None:
    @app.command()
    def guide(project: Path = ProjectOpt,
              destination: str = typer.Option("", help="destination kind (default: the"
                                                       " project's)")) -> None:
        """Rebuild reference: workflows, reminders, policies and how to rebuild each."""
        proj = project_at(project)
        doc = None
        if proj.mapping_path.exists():
            from ferry.mapping.mapping_file import load

            doc = load(proj.mapping_path)
        data = build_guide(proj.store, destination or proj.settings.destination.kind, doc)
        s = data["summary"]
        console.print(f"guide for {data['tool']}: {s['workflows']} workflow(s),"
                      f" {s['reminder_rules']} reminder rule(s), {s['policies']} policy(ies),"
                      f" {s['maps_not_migrated']} map(s) not migrated")
        print_paths(*write_guide(proj.reports_dir("guide"), data,
                                 project=proj.settings.project))
        verdict(None, "guide written: rebuild these by hand in the destination",
                f"open the guide report; ferry status -p {project}")
