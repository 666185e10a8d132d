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
from rich import box
from rich.markup import escape
from rich.table import Table

from ferry.cli.common import ProjectOpt, print_item, verdict
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


#: the counts a run's stats are summed up by, in the order people read them
SUMMARY_KEYS = ("created", "updated", "unchanged", "folded", "uploaded", "deleted", "restored",
                "merged", "held", "skipped", "staged", "pages", "files", "items")


def summary(stats: Any) -> str:
    """A run's stats in words ("created 2,084, folded 1,662, skipped 8"), not JSON."""
    if not isinstance(stats, dict):
        return ""
    flat = stats.get("totals") if isinstance(stats.get("totals"), dict) else stats
    parts = []
    for k in SUMMARY_KEYS:
        v = flat.get(k)
        if isinstance(v, dict):
            v = sum(x for x in v.values() if isinstance(x, int))
        if isinstance(v, int) and not isinstance(v, bool) and v:
            parts.append(f"{k} {v:,}")
    return ", ".join(parts) or "—"


def next_step(state: dict[str, Any], where: str) -> str:
    """The verb a project in this state needs next."""
    if state.get("settings_error") and "not found" not in state["settings_error"]:
        return f"fix {where}/ferry.yaml where the line above points, then ferry status -p {where}"
    if not state["settings"]:
        return f"ferry init {where} --source … --destination …"
    if not state["store"] or not any(o["staged"] for o in state.get("objects", [])):
        return f"ferry check -p {where}, then ferry extract -p {where}"
    done = {r["kind"] for r in state["runs"] if r["status"] == "done"}
    if "prepare" not in done:
        if any(r["kind"] == "prepare" for r in state["runs"]):  # rolled back: the map stands
            return f"ferry prepare -p {where} (the rollback removed what it made)"
        return f"ferry map, ferry map --confirm, then ferry prepare -p {where}"
    # from verdicts, not from finished runs: a failed sample or an unbalanced reconcile is
    # the step to do next, whatever ran after it
    verdicts = state.get("verdicts") or {}
    for step in ("sample", "run", "reconcile"):
        v = verdicts.get(step)
        if v is not None and not v["done"]:
            return f"{step}: {v['detail']} → {v['next']} -p {where}"
    return f"ferry delta -p {where} during cutover; ferry reconcile -p {where} after it"


