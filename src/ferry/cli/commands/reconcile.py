"""``ferry reconcile``: counts, sums, orphans and a per-record discrepancy log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from ferry.cli.common import ProjectOpt, print_paths, project_at
from ferry.cli.console import console
from ferry.engine.reconcile import run_reconcile
from ferry.reports.verification import write_reconcile


def register(app: typer.Typer) -> None:
    @app.command()
    def reconcile(project: Path = ProjectOpt) -> None:
        """Counts, sums, orphans and a discrepancy log, source vs destination.

        Exit status 0 when balanced, 1 when any discrepancy was found.
        """
        proj = project_at(project)
        result = run_reconcile(proj)
        for o in result.objects:
            console.print(f"  {o['object']}: source {o['source']} = loaded {o['loaded']} +"
                          f" merged {o['merged']} + excluded {o['excluded']} + held {o['held']}"
                          f" + skipped {o['skipped']}"
                          + (f" [red]+ unaccounted {o['unaccounted']}[/]" if o["unaccounted"]
                             else ""))
        for d in result.discrepancies[:30]:
            console.print(f"  [red]{d['kind']}[/] {d['ref']}: {d['detail']}")
        status = "[green]balanced[/]" if result.balanced else \
            f"[red]NOT balanced ({len(result.discrepancies)} discrepancies)[/]"
        console.print(f"reconcile: {status}")
        name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-reconcile"
        print_paths(*write_reconcile(proj.reports_dir("reconcile"), result.as_dict(),
                                     project=proj.settings.project, name=name))
        if not result.balanced:
            raise typer.Exit(1)
