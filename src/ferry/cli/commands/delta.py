"""``ferry delta``: pick up what changed at the source since the last watermark."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import typer

from ferry.cli.common import (
    ProjectOpt,
    load_progress,
    print_paths,
    project_at,
    stats_table,
    verdict,
)
from ferry.cli.console import console
from ferry.engine.pipeline import delta as run_delta
from ferry.reports.render import write_report
from ferry.reports.run import changes_line, delta_report_data


def deleted_line(deletions: dict[str, Any]) -> str:
    """What the pass deleted in the destination (the table has no deleted column): ``11
    deleted in the destination: 2 deleted at the source, 9 their dependants`` (records that
    cannot exist without the deleted ones); empty when nothing was."""
    own, deps = deletions.get("deleted", 0), deletions.get("dependants_deleted", 0)
    if not own and not deps:
        return ""
    return (f"  {own + deps:,} deleted in the destination: {own:,} deleted at the source,"
            f" {deps:,} their dependants")


def register(app: typer.Typer) -> None:
    @app.command()
    def delta(project: Path = ProjectOpt,
              watch: bool = typer.Option(False, help="repeat over the cutover window"),
              until: str = typer.Option("", help="with --watch: stop at this ISO time"),
              every: float = typer.Option(60.0, help="with --watch: seconds between passes"),
              ) -> None:
        """Creates, edits and deletes since the watermark, upserted by source id. The report
        lists every change with its outcome; exit 1 when a change is unaccounted for."""
        proj = project_at(project)
        end = dt.datetime.fromisoformat(until) if until else None
        if end is not None and end.tzinfo is None:
            end = end.replace(tzinfo=dt.UTC)
        passes = lost = 0
        while True:
            with load_progress() as update:
                stats, report, deleted = run_delta(proj, progress=update)
            passes += 1
            # the title above the table, not folded inside its narrow width
            console.print(f"delta pass {passes} ({report.run_id}):"
                          f" {sum(stats.staged.values())} changed, {deleted} deleted",
                          highlight=False)
            console.print(stats_table("", report.stats))
            # no column: not this pass's news
            if waits := sum(getattr(st, "waiting", 0) for st in report.stats.values()):
                console.print(f"  {waits:,} record(s) an earlier pass could not link still wait"
                              " for a parent with no destination record (unchanged at the"
                              " source; ferry reconcile lists them as skipped)", highlight=False)
            if line := deleted_line(getattr(report, "deletions", None) or {}):
                console.print(line, highlight=False)
            ch = report.changes
            console.print(changes_line(ch))
            for obj, why in getattr(stats, "deletions_unseen", {}).items():  # not "0 deleted"
                console.print(f"  [yellow]deletions not seen:[/] {obj}: {why}")
            if kept := (getattr(report, "deletions", None) or {}).get("links_emptied"):
                console.print(f"  {kept} record(s) kept with a link emptied: the record it"
                              " named was deleted at the source (report: deletions.emptied)")
            print_paths(*write_report(proj.reports_dir("delta"), "delta",
                                      delta_report_data(stats, report, deleted),
                                      project=proj.settings.project, name=report.run_id))
            lost += int(ch.get("unaccounted", 0))
            if not watch or (end is not None and dt.datetime.now(dt.UTC) >= end):
                if lost:  # a change neither in the destination nor explained: never a pass
                    verdict(False, f"delta: {lost} source change(s) unaccounted for (see the"
                            " report's changes)", f"ferry reconcile -p {project}")
                    raise typer.Exit(1)
                # the changes the line above counts (rows staged count a row exported twice
                # twice, so "4 changes" followed "3 source change(s)")
                verdict(None, f"delta: {passes} pass(es); the last took"
                        f" {int(ch.get('total', 0)):,} source change(s), each accounted for",
                        f"ferry reconcile -p {project}")
                return
            time.sleep(every)
