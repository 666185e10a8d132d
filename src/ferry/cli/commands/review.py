"""``ferry review``: the PHI review queue — flagged notes and files wait for a decision.

This screen shows PHI (the highlighted spans) and is meant for clinical staff; nothing it shows
goes to logs or to reports for non-clinical staff.
"""

from __future__ import annotations

import getpass
from itertools import islice
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from ferry.cli.common import ProjectOpt, print_paths, project_at, verdict
from ferry.cli.console import console
from ferry.phi import queue
from ferry.reports.pages import write_review


def _highlight(text: str, spans: list[queue.Span]) -> Text:
    out = Text()
    pos = 0
    for s in sorted(spans):
        out.append(text[pos:s.start])
        out.append(f"{text[s.start:s.end]}", style="bold black on yellow")
        out.append(f"⟨{s.type}⟩", style="dim")
        pos = max(pos, s.end)
    out.append(text[pos:])
    return out


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def queue_line(flagged: dict[str, int], counts: dict[str, int]) -> str:
    """What the scan flagged per object and where the queue stands, in words."""
    return (f"flagged for PHI: {_counted(flagged) or 'nothing'};"
            f" review queue: {_counted(counts) or 'empty'}")


def register(app: typer.Typer) -> None:
    @app.command()
    def review(project: Path = ProjectOpt,
               show: int = typer.Option(10, help="pending items to show with their spans"),
               approve: list[str] = typer.Option([], help="OBJECT:ID to approve"),  # noqa: B008
               redact: list[str] = typer.Option([], help="OBJECT:ID to redact"),  # noqa: B008
               exclude: list[str] = typer.Option([], help="OBJECT:ID to exclude"),  # noqa: B008
               rule: str = typer.Option("", help="bulk: DECISION[:object=O][:types=a,b]"
                                                 "[:only=a,b], e.g. redact:object=message"),
               by: str = typer.Option("", help="who decides (default: the OS user)")) -> None:
        """Scan staged text for PHI, record decisions, and show what still waits."""
        proj = project_at(project)
        store = proj.store
        who = by or getpass.getuser()
        flagged = queue.scan(store, regions=proj.scan_regions)
        for decision, refs in (("approve", approve), ("redact", redact), ("exclude", exclude)):
            for ref in refs:
                obj, _, sid = ref.partition(":")
                if not queue.decide(store, obj, sid, decision, who):
                    console.print(f"[red]{ref} is not in the review queue[/]")
        if rule:
            decision, *parts = rule.split(":")
            opts = dict(p.split("=", 1) for p in parts if "=" in p)
            n = queue.decide_rule(store, decision, who, object_name=opts.get("object"),
                                  types=set(filter(None, opts.get("types", "").split(","))),
                                  only_types=set(filter(None, opts.get("only", "").split(","))))
            console.print(f"rule {rule}: {n} item(s) decided")
        counts = queue.counts(store)
        console.print(queue_line(flagged, counts))
        for it in islice(queue.items(store, "pending"), show):
            staged = store.get(it.object, it.source_id)
            if staged is None:
                continue
            text = queue.text_of(staged.record, it.field, store.codec)
            console.rule(f"{it.object}:{it.source_id} · {it.field}")
            console.print(_highlight(text[:3000], [s for s in it.spans if s.start < 3000]))
        # (--show 0 lists none: the queue line above has the count)
        if show and (n_pending := queue.count_items(store, "pending")) > show:
            console.print(f"… {n_pending - show:,} more pending")
        table = Table(title="PHI review queue")
        table.add_column("status")
        table.add_column("records", justify="right")
        for status, n in sorted(counts.items()):
            table.add_row(status, str(n))
        console.print(table)
        console.print("decide with --approve/--redact/--exclude OBJECT:ID, or in bulk with"
                      " --rule, e.g. --rule approve:object=message")
        # The report lists references and PHI types only: it is safe for non-clinical staff.
        print_paths(*write_review(proj.reports_dir("review"),
                                  {"queue": counts, "flagged": flagged,
                                   "items": [it.as_dict() for it in islice(queue.items(store), 5000)]},
                                  project=proj.settings.project))
        waiting = counts.get("pending", 0)
        verdict(True if not waiting else None,
                f"PHI review: {waiting:,} record(s) still wait" if waiting else
                "PHI review: nothing waits", f"ferry run --dry-run -p {project}")
