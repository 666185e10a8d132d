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
    return Project.at(path)


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
