"""``ferry run``: the full load (``--dry-run`` classifies every record without writing)."""

from __future__ import annotations

from pathlib import Path

import typer

from ferry.cli.common import ProjectOpt, load_progress, print_paths, project_at, stats_table
from ferry.cli.console import console
from ferry.engine.pipeline import load, migrate
from ferry.engine.plan import plan_steps
from ferry.reports.render import write_report
from ferry.reports.run import run_report_data


def register(app: typer.Typer) -> None:
    @app.command()
    def run(project: Path = ProjectOpt,
            dry_run: bool = typer.Option(False, "--dry-run", help="plan and classify only"),
            with_extract: bool = typer.Option(False, "--with-extract",
                                              help="extract and load overlapped")) -> None:
        """Load everything staged, in dependency order; resumable after any interruption."""
        proj = project_at(project)
        with load_progress() as update:
            if with_extract and not dry_run:
                _, report = migrate(proj, progress=update)
            else:
                report = load(proj, dry_run=dry_run, progress=update)
        console.print(stats_table(f"{'dry run' if dry_run else 'run'} {report.run_id}",
                                  report.stats))
        if report.withheld:
            console.print(f"[yellow]no BAA confirmation: {len(report.withheld)} clinical field"
                          " map(s) withheld and flagged content held (ferry check --baa-by …)[/]")
        if report.phi_queue.get("pending"):
            console.print(f"[yellow]{report.phi_queue['pending']} record(s) wait for PHI review"
                          " (ferry review)[/]")
        data = run_report_data(report, proj.store)
        if dry_run:
            from ferry.engine.pipeline import confirmed_mapping, open_destination
            from ferry.engine.prepare import apply_keys

            doc = apply_keys(confirmed_mapping(proj), proj.store)
            data["plan"] = [s.as_dict() for s in plan_steps(doc, proj.store,
                                                             open_destination(proj))]
        print_paths(*write_report(proj.reports_dir("run"), "run", data,
                                  project=proj.settings.project,
                                  name="dry-run" if dry_run else report.run_id))
