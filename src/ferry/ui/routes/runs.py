"""Run control: start a verb as a background job, watch its progress, roll back.

``/api/job`` is what the page's script polls: per object map, records done of total, records/s
and ETA, and the destination's API budget left when the connector reports one. The rollback
page shows what ``ferry rollback`` would undo (read from the audit log) and acts only when the
project's name is typed in, like a repository deletion on a code host.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ferry.errors import FerryError
from ferry.ui import actions, state
from ferry.ui.app import back, flash, ui_of
from ferry.ui.jobs import Busy

router = APIRouter()


@router.get("/runs")
def runs(request: Request) -> Response:
    ui = ui_of(request)
    p = actions.fresh(ui.project)
    return ui.render(request, "runs.html", job=ui.jobs.current, history=ui.jobs.history,
                     runs=list(reversed(p.store.runs()))[:30],
                     sample_size=p.settings.options.sample_size, verbs=list(actions.SIMPLE))


def _start(request: Request, verb: str, work: actions.Work) -> Response:
    ui = ui_of(request)
    try:
        job = ui.jobs.start(verb, work)
    except Busy as exc:
        flash(request, str(exc), "bad")
        return back("/runs")
    flash(request, f"Started {verb} (job {job.id}).")
    return back("/runs")


@router.post("/runs/start")
async def start(request: Request) -> Response:
    ui = ui_of(request)
    form = await request.form()
    verb = str(form.get("verb") or "")
    p = actions.fresh(ui.project)
    if verb == "sample":
        try:
            size = int(str(form.get("size") or p.settings.options.sample_size))
        except ValueError:
            size = 0
        if not 1 <= size <= 100_000:
            flash(request, "Sample size: a whole number from 1 to 100000.", "bad")
            return back("/runs")
        return _start(request, "sample", actions.sample(p, size))
    if verb == "propose":
        return _start(request, "propose", actions.propose(p, force=bool(form.get("force"))))
    maker = actions.SIMPLE.get(verb)
    if maker is None:
        flash(request, "Unknown step.", "bad")
        return back("/runs")
    return _start(request, verb, maker(p))


@router.get("/api/job")
def job_now(request: Request, id: int = 0) -> Response:  # noqa: A002 - query name
    jobs = ui_of(request).jobs
    job = jobs.get(id) if id else jobs.current
    return JSONResponse(job.as_dict() if job else None)


@router.get("/rollback")
def rollback_page(request: Request, run: str = "") -> Response:
    ui = ui_of(request)
    p = actions.fresh(ui.project)
    preview = state.rollback_preview(p, run or None)
    every = [r for r in p.store.runs() if r.kind in ("prepare", "run", "sample", "delta")]
    return ui.render(request, "rollback.html", preview=preview, run=run, every=every,
                     job=ui.jobs.current)


@router.post("/rollback")
async def rollback(request: Request) -> Response:
    ui = ui_of(request)
    form = await request.form()
    p = actions.fresh(ui.project)
    run = str(form.get("run") or "")
    typed = str(form.get("confirm_name") or "").strip()
    where = f"/rollback?run={quote(run)}" if run else "/rollback"
    if typed != p.settings.project:
        flash(request, "Type the project's name exactly to roll back. Nothing was done.", "bad")
        return back(where)
    try:
        preview = state.rollback_preview(p, run or None)
    except FerryError as exc:
        flash(request, str(exc), "bad")
        return back(where)
    if not preview["runs"]:
        flash(request, "Nothing to roll back.", "bad")
        return back(where)
    return _start(request, "rollback", actions.rollback(p, run or None))
