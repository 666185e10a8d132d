"""``ferry rollback``: revert every write of the run(s) from the audit log, then verify."""

from __future__ import annotations

from pathlib import Path

import typer

from ferry.cli.common import ProjectOpt, print_paths, project_at, verdict
from ferry.cli.console import console
from ferry.engine.pipeline import run_rollback
from ferry.engine.rollback import preview, target_runs
from ferry.reports.pages import write_rollback

SHOWN = 12


def register(app: typer.Typer) -> None:
    @app.command()
    def rollback(project: Path = ProjectOpt,
                 run: str = typer.Option("", help="one run id (default: every run not yet"
                                                  " rolled back, newest first)"),
                 yes: bool = typer.Option(False, "--yes", help="do not ask")) -> None:
        """Delete what the runs created, restore what they updated, remove schema they made.

        Exit 0: rolled back and verified; 1: verification found something left or changed
        (listed); 2: configuration.
        """
        proj = project_at(project)
        runs = target_runs(proj.store, run or None)
        todo = preview(proj.audit, runs, proj.settings.destination.kind)
        if not todo:
            console.print(f"nothing to roll back in {len(runs)} run(s)")
        else:
            console.print(f"rollback of {len(runs)} run(s) ({', '.join(runs[:3])}"
                          f"{', …' if len(runs) > 3 else ''}) will, in the destination:")
            shown = sorted(todo.items(), key=lambda kv: -kv[1])[:SHOWN]
            wide = max(len(action) for (action, _), _ in shown)  # counts in one column
            for (action, obj), n in shown:
                console.print(f"  {action:<{wide}} {n:>6,} {obj}")
            if len(todo) > SHOWN:
                console.print(f"  … and {len(todo) - SHOWN} more kinds of change")
        try:
            go = yes or not todo or typer.confirm(
                f"Roll these back in {proj.settings.destination.kind}?")
        except typer.Abort:  # no terminal to answer (a script, CI): never "Aborted." alone
            verdict(False, "rollback not started: no answer to the question (input closed or"
                    f" interrupted); nothing was changed in {proj.settings.destination.kind}",
                    f"ferry rollback -p {project} --yes (rolls back without asking)")
            raise typer.Exit(2) from None
        if not go:
            verdict(None, f"rollback cancelled: nothing was changed in"
                    f" {proj.settings.destination.kind}",
                    f"ferry rollback -p {project} when you mean it (--yes skips this"
                    " question)")
            return
        result = run_rollback(proj, run or None)
        console.print(f"deleted {result.deleted:,}, restored {result.restored:,}, re-created"
                      f" {result.recreated:,}, schema removed {result.schema_removed:,}")
        wrong = [f"{obj}: {n:,} before the run(s), {result.counts_after.get(obj)} now"
                 for obj, n in result.counts_before.items()
                 if result.counts_after.get(obj) != n]
        if not result.restored_hash_ok:
            wrong.append("restored records differ from their before-images")
        wrong += result.failures
        for line in wrong[:SHOWN]:
            console.print(f"  [red]not verified:[/] {line}")
        if len(wrong) > SHOWN:
            console.print(f"  … {len(wrong) - SHOWN} more in the report")
        print_paths(*write_rollback(proj.reports_dir("rollback"),
                                    {**result.__dict__, "verified": result.verified,
                                     "problems": wrong}, project=proj.settings.project))
        if not result.verified:
            verdict(False, f"rollback NOT verified: {len(wrong)} problem(s) above",
                    f"ferry rollback -p {project} again (it resumes; already-gone records"
                    " count as done), then ferry status")
            raise typer.Exit(1)
        verdict(True, "rolled back and verified: the destination is as before",
                f"ferry status -p {project}")
