"""Seam fields that are not plain Odoo fields, and the version drift the connector absorbs.

The recipes (``mapping/recipes/*__odoo*.yaml``) write what a person would say, not what the ORM
stores; each case is translated here, both ways, so ``read`` gives back what was written:

| object.field | written as | how |
|---|---|---|
| mail.activity.res_model | ``res.partner`` | resolved to the required ``res_model_id`` |
| mail.message.subtype_xmlid | ``mail.mt_note`` | resolved through ir.model.data to ``subtype_id`` |
| account.move.amount_total | a number | one invoice line (Odoo computes the total) |
| account.move.state | ``posted`` / ``cancel`` | created as draft, then ``action_post`` / ``button_cancel`` (Odoo's state is not writable as such) |
| account.move lines, partner, dates on update | values | a posted move is reset to draft (``button_draft``), written, posted again |
| res.partner/crm.lead.mobile | a phone | on 19 (no ``mobile``): goes to ``phone`` when the row has none, else dropped — the sample diff shows it as missing |
| res.partner.title | a title ("Dr", "Mrs") | on 19 (no ``res.partner.title``, gone in saas-18.1): dropped, shown as missing |

``button_cancel`` returns None, which Odoo's XML-RPC cannot marshal (NOTES 1.3, odoo/odoo#19889):
the call commits and then faults; that fault is read as success.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.connectors.base import FileUpload, WriteResult
from ferry.destinations.odoo.errors import OdooNoneResult, OdooUserError
from ferry.destinations.odoo.provision import model_of
from ferry.destinations.odoo.rpc import FileB64
from ferry.destinations.odoo.shape import Unresolved
from ferry.errors import RecordError
from ferry.model.crypto import PlainView

if TYPE_CHECKING:
    from ferry.destinations.odoo.writer import OdooDestination

#: seam-only fields (not on the server) with the fields_get-like meta describe() reports
SEAM_ONLY: dict[str, dict[str, dict[str, Any]]] = {
    "mail.activity": {"res_model": {"type": "char", "string": "Document Model",
                                    "readonly": False}},
    "mail.message": {"subtype_xmlid": {"type": "char", "string": "Subtype (external id)",
                                       "readonly": False}},
}
#: fields removed in newer servers and where their value goes instead
REMOVED: dict[str, str | None] = {"mobile": "phone", "title": None}
STATE_ACTIONS = {"posted": "action_post", "cancel": "button_cancel"}
#: account.move fields Odoo will not change on a posted entry
POSTED_LOCKED = {"partner_id", "currency_id", "move_type", "invoice_date", "invoice_date_due",
                 "invoice_line_ids", "date"}


def prepare(dest: OdooDestination, model: str, row: dict[str, Any], *, update: bool
            ) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """(row left for plain shaping, vals already in Odoo form, deferred target state)."""
    row = dict(row)
    vals: dict[str, Any] = {}
    meta = dest.fields_meta(model)
    state: str | None = None
    for gone, instead in REMOVED.items():
        if gone in row and gone not in meta:
            value = row.pop(gone)
            if value not in (None, "") and instead and instead in meta \
                    and not row.get(instead):
                row[instead] = value
    if model == "mail.activity" and "res_model" in row:
        name = row.pop("res_model")
        if name and "res_model_id" not in row:
            row["res_model_id"] = name
    if model == "mail.message" and "subtype_xmlid" in row:
        xmlid = row.pop("subtype_xmlid")
        vals["subtype_id"] = xmlid_to_id(dest, xmlid) if xmlid else False
    if model == "account.move":
        if "amount_total" in row:
            amount = row.pop("amount_total")
            if amount is not None:
                line = {"name": row.get("ref") or "Migrated invoice", "quantity": 1.0,
                        "price_unit": float(amount)}
                vals["invoice_line_ids"] = ([[5, 0, 0]] if update else []) + [[0, 0, line]]
        if "state" in row:
            wanted = row.pop("state")
            state = wanted if wanted in STATE_ACTIONS else None
        if not update:
            row.setdefault("move_type", "out_invoice")
    return row, vals, state


def apply_states(dest: OdooDestination, model: str, targets: dict[str, list[int]]) -> None:
    """Post or cancel the moves that must not stay draft (one call per action)."""
    for state, ids in targets.items():
        if not ids:
            continue
        method = STATE_ACTIONS[state]
        if state == "posted":
            ids = [r["id"] for r in dest.rpc.execute(model, "read", ids, fields=["state"])
                   if r["state"] == "draft"]
            if not ids:
                continue
        try:
            dest.rpc.execute(model, method, ids)
        except OdooNoneResult:
            pass  # committed; only the None result could not be marshalled
        except OdooUserError:
            # sent again after a lost answer, ``action_post`` finds its first try's moves no
            # longer draft and refuses: done when every move is in the state asked for
            rows = dest.rpc.execute(model, "read", ids, fields=["state"])
            if any(r["state"] != state for r in rows):
                raise


def unlock(dest: OdooDestination, model: str, ids: list[int]) -> list[int]:
    """Reset the posted moves among ``ids`` to draft so their lines can change (Odoo locks
    posted entries); returns those ids, to post again after the write."""
    if model != "account.move" or not ids:
        return []
    posted = [r["id"] for r in dest.rpc.execute(model, "read", ids, fields=["state"])
              if r["state"] == "posted"]
    if posted:
        try:
            dest.rpc.execute(model, "button_draft", posted)
        except OdooNoneResult:
            pass  # committed; button_draft returns None (NOTES 4)
    return posted


def read_virtual(dest: OdooDestination, model: str, names: list[str]
                 ) -> tuple[list[str], dict[str, str]]:
    """(server field names to read, {seam field: server field it comes from})."""
    meta = dest.fields_meta(model)
    server, virtual = [], {}
    for n in names:
        if model == "mail.message" and n == "subtype_xmlid":
            virtual[n] = "subtype_id"
            server.append("subtype_id")
        elif n in REMOVED and n not in meta:
            virtual[n] = ""
        elif model == "mail.activity" and n == "res_model":
            server.append(n)
        else:
            server.append(n)
    return list(dict.fromkeys(server)), virtual


def virtual_value(dest: OdooDestination, field: str, source: str, raw: dict[str, Any]) -> Any:
    if field == "subtype_xmlid":
        value = raw.get(source)
        sid = value[0] if isinstance(value, list | tuple) else value
        return id_to_xmlid(dest, "mail.message.subtype", int(sid)) if sid else None
    return None


def xmlid_to_id(dest: OdooDestination, xmlid: str) -> int:
    """An external id's record id; kept for the connection (every message names one of a few
    subtypes, which a load asked Odoo for once per message)."""
    known = dest.xmlid_ids.get(str(xmlid))
    if known is not None:
        return known
    module, _, name = str(xmlid).partition(".")
    rows = dest.rpc.search_read("ir.model.data", [["module", "=", module], ["name", "=", name]],
                                ["model", "res_id"])
    if not rows:
        raise Unresolved("subtype_xmlid", "no such external id in Odoo")
    dest.xmlids[(rows[0]["model"], int(rows[0]["res_id"]))] = str(xmlid)
    dest.xmlid_ids[str(xmlid)] = int(rows[0]["res_id"])
    return int(rows[0]["res_id"])


def id_to_xmlid(dest: OdooDestination, model: str, rid: int) -> str | None:
    if (model, rid) not in dest.xmlids:
        rows = dest.rpc.search_read("ir.model.data", [["model", "=", model], ["res_id", "=", rid]],
                                    ["module", "name"], limit=1)
        if not rows:
            return None
        dest.xmlids[(model, rid)] = f"{rows[0]['module']}.{rows[0]['name']}"
    return dest.xmlids[(model, rid)]


def open_option(dest: OdooDestination, model: str, field: str, value: str) -> str:
    """Add ``value`` to an open custom selection (one write; the meta cache follows)."""
    rows = dest.rpc.search_read("ir.model.fields", [["model", "=", model], ["name", "=", field]],
                                ["id"])
    meta = dest.fields_meta(model)[field]
    options = list(meta.get("selection") or [])
    try:
        # ``[0, 0, vals]`` creates an option: not idempotent; the rpc sends the write again
        # after a lost answer, and an option is unique per field (value), so a retry whose
        # first try had committed is refused: the option is there, which is what was asked
        dest.rpc.execute("ir.model.fields", "write", [rows[0]["id"]], {"selection_ids": [
            [0, 0, {"value": value, "name": value, "sequence": len(options)}]]})
    except OdooUserError:
        if not dest.rpc.search_read("ir.model.fields.selection", [
                ["field_id", "=", rows[0]["id"]], ["value", "=", value]], ["id"]):
            raise
    meta["selection"] = [*options, [value, value]]
    return value


def file_tag(source_id: Any) -> str | None:
    return f"[ferry-id:{source_id}]" if source_id else None


def has_file_tag(vals: dict[str, Any]) -> bool:
    """Whether an attachment's values carry a ``file_tag`` (it can be looked up after a lost
    answer)."""
    return str(vals.get("description") or "").startswith("[ferry-id:")


def find_upload(dest: OdooDestination, parent_object: str, parent_id: str, tag: str
                ) -> str | None:
    """The attachment of this record that carries ``tag`` as its description."""
    rows = dest.rpc.search_read("ir.attachment", [
        ["res_model", "=", model_of(parent_object)], ["res_id", "=", int(parent_id)],
        ["description", "=", tag]], ["id"], limit=1)
    return str(rows[0]["id"]) if rows else None


def _sha1(path: Path | PlainView) -> str:
    """Odoo's checksum of an attachment, read a chunk at a time."""
    h = hashlib.sha1()  # noqa: S324 - Odoo's own content checksum, not a security use
    with path.open("rb") as fh:
        while block := fh.read(2**20):
            h.update(block)
    return h.hexdigest()


