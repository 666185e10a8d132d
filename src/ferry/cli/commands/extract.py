"""``ferry extract``: pull the source into the staging store (paginated, resumable)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from ferry.cli.common import (
    EPOCH,
    ProjectOpt,
    print_item,
    print_paths,
    project_at,
    runs_of,
    verdict,
)
from ferry.cli.console import console, progress
from ferry.engine.extract import ExtractStats
from ferry.engine.pipeline import run_extract
from ferry.errors import ConfigError
from ferry.reports.pages import write_extract

SHOWN = 20  # problem lines printed; the report lists them all


def _since(text: str) -> dt.datetime | None:
    """``--since``: an ISO date or time; without an offset it is UTC (the staged times are
    aware, and comparing a naive one with them failed with a TypeError)."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--since {text!r} is not an ISO date or time"
                          " (YYYY-MM-DD, or YYYY-MM-DDTHH:MM with an offset such as +10:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


_AT_LINE = re.compile(r"^(?P<file>.+?) line (?P<line>\d+): (?P<why>.+)$", re.S)


def problem_lines(problems: list[Any]) -> list[str]:
    """One line per file and reason, its lines listed (``skipped x173: Invoices.csv lines 2, 3,
    4, … 174: amount: Field required``): a column the whole file lacks is one line, not 173."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for s in problems:
        kind = {"extract-field": "kept", "extract-duplicate": "duplicate"}.get(
            s.stage, "skipped")
        m = _AT_LINE.match(s.reason)
        key = (kind, m["file"], m["why"]) if m else (kind, s.reason, "")
        groups.setdefault(key, []).append(m["line"] if m else "")
    out = []
    for (kind, file, why), at in groups.items():
        if not why:
            out.append(f"{kind}: {file}" if len(at) == 1 else f"{kind} x{len(at)}: {file}")
        elif len(at) == 1:
            out.append(f"{kind}: {file} line {at[0]}: {why}")
        else:
            shown = ", ".join(at[:3]) + (f", … {at[-1]}" if len(at) > 3 else "")
            out.append(f"{kind} x{len(at)}: {file} lines {shown}: {why}")
    return out


def report_problems(proj: Any, run_id: str, stats: ExtractStats) -> list[Any]:
    """An extract run's problems, one line per file and reason, and its report written; also
    for the read again of ``ferry map`` (a column the map placed anew whose values do not fit
    its field would otherwise lose them unsaid)."""
    problems = [s for s in proj.store.skips(run_id) if s.stage in (
        "extract", "extract-field", "extract-duplicate")]
    lines = problem_lines(problems)
    for line in lines[:SHOWN]:  # file, line, column and reason; never the value
        print_item(line, plain=True)
    if len(lines) > SHOWN:
        console.print(f"  … {len(lines) - SHOWN} more kinds of problem in the extract"
                      " report")
    print_paths(*write_extract(proj.reports_dir("extract"),
                              {"run": run_id, "stats": stats.__dict__,
                               "problems": [{"ref": s.ref, "field": s.field,
                                             "reason": s.reason, "stage": s.stage}
                                            for s in problems],
                               "staged": proj.store.counts()},
                              project=proj.settings.project, runs=runs_of(proj)))
    return problems


def register(app: typer.Typer) -> None:
    @app.command()
    def extract(project: Path = ProjectOpt,
                since: str = typer.Option("", help="only changes since this ISO time"),
                objects: str = typer.Option("", help="comma-separated objects (default all)"),
                ) -> None:
        """Pull the source into the local staging store; killed at any point, running it again
        resumes from the last page."""
        proj = project_at(project)
        since_dt = _since(since)
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
                      f" records, {stats.files} files, {stats.errors} rows skipped,"
                      f" {stats.field_issues} values left empty (records kept)")
        for v in stats.verdicts:
            print_item(f"[yellow]file:[/] {escape(str(v))}")
        problems = report_problems(proj, run_id, stats)
        if not stats.pages and (staged := proj.store.counts()) and since_dt is None:
            # a finished extract resumes at its end: say so, rather than "0 records staged"
            verdict(None, f"extract: every object was already read to the end"
                    f" ({sum(staged.values()):,} records staged before); nothing new",
                    f"ferry audit -p {project}; changes at the source: ferry delta -p {project};"
                    f" to read everything again: ferry extract --since {EPOCH} -p {project}")
            return
        verdict(True if not problems and not stats.verdicts else None,
                f"extract: {sum(stats.staged.values()):,} records staged"
                + (f", {len(problems):,} problem(s) listed in the report" if problems else ""),
                f"ferry audit -p {project}")
