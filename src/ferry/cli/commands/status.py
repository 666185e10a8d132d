"""``ferry status``: where a project stands — runs, records per object and stage, checkpoints,
skips, and (``--verify-log``) whether the audit log's hash chain is intact.

It only reads. A folder with no staging store yet is reported as such rather than given an
empty one, so running ``status`` in the wrong directory leaves no trace there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ferry.cli.common import ProjectOpt
from ferry.cli.console import console
from ferry.engine.project import Project
from ferry.errors import FerryError
from ferry.model.entities import ENTITIES

MAX_RUNS = 20


def _short(text: str | None, width: int = 40) -> str:
    text = text or ""
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def gather(project: Project) -> dict[str, Any]:
    """The project's state as plain data (what the tables and ``--json`` show)."""
    state: dict[str, Any] = {"project": str(project.root), "settings": None, "store": False}
    try:
        s = project.settings
        state["settings"] = {"project": s.project, "source": s.source.kind,
                             "destination": s.destination.kind}
    except FerryError as exc:
        state["settings_error"] = str(exc)
    if not (project.state_dir / "staging.db").exists():
        return state
    store = project.store
    state["store"] = True
    staged = store.counts()
    mapped = store.mapped_counts()
    skipped = store.skip_counts()
    seen = set(staged) | set(mapped) | set(skipped)
    every = [o for o in ENTITIES if o in seen] + sorted(seen - set(ENTITIES))
    state["objects"] = [{"object": o, "staged": staged.get(o, 0),
                         "deleted": store.count(o, include_deleted=True) - staged.get(o, 0),
                         "loaded": mapped.get(o, 0), "skipped": skipped.get(o, 0)}
                        for o in every]
    state["runs"] = [{"run_id": r.run_id, "kind": r.kind, "status": r.status,
                      "started_at": r.started_at, "finished_at": r.finished_at,
                      "stats": r.stats} for r in store.runs()]
    state["checkpoints"] = [{"scope": a, "value": b, "updated_at": c}
                            for a, b, c in store.last_checkpoints(20)]
    state["skips"] = sum(skipped.values())
    audit = project.audit
    state["audit"] = {"entries": sum(1 for _ in audit.entries()),
                      "open_intents": len(audit.open_intents())}
    return state


def _render(state: dict[str, Any]) -> None:
    console.print(f"[bold]Project[/bold] {state['project']}")
    if state["settings"]:
        s = state["settings"]
        console.print(f"  {s['project']}: {s['source']} → {s['destination']}")
    else:
        console.print(f"  [yellow]{state.get('settings_error', 'no settings')}[/yellow]")
    if not state["store"]:
        console.print("  no staging store yet (nothing extracted)")
        return
    objs = Table(title="Records per object and stage")
    for col in ("object", "staged", "deleted", "loaded", "skipped"):
        objs.add_column(col, justify="left" if col == "object" else "right")
    for o in state["objects"]:
        objs.add_row(o["object"], *(f"{o[k]:,}" for k in ("staged", "deleted", "loaded",
                                                           "skipped")))
    console.print(objs if state["objects"] else "  no records staged")
    shown = state["runs"][-MAX_RUNS:]
    more = len(state["runs"]) - len(shown)
    runs = Table(title="Runs" + (f" (latest {len(shown)}; {more} earlier)" if more else ""))
    for col in ("run", "kind", "status", "started", "finished", "stats"):
        runs.add_column(col, overflow="fold", no_wrap=col != "stats")
    for r in shown:
        colour = {"done": "green", "failed": "red", "running": "yellow"}.get(r["status"], "")
        runs.add_row(r["run_id"], r["kind"], f"[{colour}]{r['status']}[/]" if colour
                     else r["status"], _when(r["started_at"]), _when(r["finished_at"]),
                     _short(json.dumps(r["stats"], default=str), 50))
    console.print(runs if state["runs"] else "  no runs yet")
    cps = Table(title="Last checkpoints")
    for col in ("scope", "value", "moved at"):
        cps.add_column(col)
    for c in state["checkpoints"]:
        cps.add_row(c["scope"], _short(c["value"]), _when(c["updated_at"]))
    if state["checkpoints"]:
        console.print(cps)
    a = state["audit"]
    console.print(f"Skipped records: {state['skips']:,}   Audit log: {a['entries']:,} entries,"
                  f" {a['open_intents']:,} writes of unknown outcome")


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status(project: Path = ProjectOpt,
               verify_log: bool = typer.Option(False, "--verify-log",
                                               help="recompute the audit hash chain; exit 1 if"
                                                    " it is broken"),
               as_json: bool = typer.Option(False, "--json", help="print the state as JSON"),
               ) -> None:
        """Show a project's state: runs, records per object and stage, checkpoints, skips."""
        proj = Project.at(project)
        state = gather(proj)
        ok, msg = True, "no audit log yet"
        if verify_log and state["store"]:
            ok, msg = proj.audit.verify()
            state["audit"]["verified"] = {"ok": ok, "message": msg}
        if as_json:
            print(json.dumps(state, indent=2, default=str))  # noqa: T201 - machine output
        else:
            _render(state)
            if verify_log:
                console.print(f"Audit chain: [green]intact[/green] ({msg})" if ok
                              else f"Audit chain: [red]BROKEN[/red] — {msg}")
        if not ok:
            raise typer.Exit(1)
