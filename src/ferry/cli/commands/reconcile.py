"""``ferry reconcile``: counts, sums, orphans and a per-record discrepancy log."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ferry.cli.common import ProjectOpt, empty_rows_line, print_paths, project_at, verdict
from ferry.cli.console import console
from ferry.engine.reconcile import run_reconcile
from ferry.reports.verification import write_reconcile

#: the balance's columns, in the order the sum is written
BALANCE = ("source", "loaded", "merged", "excluded", "held", "fallback", "skipped",
           "unaccounted")
#: a column's heading where it is not its name
HEADING = {"excluded": "excl.", "unaccounted": "MISSING"}


def balance_table(objects: list[dict[str, Any]]) -> Group:
    """Per object: source = loaded + merged + excluded + held + fallback (a practitioner with
    no CRM user, as the run table says) + skipped (+ MISSING); columns
    zero on every row are left out, and objects with nothing on either side are named in one
    line below the table instead of as empty rows."""
    cols = [c for c in BALANCE if any(o.get(c) for o in objects)]
    sides = [HEADING.get(c, c) for c in cols if c != "source"]
    title = Text(f"reconcile: source = {' + '.join(sides) or 'nothing'}", style="italic")
    table = Table(box=box.SIMPLE_HEAD, collapse_padding=True)
    table.add_column("object", overflow="fold")
    for c in cols:
        table.add_column(HEADING.get(c, c), justify="right", no_wrap=True)
    idle = []
    for o in objects:
        if not any(o.get(c) for c in BALANCE):
            idle.append(o["object"])
            continue
        table.add_row(o["object"], *[(f"[red]{o[c]:,}[/]" if c == "unaccounted"
                                      else f"{o[c]:,}") if o.get(c) else "" for c in cols])
    parts: list[Any] = [title, table]
    if idle:
        parts.append(Text(empty_rows_line(idle, "no records in source or destination"),
                          style="dim"))
    return Group(*parts)


def register(app: typer.Typer) -> None:
    @app.command()
    def reconcile(project: Path = ProjectOpt) -> None:
        """Counts, sums, orphans and a discrepancy log, source vs destination.

        Exit status 0 when balanced, 1 when any discrepancy was found.
        """
        proj = project_at(project)
        result = run_reconcile(proj)
        console.print(balance_table(result.objects))
        for f in result.fields_not_taken[:10]:  # records accounted for; a field not as sent
            console.print(f"  {f['object']}.{f['field']}: {f['records']:,} {f['outcome']}"
                          f" ({escape(f['reason'])}; in the skip file)")
        if len(result.fields_not_taken) > 10:
            console.print(f"  … {len(result.fields_not_taken) - 10} more in the report")
        kinds = Counter(d["kind"] for d in result.discrepancies)
        # each problem once (a deleted person and everything still pointing at it is one),
        # with what to do about it; the report keeps every line
        for p in result.problems[:10]:
            console.print(f"  [red]{p['what']}[/]\n    do: {p['action']}")
        if len(result.problems) > 10:
            console.print(f"  … {len(result.problems) - 10} more problem(s) in the report")
        name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-reconcile"
        print_paths(*write_reconcile(proj.reports_dir("reconcile"), result.as_dict(),
                                     project=proj.settings.project, name=name))
        if not result.balanced:
            verdict(False, f"NOT balanced: {len(result.problems):,} problem(s) in"
                    f" {len(result.discrepancies):,} discrepancy line(s)"
                    f" ({', '.join(f'{k} {v}' for k, v in kinds.most_common(4))})",
                    f"do what each problem says, then ferry reconcile -p {project} again")
            raise typer.Exit(1)
        verdict(True, "balanced: every source record is accounted for",
                f"ferry delta -p {project} during cutover; ferry rollback -p {project} undoes"
                " the migration if it must be abandoned")