def gather(project: Project) -> dict[str, Any]:
    """The project's state as plain data (what the tables and ``--json`` show)."""
    state: dict[str, Any] = {"project": str(project.root), "settings": None, "store": False}
    try:
        s = project.settings
        state["settings"] = {"project": s.project, "source": s.source.kind,
                             "destination": s.destination.kind}
    except FerryError as exc:
        state["settings_error"] = str(exc)
    if not (project.state_dir / "staging.db").exists() and not (state["settings"] and
                                                                 project.settings.store):
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
    from ferry.reports.progress import verdicts

    state["verdicts"] = {k: v.as_dict() for k, v in verdicts(project).items()}
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
        print_item(f"[yellow]{escape(state.get('settings_error', 'no settings'))}[/yellow]")
    if not state["store"]:
        console.print("  no staging store yet (nothing extracted)")
        return
    # the skip log keeps every sample's and run's entries, field-level ones too, so it can
    # count more than were staged: the header and caption say so (reconcile counts records)
    objs = Table(title="Records per object and stage", box=box.SIMPLE_HEAD)
    for col in ("object", "staged", "deleted", "loaded", "skip log"):
        objs.add_column(col, justify="left" if col == "object" else "right")
    for o in state["objects"]:
        objs.add_row(o["object"], *(f"{o[k]:,}" for k in ("staged", "deleted", "loaded",
                                                           "skipped")))
    console.print(objs if state["objects"] else "  no records staged")
    if state["objects"]:
        console.print("skip log: entries of every sample and run, left-out fields included"
                      " (ferry reconcile counts records)", style="dim")
        if any(o["deleted"] for o in state["objects"]):  # read as "deleted in the CRM"
            console.print("deleted: staged records no longer in the source (deleted there, or"
                          " read again under a key column placed since), not records deleted"
                          " in the destination", style="dim")
    shown = state["runs"][-MAX_RUNS:]
    more = len(state["runs"]) - len(shown)
    runs = Table(title="Runs" + (f" (latest {len(shown)}; {more} earlier)" if more else ""),
                 box=box.SIMPLE_HEAD, collapse_padding=True)
    runs.add_column("run (id starts with its start time)", no_wrap=True)
    runs.add_column("status", no_wrap=True)
    runs.add_column("what it did", overflow="fold")
    for r in shown:
        colour = {"done": "green", "failed": "red", "running": "yellow"}.get(r["status"], "")
        word = str(r["status"]).replace("_", " ")  # "rolled back", not rolled_back
        runs.add_row(r["run_id"], f"[{colour}]{word}[/]" if colour else word,
                     summary(r["stats"]))
    console.print(runs if state["runs"] else "  no runs yet")
    done = [c for c in state["checkpoints"] if c["value"] == "done"]
    moving = [c for c in state["checkpoints"] if c["value"] != "done"]
    if done:
        console.print(f"Checkpoints: {len(done)} objects read to the end"
                      + (f", {len(moving)} part-way:" if moving else ""))
    cps = Table(title="Checkpoints part-way", box=box.SIMPLE_HEAD, collapse_padding=True)
    for col in ("scope", "value", "moved at"):
        cps.add_column(col, overflow="fold")
    for c in moving[:8]:
        cps.add_row(c["scope"], _short(c["value"]), _when(c["updated_at"]))
    if moving:
        console.print(cps)
    steps = Table(title="Steps by verdict", box=box.SIMPLE_HEAD, collapse_padding=True)
    for col in ("step", "state", "what it found"):
        steps.add_column(col, overflow="fold")
    for name, v in (state.get("verdicts") or {}).items():
        steps.add_row(name, "[green]done[/]" if v["done"] else "[yellow]to do[/]", v["detail"])
    if state.get("verdicts"):
        console.print(steps)
    a = state["audit"]
    console.print(f"Skip log: {state['skips']:,} entries   Audit log: {a['entries']:,} entries,"
                  f" {a['open_intents']:,} writes of unknown outcome")


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status(project: Path = ProjectOpt,
               verify_log: bool = typer.Option(False, "--verify-log",
                                               help="recompute the audit hash chain; exit 1 if"
                                                    " it is broken"),
               as_json: bool = typer.Option(False, "--json", help="print the state as JSON"),
               temporal: str = typer.Option(None, "--temporal", help="HOST:PORT: show the"
                                            " migration workflow's state instead"),
               ) -> None:
        """Show a project's state: runs, records per object and stage, checkpoints, skips."""
        if temporal:
            from ferry.cli.commands.fleet import print_state

            print_state(project, temporal, as_json)
            return
        proj = Project.at(project)
        state = gather(proj)
        ok, msg = True, "no audit log yet"
        if verify_log and state["store"]:
            from ferry.reports.render import anchors_in

            ok, msg = proj.audit.verify(anchors_in(proj.root / "reports"))
            state["audit"]["verified"] = {"ok": ok, "message": msg}
        if as_json:
            print(json.dumps(state, indent=2, default=str))  # noqa: T201 - machine output
        else:
            _render(state)
            if verify_log:
                console.print(f"Audit chain: [green]intact[/green] ({msg})" if ok
                              else f"Audit chain: [red]BROKEN[/red] — {msg}")
            verdict(ok and bool(state["settings"]), "audit chain broken" if not ok else
                    "project readable" if state["settings"] else "ferry.yaml is missing or"
                    " unusable", next_step(state, str(project)))
        if not ok:
            raise typer.Exit(1)
        if next_step(state, "").startswith("fix "):  # ferry.yaml there but unusable
            raise typer.Exit(2)
