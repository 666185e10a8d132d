"""Bits every command shares: the --project option, progress callbacks, report tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.progress import Progress
from rich.table import Table

from ferry.cli.console import console, progress
from ferry.engine.project import Project
from ferry.reports.pages import outcome

ProjectOpt = typer.Option(Path("."), "--project", "-p", help="project folder (ferry.yaml)")


def project_at(path: Path) -> Project:
    """The project, its ferry.yaml loaded and its connector keys checked (unknown kinds and
    keys are refused with the valid ones listed, before any connection is made)."""
    from ferry.cli.settings_help import check_keys, require_kind

    proj = Project.at(path)
    s = proj.settings
    for role, conn in (("source", s.source), ("destination", s.destination)):
        require_kind(role, conn.kind)
        check_keys(role, conn.kind, list(conn.options()))
    return proj


class Tracker:
    """A progress callback for ``engine.load`` (one bar per object map) that remembers where
    the load is, so an interruption can say where it stopped."""

    def __init__(self, prog: Progress) -> None:
        self.prog = prog
        self.bars: dict[str, Any] = {}
        self.last: tuple[str, int, int] | None = None

    def __call__(self, name: str, done: int, total: int) -> None:
        if name not in self.bars:
            self.bars[name] = self.prog.add_task(name, total=total)
        self.prog.update(self.bars[name], completed=done, total=max(total, done))
        self.last = (name, done, total)

    def where(self) -> str:
        if self.last is None:
            return "before the first object map"
        name, done, total = self.last
        return f"in {name} ({done:,} of {total:,} records looked at)"


@contextmanager
def load_progress() -> Iterator[Tracker]:
    with progress() as prog:
        yield Tracker(prog)


#: (header, how to read it from a map's stats) — the run's buckets, or a dry run's plan
COLUMNS: list[tuple[str, str]] = [("create", "created"), ("update", "updated"),
                                  ("same", "unchanged"), ("attach", "attached"),
                                  ("merged", "merged"), ("excl.", "excluded"), ("held", "held"),
                                  ("fallback", "fallback"), ("skip", "skipped")]


def stats_table(title: str, stats: dict[str, Any], dry_run: bool = False) -> Table:
    """One row per object map with its outcome buckets, and a total; columns that are zero on
    every row are left out, so the table fits 80 columns (long map names wrap, never the
    headers)."""
    rows = {name: outcome(st.as_dict() if hasattr(st, "as_dict") else st, dry_run)
            for name, st in stats.items()}
    cols = [(h, k) for h, k in COLUMNS if any(r[k] for r in rows.values())]
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_footer=True,
                  collapse_padding=True)
    table.add_column("map", overflow="fold", footer="total", min_width=12)
    for h, k in cols:
        table.add_column(h, justify="right", no_wrap=True, min_width=len(h),
                         footer=f"{sum(r[k] for r in rows.values()):,}")
    for name, r in rows.items():
        table.add_row(name, *[f"{r[k]:,}" if r[k] else "" for _, k in cols])
    return table


def runs_of(project: Project) -> list[dict[str, Any]]:
    """The project's runs as the report timelines want them."""
    return [{"kind": r.kind, "started_at": r.started_at, "finished_at": r.finished_at}
            for r in project.store.runs()]


def print_paths(*paths: Path) -> None:
    for p in paths:
        console.print(f"  report: {p}")


def new_progress() -> Progress:
    return progress()


def verdict(ok: bool | None, text: str, next_cmd: str = "") -> None:
    """The last line of every verb: PASS/FAIL (or a neutral done), what it means, what next."""
    mark = "[green]PASS[/]" if ok else "[yellow]DONE[/]" if ok is None else "[red]FAIL[/]"
    console.print(f"{mark} {text}" + (f"\nnext: {next_cmd}" if next_cmd else ""))
