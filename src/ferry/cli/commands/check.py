"""``ferry check``: credentials, reachability, region, permissions, BAA confirmation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from ferry.cli.common import ProjectOpt, print_paths, project_at, verdict
from ferry.cli.console import console
from ferry.engine.pipeline import check as run_check
from ferry.reports.pages import write_check
from ferry.settings import save_settings

STYLE = {"ok": "[green]ok[/]", "WARN": "[yellow]WARN[/]", "FAIL": "[red]FAIL[/]"}


def register(app: typer.Typer) -> None:
    @app.command()
    def check(project: Path = ProjectOpt,
              baa_by: str = typer.Option("", help="record a BAA confirmation: who confirmed"),
              baa_ref: str = typer.Option("", help="…and the agreement's reference")) -> None:
        """Check both systems and the BAA status.

        Exit 0: every check ok (WARN rows allowed: nothing is broken, e.g. no BAA yet, so
        clinical data is held back); 1: a check FAILed (its row says the setting to change);
        2: ferry.yaml cannot be used.
        """
        proj = project_at(project)
        if baa_by and baa_ref:
            s = proj.settings
            s.baa.confirmed, s.baa.by, s.baa.reference = True, baa_by, baa_ref
            s.baa.at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            save_settings(s, proj.settings_path)
        items = run_check(proj)
        table = Table(title="ferry check", show_lines=False)
        table.add_column("", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("detail / what to change", overflow="fold")
        for it in items:
            detail = it.detail + (f"\n[yellow]→ {it.fix}[/]" if not it.ok and it.fix else "")
            table.add_row(STYLE[it.status], it.name, detail)
        console.print(table)
        print_paths(*write_check(proj.reports_dir("check"),
                                 [{**it.__dict__, "status": it.status} for it in items],
                                 project=proj.settings.project))
        failed = [it.name for it in items if it.status == "FAIL"]
        warned = [it.name for it in items if it.status == "WARN"]
        if failed:
            verdict(False, f"{len(failed)} of {len(items)} checks failed ({', '.join(failed)})",
                    f"change what the → lines say, then ferry check -p {project}")
            raise typer.Exit(1)
        verdict(True, f"{len(items)} checks passed"
                + (f", {len(warned)} warning ({', '.join(warned)})" if warned else ""),
                f"ferry extract -p {project}, then ferry audit -p {project}")
