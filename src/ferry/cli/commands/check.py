"""``ferry check``: credentials, reachability, region, permissions, BAA confirmation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from ferry.cli.common import ProjectOpt, print_paths, project_at
from ferry.cli.console import console
from ferry.engine.pipeline import check as run_check
from ferry.reports.render import write_report
from ferry.settings import save_settings


def register(app: typer.Typer) -> None:
    @app.command()
    def check(project: Path = ProjectOpt,
              baa_by: str = typer.Option("", help="record a BAA confirmation: who confirmed"),
              baa_ref: str = typer.Option("", help="…and the agreement's reference")) -> None:
        """Check both systems and the BAA status; exit 1 when something fails."""
        proj = project_at(project)
        if baa_by and baa_ref:
            s = proj.settings
            s.baa.confirmed, s.baa.by, s.baa.reference = True, baa_by, baa_ref
            s.baa.at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            save_settings(s, proj.settings_path)
        items = run_check(proj)
        table = Table(title="ferry check")
        for c in ("check", "ok", "detail", "fix"):
            table.add_column(c)
        for it in items:
            table.add_row(it.name, "[green]ok[/]" if it.ok else "[red]FAIL[/]", it.detail,
                          "" if it.ok else it.fix)
        console.print(table)
        print_paths(*write_report(proj.reports_dir("check"), "check",
                                  {"checks": [it.__dict__ for it in items]},
                                  project=proj.settings.project))
        hard = [it for it in items if not it.ok and it.name != "BAA confirmation"]
        if hard:
            raise typer.Exit(1)
