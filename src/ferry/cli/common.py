"""Bits every command shares: the --project option, progress callbacks, report tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.console import Group
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from ferry.cli.console import console, print_path, progress
from ferry.cli.console import print_item as print_item  # (here for the commands)
from ferry.engine.project import Project
from ferry.reports.pages import outcome

#: ``ferry extract --since`` this reads every record again (a finished extract resumes at its
#: end, so running it plainly again stages nothing)
EPOCH = "1970-01-01"

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


def fold_name(name: str, width: int) -> str:
    """``name`` whole, in lines of at most ``width`` characters broken after an underscore
    (``prescription_current_`` / ``medications``), so a map's name is never cut (an ellipsis
    inside a name could not be searched for in mapping.yaml); only a part longer than ``width``
    itself is broken inside."""
    if len(name) <= width:
        return name
    lines: list[str] = []
    line = ""
    for part in name.replace("_", "_\0").split("\0"):
        while len(part) > width:  # a part longer than the column: broken where it must
            if line:
                lines.append(line)
                line = ""
            lines.append(part[:width])
            part = part[width:]
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    if line:
        lines.append(line)
    return "\n".join(lines)


def fit_names(names: list[str], room: int, floor: int = 12) -> dict[str, str]:
    """Each name as it fits a column of ``room`` characters (never narrower than ``floor``):
    whole, folded after an underscore when it is longer (``fold_name``)."""
    width = max(floor, room)
    return {n: fold_name(n, width) for n in names}


def empty_rows_line(names: list[str], what: str = "nothing to do") -> str:
    """The rows a table leaves out because every count is zero, in one line."""
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return f"{what} ({len(names)}): {shown}"


def stats_table(title: str, stats: dict[str, Any], dry_run: bool = False,
                width: int | None = None) -> Group:
    """One row per object map with its outcome buckets, and a total; columns that are zero on
    every row are left out, maps with nothing in any bucket are named in one line below, and
    long map names are folded after an underscore (``fold_name``, never cut), so the table fits
    the terminal (80 columns). With no map in any bucket only that line is shown."""
    rows = {name: outcome(st.as_dict() if hasattr(st, "as_dict") else st, dry_run)
            for name, st in stats.items()}
    cols = [(h, k) for h, k in COLUMNS if any(r[k] for r in rows.values())]
    busy = {n: r for n, r in rows.items() if any(r[k] for _, k in COLUMNS)}
    idle = [n for n in rows if n not in busy]
    widths = [max(len(h), len(f"{sum(r[k] for r in rows.values()):,}")) for h, k in cols]
    # one space between columns and one at each edge (padding 0, SIMPLE_HEAD's dividers)
    room = (width or console.width) - sum(widths) - len(cols) - 2
    names = fit_names(list(busy), room)
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 0), show_footer=True)
    table.add_column("map", footer="total", no_wrap=True,
                     min_width=min(max((len(ln) for n in names.values() for ln in n.split("\n")),
                                       default=5), max(room, 12)))
    for (h, k), w in zip(cols, widths, strict=True):
        table.add_column(h, justify="right", no_wrap=True, min_width=w,
                         footer=f"{sum(r[k] for r in rows.values()):,}")
    for name, r in busy.items():
        table.add_row(names[name], *[f"{r[k]:,}" if r[k] else "" for _, k in cols])
    # nothing in any bucket (a delta pass that only deleted): no table of empty rows and a
    # blank total, only the title and the line below
    parts: list[Any] = [table] if busy else [Text(title)] if title else []
    if idle:
        parts.append(Text(empty_rows_line(idle, "no records for"), style="dim"))
    return Group(*parts)


def runs_of(project: Project) -> list[dict[str, Any]]:
    """The project's runs as the report timelines want them."""
    return [{"kind": r.kind, "started_at": r.started_at, "finished_at": r.finished_at}
            for r in project.store.runs()]


def shown_path(path: Path) -> str:
    """A report's path relative to the current folder when it is under it
    (``clinic/reports/run/….html``, which fits 80 columns), else as it is."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def print_paths(*paths: Path) -> None:
    for p in paths:
        print_path("report:", shown_path(p))


def new_progress() -> Progress:
    return progress()


def verdict(ok: bool | None, text: str, next_cmd: str = "") -> None:
    """The last line of every verb: PASS/FAIL (or a neutral done), what it means, what next."""
    mark = "[green]PASS[/]" if ok else "[yellow]DONE[/]" if ok is None else "[red]FAIL[/]"
    console.print(f"{mark} {text}" + (f"\nnext: {next_cmd}" if next_cmd else ""))