def upload(dest: OdooDestination, parent_object: str, parent_id: str, path: Path | PlainView,
           file_name: str, mime_type: str | None, extra: dict[str, Any] | None
           ) -> WriteResult:
    """One file: ``upload_many`` of one."""
    return upload_many(dest, [FileUpload(parent_object, parent_id, path, file_name, mime_type,
                                         extra)])[0]


#: files of one ``upload_many`` call sent together while their sizes add up to this (each call
#: far below the 128 MiB request cap, NOTES 4, base64 included); a larger file goes alone
GROUP_BYTES = 32 * 2**20


@dataclass
class _File:
    """A file of ``upload_many`` ready to be looked for and sent."""

    index: int
    ref: str
    model: str
    parent_id: int
    row: dict[str, Any]
    tag: str | None
    path: Path | PlainView
    size: int
    checksum: str = ""


def upload_many(dest: OdooDestination, files: list[FileUpload]) -> list[WriteResult]:
    """One ``ir.attachment`` per file, a group's files in one ``create`` call. A retried upload
    is not duplicated: a file is looked for first by its source id when ``extra`` carries one,
    then by its tag or by record, name and content checksum (one search for a group's files,
    before they are sent; a file the same as an earlier one of its group, on the same record,
    is that file, as when each was looked for just before it was sent)."""
    results: list[WriteResult | None] = [None] * len(files)
    group: list[_File] = []
    held = 0
    for i, f in enumerate(files):
        ready = _ready(dest, i, f)
        if isinstance(ready, WriteResult):
            results[i] = ready
            continue
        if group and held + ready.size > GROUP_BYTES:
            _send_group(dest, group, results)
            group, held = [], 0
        group.append(ready)
        held += ready.size
    if group:
        _send_group(dest, group, results)
    return [r or WriteResult.failure(RecordError(f"odoo:{model_of(f.parent_object)}:"
                                                 f"{f.parent_id}", "file", "not written"))
            for r, f in zip(results, files, strict=True)]


