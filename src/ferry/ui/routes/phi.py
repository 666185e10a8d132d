"""The PHI review queue — the one page that shows record text, for the clinical staff who
decide what may be written to the CRM.

Each flagged field is shown with its detected spans highlighted (offsets from the queue, text
read from the staged record), and decided approve / redact / exclude with ``queue.decide``;
bulk rules use ``queue.decide_rule``. Decisions are recorded under the reviewer's name, asked
once per session. Text is escaped like everything else (autoescape); spans become <mark>.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ferry.phi import queue
from ferry.ui.app import back, flash, ui_of

router = APIRouter()
PAGE = 25


def _text(store: Any, obj: str, sid: str, fld: str) -> str | None:
    staged = store.get(obj, sid)
    if staged is None:
        return None
    return queue.text_of(staged.record, fld, store.codec)


def segments(text: str, spans: list[Any]) -> list[tuple[str, str | None]]:
    """The text cut into (piece, PHI type or None); overlapping spans merge into the first."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for s in sorted(spans, key=lambda s: (s.start, -s.end)):
        start, end = max(s.start, pos), min(s.end, len(text))
        if end <= start:
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], s.type))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


@router.get("/phi")
def phi(request: Request, status: str = "pending", obj: str = "", page: int = 1
              ) -> Response:
    ui = ui_of(request)
    store = ui.project.store
    counts = queue.counts(store)
    every = list(queue.items(store, status or None, obj or None))
    page = max(1, page)
    shown = every[(page - 1) * PAGE: page * PAGE]
    rows = []
    for it in shown:
        text = _text(store, it.object, it.source_id, it.field)
        rows.append({"object": it.object, "source_id": it.source_id, "field": it.field,
                     "status": it.status, "decided_by": it.decided_by or "",
                     "rule": it.rule or "", "types": sorted({s.type for s in it.spans}),
                     "segments": segments(text, it.spans) if text is not None else None})
    types = sorted({s.type for it in every for s in it.spans})
    return ui.render(request, "phi.html", rows=rows, counts=counts, total=len(every),
                     status=status, obj=obj, page=page, pages=max(1, -(-len(every) // PAGE)),
                     objects=list(queue.TEXT_FIELDS), types=types,
                     decisions=queue.DECISIONS, reviewer=request.state.session.reviewer,
                     job=ui.jobs.current)


@router.post("/phi/reviewer")
async def reviewer(request: Request) -> Response:
    name = str((await request.form()).get("reviewer") or "").strip()[:80]
    request.state.session.reviewer = name
    flash(request, f"Decisions will be recorded as {name}." if name else "Reviewer cleared.")
    return back("/phi")


def _by(request: Request) -> str | None:
    name: str = request.state.session.reviewer
    if not name:
        flash(request, "Enter your name first: every decision is recorded with it.", "bad")
        return None
    return name


@router.post("/phi/decide")
async def decide(request: Request) -> Response:
    ui = ui_of(request)
    f = await request.form()
    where = str(f.get("back") or "/phi")
    where = where if where.startswith("/phi") else "/phi"
    by = _by(request)
    if by is None:
        return back(where)
    decision = str(f.get("decision") or "")
    if decision not in queue.DECISIONS:
        flash(request, "Unknown decision.", "bad")
        return back(where)
    n = queue.decide(ui.project.store, str(f.get("object") or ""),
                     str(f.get("source_id") or ""), decision, by)
    ref = f"source:{f.get('object')}:{f.get('source_id')}"
    flash(request, f"{ref}: {decision} ({n} field(s))." if n else f"{ref} is not queued.",
          "ok" if n else "bad")
    return back(where)


@router.post("/phi/rule")
async def rule(request: Request) -> Response:
    ui = ui_of(request)
    f = await request.form()
    by = _by(request)
    if by is None:
        return back("/phi")
    decision = str(f.get("decision") or "")
    if decision not in queue.DECISIONS:
        flash(request, "Unknown decision.", "bad")
        return back("/phi")
    types = {str(t) for t in f.getlist("types")}
    only = {str(t) for t in f.getlist("only_types")}
    if not (types or only or f.get("object")):
        flash(request, "A rule needs an object or PHI types: decide single items below.", "bad")
        return back("/phi")
    n = queue.decide_rule(ui.project.store, decision, by,
                          object_name=str(f.get("object") or "") or None,
                          types=types or None, only_types=only or None)
    flash(request, f"Rule applied: {decision} on {n} pending item(s).")
    return back("/phi")
