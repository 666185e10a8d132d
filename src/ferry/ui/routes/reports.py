"""Reports: the list of what the verbs wrote under ``<project>/reports``, a filtered view of
any report's tables (diff differences by map / category / explained, reconciliation
discrepancies by kind, audit findings …), and the report files themselves.

Files are served only through ``safe_report_path``: inside the reports folder, no ``..``, no
symlinks, .html/.json only. Served HTML gets a sandboxing CSP, so a report can never run script
in the UI's origin. Reports hold masked values only (the engine masks PHI before writing).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from ferry.ui import state
from ferry.ui.app import ui_of
from ferry.ui.security import PathRefused, safe_report_path

router = APIRouter()
ROWS = 500
MAX_CHOICES = 30


@router.get("/reports")
def reports(request: Request, verb: str = "") -> Response:
    ui = ui_of(request)
    every = state.reports(ui.project)
    verbs = sorted({r["verb"] for r in every})
    shown = [r for r in every if not verb or r["verb"] == verb]
    return ui.render(request, "reports.html", reports=shown, verbs=verbs, verb=verb)


def _tables(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {k: v for k, v in doc.items()
            if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)}


def _cell(v: Any) -> str:
    if isinstance(v, dict | list):
        return json.dumps(v, default=str, ensure_ascii=False)[:300]
    if v is None:
        return ""
    return str(v)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    return cols


def _choices(rows: list[dict[str, Any]], cols: list[str]) -> dict[str, list[str]]:
    """Columns worth a drop-down: few distinct scalar values."""
    out = {}
    for c in cols:
        vals = {_cell(r.get(c)) for r in rows if not isinstance(r.get(c), dict | list)}
        if 1 < len(vals) <= MAX_CHOICES:
            out[c] = sorted(vals)
    return out


def _load(ui: Any, path: str) -> tuple[Any, dict[str, Any]]:
    try:
        file = safe_report_path(ui.project.root / "reports", path)
    except PathRefused:
        raise HTTPException(404, "no such report") from None
    if file.suffix != ".json":
        raise HTTPException(404, "no such report")
    try:
        return file, json.loads(file.read_text())
    except ValueError:
        raise HTTPException(404, "not a readable report") from None


@router.get("/reports/view")
def view(request: Request, path: str, table: str = "", q: str = "") -> Response:
    ui = ui_of(request)
    file, doc = _load(ui, path)
    tables = _tables(doc)
    default = next((t for t in ("differences", "discrepancies", "findings", "maps", "objects")
                    if t in tables), next(iter(tables), ""))
    table = table if table in tables else default
    rows = tables.get(table, [])
    cols = _columns(rows)
    choices = _choices(rows, cols)
    filters = {c: request.query_params.get(f"f_{c}", "") for c in choices}
    picked = [r for r in rows
              if all(not want or _cell(r.get(c)) == want for c, want in filters.items())
              and (not q or q.casefold() in json.dumps(r, default=str).casefold())]
    scalars = {k: v for k, v in doc.items() if not isinstance(v, list | dict)}
    small = {k: v for k, v in doc.items() if isinstance(v, dict)}
    html = file.with_suffix(".html")
    return ui.render(request, "report_view.html", path=path, scalars=scalars, small=small,
                     tables=list(tables), table=table, cols=cols, choices=choices,
                     filters=filters, q=q, total=len(rows), matched=len(picked),
                     rows=[[_cell(r.get(c)) for c in cols] for r in picked[:ROWS]], limit=ROWS,
                     html=path[:-5] + ".html" if html.is_file() else None, cell=_cell)


@router.get("/files/{path:path}")
def files(request: Request, path: str) -> Response:
    """A report file, as the verb wrote it (HTML shown in a script-less sandbox)."""
    ui = ui_of(request)
    try:
        file = safe_report_path(ui.project.root / "reports", path)
    except PathRefused:
        raise HTTPException(404, "no such report") from None
    media = "text/html" if file.suffix == ".html" else "application/json"
    resp = FileResponse(file, media_type=media)
    resp.headers["Content-Security-Policy"] = ("sandbox; default-src 'none'; "
                                               "style-src 'unsafe-inline'; img-src data:")
    return resp