def _ready(dest: OdooDestination, index: int, f: FileUpload) -> _File | WriteResult:
    """The file's attachment row, or its result when it goes no further (too large, found by
    its source id)."""
    model = model_of(f.parent_object)
    ref = f"odoo:{model}:{f.parent_id}"
    limit = dest.capabilities.max_file_bytes or 0
    size = f.path.stat().st_size
    if limit and size > limit:
        return WriteResult.failure(RecordError(ref, "file", f"file is larger than the {limit}"
                                               " bytes one Odoo call can carry"))
    extra = f.extra or {}
    row: dict[str, Any] = {"name": f.file_name, "res_model": model, "res_id": int(f.parent_id)}
    if f.mime_type:
        row["mimetype"] = f.mime_type
    row.update({k: v for k, v in extra.items() if not k.startswith("_")})
    tag = file_tag(extra.get("_source_id"))
    if tag and row.get("description"):
        tag = None  # the caller's own description: no tag to find it by
    if tag:  # tagged in the same call: see ``find_upload``
        row["description"] = tag
    sid = row.get(dest.source_id_field)
    if sid:
        found = dest.find("ir.attachment", dest.source_id_field, [str(sid)])
        if str(sid) in found:
            return WriteResult.success(found[str(sid)], created=False)
    return _File(index, ref, model, int(f.parent_id), row, tag, f.path, size)


