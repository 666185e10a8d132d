"""Overview, owner report, rebuild guide and audit log pages.

The owner report is ``match_owners`` — the matching ``prepare`` and the load use — over the
destination's users; assigning the fallback owner writes ``options.fallback_owner_email`` to
ferry.yaml with ``save_settings``, as an edit of the file would.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ferry.errors import FerryError
from ferry.reports.render import anchors_in
from ferry.ui import state
from ferry.ui.actions import fresh
from ferry.ui.app import back, flash, ui_of

router = APIRouter()


@router.get("/")
def overview(request: Request) -> Response:
    ui = ui_of(request)
    p = fresh(ui.project)
    steps = state.steps(p)
    nxt = next((s for s in steps if not s.done), None)
    return ui.render(request, "overview.html", steps=steps, next_step=nxt,
                     counts=state.counts(p), settings=p.settings, job=ui.jobs.current)


def _owner_report(ui: Any) -> tuple[dict[str, Any] | None, list[Any], str]:
    from ferry.engine.owners import match_owners
    from ferry.engine.pipeline import open_destination

    p = fresh(ui.project)
    try:
        dest = open_destination(p)
        try:
            users = [u for u in dest.users() if u.active and u.email]
        finally:
            dest.close()
    except Exception as exc:  # noqa: BLE001 - one line on the page, never a traceback
        return None, [], f"destination unreachable ({type(exc).__name__})"
    try:
        report = match_owners(p.store, users, p.settings.options.fallback_owner_email).report()
    except FerryError as exc:
        report = match_owners(p.store, users, None).report()
        return report, users, str(exc)
    return report, users, ""


@router.get("/owners")
def owners(request: Request) -> Response:
    ui = ui_of(request)
    report, users, problem = _owner_report(ui)
    return ui.render(request, "owners.html", report=report, users=users, problem=problem,
                     fallback=ui.project.settings.options.fallback_owner_email or "")


@router.post("/owners/fallback")
async def set_fallback(request: Request) -> Response:
    from ferry.settings import save_settings

    ui = ui_of(request)
    email = str((await request.form()).get("email") or "").strip()
    _, users, _ = await run_in_threadpool(_owner_report, ui)
    if email not in {u.email for u in users}:
        flash(request, "Pick one of the destination's active users.", "bad")
        return back("/owners")
    p = fresh(ui.project)
    settings = p.settings.model_copy(deep=True)
    settings.options.fallback_owner_email = email
    save_settings(settings, p.settings_path)
    fresh(p)
    flash(request, f"Fallback owner set to {email} (ferry.yaml).")
    return back("/owners")


@router.get("/guide")
def guide(request: Request) -> Response:
    from ferry.engine.guide import guide as build_guide
    from ferry.mapping.mapping_file import load

    ui = ui_of(request)
    p = fresh(ui.project)
    doc = None
    if p.mapping_path.exists():
        try:
            doc = load(p.mapping_path)
        except FerryError:
            doc = None
    data = build_guide(p.store, p.settings.destination.kind, doc)
    return ui.render(request, "guide.html", g=data, reports=state.reports(p, "guide"))


AUDIT_LIMIT = 500


@router.get("/audit")
def audit(request: Request, run: str = "", op: str = "", obj: str = "",
                kind: str = "", verify: int = 0) -> Response:
    """The write-ahead audit log, filtered; references only (before-images are values)."""
    ui = ui_of(request)
    log = ui.project.audit
    rows, total, ops, objs, kinds = [], 0, set(), set(), set()
    for e in log.entries(run or None):
        ops.add(e.op)
        objs.add(e.dest_object)
        kinds.add(e.kind)
        if (op and e.op != op) or (obj and e.dest_object != obj) or (kind and e.kind != kind):
            continue
        total += 1
        if len(rows) < AUDIT_LIMIT:
            rows.append({"seq": e.seq, "run": e.run_id, "at": e.at, "kind": e.kind, "op": e.op,
                         "object": e.dest_object, "dest_id": e.dest_id or "",
                         "source": e.src_ref or "",
                         "undoes": len(e.detail.get("undoes", []))})
    chain = log.verify(anchors_in(ui.project.root / "reports")) if verify else None
    runs = [r.run_id for r in ui.project.store.runs()]
    return ui.render(request, "audit.html", rows=rows, total=total, limit=AUDIT_LIMIT,
                     runs=runs, ops=sorted(ops), objs=sorted(objs), kinds=sorted(kinds),
                     f={"run": run, "op": op, "obj": obj, "kind": kind}, chain=chain)
