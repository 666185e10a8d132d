"""``ferry rollback``: revert every write of the run(s) from the audit log, then verify."""

from __future__ import annotations

from pathlib import Path

import typer

from ferry.cli.common import ProjectOpt, print_paths, project_at
from ferry.cli.console import console
from ferry.engine.pipeline import run_rollback
from ferry.reports.render import write_report


def register(app: typer.Typer) -> None:
    @app.command()
    def rollback(project: Path = ProjectOpt,
                 run: str = typer.Option("", help="one run id (default: every run not yet"
                                                  " rolled back, newest first)"),
                 yes: bool = typer.Option(False, "--yes", help="do not ask")) -> None:
        """Delete what the runs created, restore what they updated, remove schema they made."""
        proj = project_at(project)
        if not yes:
            typer.confirm(f"Roll back {run or 'every run'} of {proj.settings.project}?",
                          abort=True)
        result = run_rollback(proj, run or None)
        status = "[green]verified[/]" if result.verified else "[red]NOT verified[/]"
        console.print(f"rollback of {len(result.runs)} run(s): deleted {result.deleted},"
                      f" restored {result.restored}, re-created {result.recreated}, schema"
                      f" removed {result.schema_removed} — {status}")
        for obj, n in result.counts_before.items():
            console.print(f"  {obj}: before {n}, now {result.counts_after.get(obj)}")
        print_paths(*write_report(proj.reports_dir("rollback"), "rollback",
                                  {**result.__dict__, "verified": result.verified},
                                  project=proj.settings.project))
        if not result.verified:
            raise typer.Exit(1)