def _send_group(dest: OdooDestination, group: list[_File],
                results: list[WriteResult | None]) -> None:
    # each file's attachment on its record, by its tag or else by name and Odoo's sha1
    # checksum (a retried upload, not a new one): one search for the group's files (a
    # superset by tag or name: each file then keeps exactly what its own search found). A
    # file's checksum is worked out only when an attachment or a file of the group on the same
    # record has its name: hashing every file read and decrypted it once more before the
    # upload (about 1 GB at 1k patients), for a comparison a first load never needs
    tags = sorted({f.tag for f in group if f.tag})
    names = ["name", "in", sorted({str(f.row["name"]) for f in group})]
    domain: list[Any] = [["res_model", "in", sorted({f.model for f in group})],
                         ["res_id", "in", sorted({f.parent_id for f in group})]]
    domain += ["|", ["description", "in", tags], names] if tags else [names]
    rows = dest.rpc.search_read("ir.attachment", domain,
                                ["description", "name", "checksum", "res_model", "res_id"],
                                order="id")
    named: dict[tuple[str, int, str], int] = {}  # files of the group by record and name
    for f in group:
        key3 = (f.model, f.parent_id, str(f.row["name"]))
        named[key3] = named.get(key3, 0) + 1
    sending: list[tuple[int, dict[str, Any], str | None]] = []
    first: dict[tuple[str, int, str, str], int] = {}  # a file sent by this group → its index
    same_as: dict[int, int] = {}
    for f in group:
        here = [r for r in rows if r.get("res_model") == f.model
                and _int(r.get("res_id")) == f.parent_id]
        tagged = [r for r in here if f.tag and r.get("description") == f.tag]
        namesakes = [r for r in here if r.get("name") == f.row["name"]]
        if not f.checksum and (namesakes and not tagged
                               or named[(f.model, f.parent_id, str(f.row["name"]))] > 1):
            f.checksum = _sha1(f.path)
        same = [r for r in here if r in tagged
                or (r in namesakes and r.get("checksum") == f.checksum)]
        if same:
            results[f.index] = WriteResult.success(str((tagged or same)[0]["id"]),
                                                   created=False)
            continue
        key = (f.model, f.parent_id, str(f.row["name"]), f.checksum)
        if f.checksum and key in first:
            same_as[f.index] = first[key]
            continue
        try:
            vals, _ = dest._vals("ir.attachment", f.row)
        except Unresolved as exc:
            results[f.index] = WriteResult.failure(RecordError(f.ref, exc.field, exc.reason))
            continue
        first[key] = f.index
        vals["datas"] = FileB64(f.path)  # streamed as the call is sent (``rpc.FileB64``)
        sid = f.row.get(dest.source_id_field)
        sending.append((f.index, vals, str(sid) if sid else None))
    if sending:
        dest._create_chunk("ir.attachment", sending, results)
    for i, j in same_as.items():
        got = results[j]
        results[i] = WriteResult.success(got.dest_id, created=False) \
            if got is not None and got.ok and got.dest_id else got


def recover_files(dest: OdooDestination, pending: list[tuple[int, dict[str, Any], str | None]],
                  results: list[WriteResult | None]
                  ) -> list[tuple[int, dict[str, Any], str | None]]:
    """After a failed transport, the files of a ``create`` that are on their records with
    their tags were committed: recorded as created; the rest are sent again."""
    tagged = {(str(v.get("res_model")), _int(v.get("res_id")), str(v["description"])): i
              for i, v, _ in pending if has_file_tag(v)}
    if not tagged:
        return pending
    rows = dest.rpc.search_read("ir.attachment", [
        ["res_model", "in", sorted({k[0] for k in tagged})],
        ["res_id", "in", sorted({k[1] for k in tagged if k[1] is not None})],
        ["description", "in", sorted({k[2] for k in tagged})]],
        ["description", "res_model", "res_id"], order="id")
    for r in rows:
        i = tagged.pop((str(r.get("res_model")), _int(r.get("res_id")),
                        str(r.get("description"))), None)
        if i is not None:
            results[i] = WriteResult.success(str(r["id"]), created=True)
    return [p for p in pending if results[p[0]] is None]


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
