"""``ferry extract``: pull the source into the staging store (paginated, resumable)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from ferry.cli.common import ProjectOpt, print_paths, project_at
from ferry.cli.console import console, progress
from ferry.engine.extract import ExtractStats
from ferry.engine.pipeline import run_extract
from ferry.reports.render import write_report


def register(app: typer.Typer) -> None:
    @app.command()
    def extract(project: Path = ProjectOpt,
                since: str = typer.Option("", help="only changes since this ISO time"),
                objects: str = typer.Option("", help="comma-separated objects (default all)"),
                ) -> None:
        """Extract; killed at any point, running it again resumes from the last page."""
        proj = project_at(project)
        since_dt = dt.datetime.fromisoformat(since) if since else None
        with progress() as prog:
            tasks: dict[str, Any] = {}

            def on_page(page: Any, stats: ExtractStats) -> None:
                if page.object not in tasks:
                    tasks[page.object] = prog.add_task(f"extract {page.object}", total=None)
                prog.update(tasks[page.object], completed=stats.staged.get(page.object, 0)
                            + stats.unchanged.get(page.object, 0))

            run_id, stats = run_extract(proj, since=since_dt,
                                        objects=[o for o in objects.split(",") if o] or None,
                                        on_page=on_page)
        console.print(f"extract {run_id}: {stats.pages} pages, staged {sum(stats.staged.values())}"
                      f" records, {stats.files} files, {stats.errors} rows skipped")
        print_paths(*write_report(proj.reports_dir("extract"), "extract",
                                  {"run": run_id, "stats": stats.__dict__,
                                   "staged": proj.store.counts()},
                                  project=proj.settings.project))
