"""Bits every command shares: the --project option, progress callbacks, report tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress
from rich.table import Table

from ferry.cli.console import console, progress
from ferry.engine.project import Project

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


@contextmanager
def load_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback for ``engine.load`` showing one bar per object map."""
    bars: dict[str, Any] = {}
    with progress() as prog:
        def update(name: str, done: int, total: int) -> None:
            if name not in bars:
                bars[name] = prog.add_task(name, total=total)
            prog.update(bars[name], completed=done, total=max(total, done))
        yield update


def stats_table(title: str, stats: dict[str, Any]) -> Table:
    """One row per object map with its outcome buckets."""
    cols = ["created", "updated", "unchanged", "folded", "uploaded", "merged", "excluded",
            "held", "skipped"]
    table = Table(title=title)
    table.add_column("map")
    for c in cols:
        table.add_column(c, justify="right")
    for name, st in stats.items():
        d = st.as_dict() if hasattr(st, "as_dict") else st
        table.add_row(name, *[str(d.get(c, 0) or "") for c in cols])
    return table


def print_paths(*paths: Path) -> None:
    for p in paths:
        console.print(f"  report: {p}")


def new_progress() -> Progress:
    return progress()


def verdict(ok: bool | None, text: str, next_cmd: str = "") -> None:
    """The last line of every verb: PASS/FAIL (or a neutral done), what it means, what next."""
    mark = "[green]PASS[/]" if ok else "[yellow]DONE[/]" if ok is None else "[red]FAIL[/]"
    console.print(f"{mark} {text}" + (f"\nnext: {next_cmd}" if next_cmd else ""))
