"""The mapping review: every source field beside its proposed target, with confidence, reason
and (masked) samples; change a target, declare a custom field, edit a value map, confirm.

Edits are written into mapping.yaml through ``ferry.ui.mapping_edit`` (ruamel round-trip, so
comments survive); confirming runs the same validation and stamp as ``ferry map --confirm``
against the same data profile and destination schema.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ferry.engine.mapflow import data_profile
from ferry.errors import FerryError
from ferry.ui import actions, mapping_edit, state
from ferry.ui.app import back, flash, ui_of

router = APIRouter()


def _targets(schema: Any, doc: Any) -> dict[str, list[str]]:
    """Known destination fields per object (schema names plus ``custom:<name>``)."""
    out: dict[str, list[str]] = {}
    for info in schema or []:
        out[info.name] = sorted({f.name for f in info.fields if f.writable})
    for obj, items in doc.custom_fields.items():
        out.setdefault(obj, [])
        out[obj] = out[obj] + [f"custom:{cf.name}" for cf in items]
    return out


@router.get("/mapping")
def mapping(request: Request, show: str = "") -> Response:
    ui = ui_of(request)
    p = actions.fresh(ui.project)
    m_state, detail = state.mapping_state(p)
    if m_state in ("missing", "invalid"):
        return ui.render(request, "mapping.html", m_state=m_state, detail=detail, maps=[],
                         custom={}, targets={}, kinds=mapping_edit.KINDS, show=show,
                         job=ui.jobs.current)
    doc = state.mapping_doc(p)
    maps = mapping_edit.rows(doc)
    if show == "review":
        maps = [m for m in maps if m["review"]]
    return ui.render(request, "mapping.html", m_state=m_state, detail=detail, maps=maps,
                     custom=doc.custom_fields, targets=_targets(ui.schema(), doc),
                     kinds=mapping_edit.KINDS, statuses=mapping_edit.STATUSES, show=show,
                     job=ui.jobs.current)


def _index(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


@router.post("/mapping/field")
async def edit_field(request: Request) -> Response:
    ui = ui_of(request)
    f = await request.form()
    name = str(f.get("map") or "")
    try:
        doc = await run_in_threadpool(
            mapping_edit.edit_field, ui.project.mapping_path, name, _index(f.get("i")),
            str(f.get("source") or ""), target=str(f.get("target") or ""),
            status=str(f.get("status") or "mapped"), reason=str(f.get("reason") or ""))
        state.remember(ui.project, doc)
        flash(request, f"{name}: {f.get('source')} → {f.get('target')} saved to mapping.yaml.")
    except FerryError as exc:
        flash(request, str(exc), "bad")
    return back(f"/mapping#map-{quote(name)}")


@router.get("/mapping/value-map")
def value_map_form(request: Request, map: str, i: int) -> Response:  # noqa: A002
    ui = ui_of(request)
    doc = state.mapping_doc(ui.project)
    om = next((m for m in mapping_edit.rows(doc) if m["name"] == map), None)
    if om is None or not 0 <= i < len(om["fields"]):
        flash(request, "No such field.", "bad")
        return back("/mapping")
    fld = om["fields"][i]
    text = "\n".join(f"{k} = {v}" for k, v in fld["value_map"].items())
    return ui.render(request, "value_map.html", om=om, fld=fld, text=text,
                     default=fld.get("value_map_default") or "")


@router.post("/mapping/value-map")
async def value_map(request: Request) -> Response:
    ui = ui_of(request)
    f = await request.form()
    name, i = str(f.get("map") or ""), _index(f.get("i"))
    try:
        doc = await run_in_threadpool(
            mapping_edit.set_value_map, ui.project.mapping_path, name, i,
            str(f.get("source") or ""), str(f.get("value_map") or ""),
            str(f.get("value_map_default") or ""))
        state.remember(ui.project, doc)
        flash(request, f"{name}: value map of {f.get('source')} saved.")
    except FerryError as exc:
        flash(request, str(exc), "bad")
        return back(f"/mapping/value-map?map={quote(name)}&i={i}")
    return back(f"/mapping#map-{quote(name)}")


@router.post("/mapping/custom-field")
async def custom_field(request: Request) -> Response:
    ui = ui_of(request)
    f = await request.form()
    try:
        doc = await run_in_threadpool(
            mapping_edit.add_custom_field, ui.project.mapping_path, str(f.get("object") or ""),
            str(f.get("name") or "").strip(), str(f.get("label") or ""),
            str(f.get("kind") or ""), str(f.get("options") or ""))
        state.remember(ui.project, doc)
        flash(request, f"Custom field custom:{f.get('name')} declared on {f.get('object')};"
                       " prepare will create it.")
    except FerryError as exc:
        flash(request, str(exc), "bad")
    return back("/mapping#custom-fields")


@router.post("/mapping/confirm")
async def confirm(request: Request) -> Response:
    ui = ui_of(request)
    by = str((await request.form()).get("by") or "").strip()
    if not by:
        flash(request, "Say who confirms the map.", "bad")
        return back("/mapping#confirm")
    p = actions.fresh(ui.project)
    try:
        doc = await run_in_threadpool(
            lambda: mapping_edit.confirm(p, by, data_profile(p), ui.schema()))
    except FerryError as exc:
        flash(request, str(exc), "bad")
        return back("/mapping#confirm")
    assert doc.confirmed is not None
    state.remember(p, doc)
    flash(request, f"Confirmed mapping.yaml ({doc.confirmed.hash[:12]}) by {doc.confirmed.by};"
                   " prepare, sample and run will use it.")
    return back("/mapping")
