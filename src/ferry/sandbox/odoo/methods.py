"""The public ORM methods a remote caller reaches through ``execute_kw``.

Each method has the positional signature of Odoo's own (``search(domain, offset, limit, order)``,
``read(ids, fields, load)``...), so a client that passes arguments positionally, as odoolib does,
or by keyword, as most scripts do, lands where it would on a real server, and a wrong call fails
with the same TypeError (Fault 1). Record methods take the id list first, as over RPC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from ferry.sandbox.odoo import hooks
from ferry.sandbox.odoo.exceptions import AccessError, UserError, ValidationError
from ferry.sandbox.odoo.orm import REFERENCES, Orm, Rec

RECORD_METHODS = {"read", "write", "unlink", "name_get", "message_post", "action_post",
                  "button_cancel", "button_draft", "toggle_active", "action_archive",
                  "action_unarchive"}
ARCHIVING = {"toggle_active", "action_archive", "action_unarchive"}


def _ids(value: Any) -> list[int]:
    if isinstance(value, bool):
        raise TypeError("ids must be integers")
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]


class _LoadFailed(Exception):
    """A failed ``load``: Odoo rolls its savepoint back and still answers normally."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__("load failed")
        self.answer = answer


class ModelProxy:
    """``env[model]`` for one call: the caller's uid and context are fixed."""

    def __init__(self, orm: Orm, uid: int, model: str, context: dict[str, Any]) -> None:
        self.orm = orm
        self.uid = uid
        self.model = model
        self.md = orm.model(model)
        self.context = context or {}

    # ------------------------------------------------------------------ dispatch
    def call(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        fn = getattr(self, f"rpc_{method}", None)
        if fn is None or (method == "name_get" and self.orm.version >= 18) \
                or (method == "message_post" and not self.md.thread) \
                or (method in ("action_post", "button_cancel", "button_draft")
                    and self.model != "account.move") \
                or (method == "context_get" and self.model != "res.users") \
                or (method in ARCHIVING and "active" not in self.md.fields):
            raise AttributeError(f"The method '{method}' does not exist on the model"
                                 f" '{self.model}'")
        return fn(*args, **kwargs)

    # ------------------------------------------------------------------ introspection
    def rpc_fields_get(self, allfields: list[str] | None = None,
                       attributes: list[str] | None = None) -> dict[str, Any]:
        out = {}
        for name, f in self.md.fields.items():
            if allfields and name not in allfields:
                continue
            desc = f.describe(name)
            if attributes:
                desc = {k: v for k, v in desc.items() if k in attributes}
            elif self.orm.version >= 19:
                desc["default_export_compatible"] = None  # faults on XML-RPC, as 19 does
            out[name] = desc
        return out

    def rpc_default_get(self, fields_list: list[str]) -> dict[str, Any]:
        out = {}
        for name in fields_list:
            f = self.md.fields.get(name)
            if f is None or f.default is None:
                continue
            out[name] = f.default(self.orm, self.uid) if callable(f.default) else f.default
        return out

    def rpc_check_access_rights(self, operation: str, raise_exception: bool = True) -> bool:
        try:
            self.orm.check_group(self.uid, self.model, operation)
        except AccessError:
            if raise_exception:
                raise
            return False
        return True

    def rpc_context_get(self) -> dict[str, Any]:
        return {"lang": "en_US", "tz": "Europe/London", "uid": self.uid}

    # ------------------------------------------------------------------ search / read
    def rpc_search(self, domain: list[Any], offset: int = 0, limit: int | None = None,
                   order: str | None = None, count: bool = False) -> Any:
        ids = self.orm.search_ids(self.model, domain, offset=offset, limit=limit or None,
                                  order=order or None, context=self.context)
        return len(ids) if count else ids

    def rpc_search_count(self, domain: list[Any], limit: int | None = None) -> int:
        return len(self.orm.search_ids(self.model, domain, limit=limit or None,
                                       context=self.context))

    def rpc_search_read(self, domain: list[Any] | None = None, fields: list[str] | None = None,
                        offset: int = 0, limit: int | None = None,
                        order: str | None = None) -> list[dict[str, Any]]:
        ids = self.orm.search_ids(self.model, domain or [], offset=offset, limit=limit or None,
                                  order=order or None, context=self.context)
        return self.rpc_read(ids, fields)

    def rpc_read(self, ids: Any, fields: list[str] | None = None,
                 load: str | None = "_classic_read") -> list[dict[str, Any]]:
        names = list(fields) if fields else list(self.md.fields)
        for name in names:
            if name not in self.md.fields:
                raise ValueError(f"Invalid field {name!r} on model {self.model!r}")
        table = self.orm.table(self.model)
        out = []
        for rid in _ids(ids):  # ids that no longer exist are dropped silently
            rec = table.get(rid)
            if rec is None:
                continue
            row = {"id": rid}
            for name in names:
                row[name] = self.orm.read_value(self.model, rec, name, load)
            out.append(row)
        return out

    def rpc_name_search(self, name: str = "", domain: list[Any] | None = None,
                        operator: str = "ilike", limit: int = 100) -> list[list[Any]]:
        dom = list(domain or [])
        if name:
            dom = [*dom, ("display_name" if self.md.rec_name not in self.md.fields
                          else self.md.rec_name, operator, name)]
        ids = self.orm.search_ids(self.model, dom, limit=limit, context=self.context)
        return [[i, self.orm.display_name(self.model, self.orm.table(self.model)[i])]
                for i in ids]

    def rpc_name_get(self, ids: Any) -> list[list[Any]]:
        table = self.orm.table(self.model)
        return [[i, self.orm.display_name(self.model, table[i])] for i in _ids(ids)
                if i in table]

    # ------------------------------------------------------------------ writes
    def _prepare(self, vals: dict[str, Any]) -> tuple[Rec, dict[str, Any]]:
        if not isinstance(vals, dict):
            raise TypeError(f"values must be a dict, not {type(vals).__name__}")
        rec: Rec = {}
        x2many: dict[str, Any] = {}
        for name, value in vals.items():
            f = self.md.fields.get(name)
            if f is None:
                raise ValueError(f"Invalid field {name!r} on model {self.model!r}")
            if f.computed:
                continue
            if f.type in ("one2many", "many2many"):
                x2many[name] = value
            else:
                rec[name] = self.orm.convert(self.model, name, f, value)
        return rec, x2many

    def rpc_create(self, vals_list: Any) -> Any:
        single = isinstance(vals_list, dict)
        rows = [vals_list] if single else list(vals_list)
        self.orm.check_group(self.uid, self.model, "create")
        ids = [self._create_one(vals) for vals in rows]
        return ids[0] if single else ids

    def _create_one(self, vals: dict[str, Any]) -> int:
        rec, x2many = self._prepare(vals)
        for name, f in self.md.fields.items():
            if name in rec or f.computed or f.type in ("one2many", "many2many"):
                if f.type == "many2many" and name not in rec:
                    rec[name] = []
                continue
            default = f.default(self.orm, self.uid) if callable(f.default) else f.default
            rec[name] = default if default is not None else (False if f.type != "integer"
                                                             else 0)
        now = self.orm.now()
        rec.update(create_date=now, write_date=now, create_uid=self.uid, write_uid=self.uid)
        hooks.before_create(self.orm, self.model, rec, vals, self.uid)
        self.orm.check_values(self.model, rec)
        rid = self.orm.insert(self.model, rec)
        self._x2many(rid, x2many)
        hooks.after_create(self.orm, self.model, rec, vals, self.uid)
        return rid

    def rpc_load(self, fields: list[str], data: list[list[Any]]) -> dict[str, Any]:
        """``BaseModel.load``, the import method: rows of text values (``ir.fields.converter``
        turns each into what ``write`` takes: an empty cell is False, ``1``/``true``/``yes`` a
        true boolean, a date ``YYYY-MM-DD``, a datetime ``YYYY-MM-DD HH:MM:SS`` in the context's
        time zone, a selection cell its key or label, any case). An ``id`` column is an external
        id (``module.name``; ``__import__`` when it has no module): a row whose external id
        exists updates that record, otherwise it creates one and the external id in the same
        transaction. A ``.id`` column is a database id: that record is updated. Only plain
        (non-relational) columns are emulated; Odoo reports row errors as messages with ``ids``
        False rather than raising, and so does this."""
        fields = list(fields)
        ids: list[int] = []
        messages: list[dict[str, Any]] = []
        for row, values in enumerate(data):
            cells = dict(zip(fields, values, strict=False))
            xmlid = cells.get("id") or ""
            module, _, name = xmlid.rpartition(".") if "." in xmlid else ("__import__", "",
                                                                          xmlid)
            try:
                vals = {f: self._from_text(f, v) for f, v in cells.items()
                        if f not in ("id", ".id")}
                if cells.get(".id"):
                    rid = int(cells[".id"])
                    if rid not in self.orm.table(self.model):
                        raise ValueError(f"No matching record found for database id '{rid}'")
                    self.rpc_write([rid], vals)
                    ids.append(rid)
                    continue
                known = next((x for x in self.orm.table("ir.model.data").values()
                              if x["module"] == module and x["name"] == name), None) \
                    if xmlid else None
                if known is not None and known["res_id"] in self.orm.table(self.model):
                    self.rpc_write([known["res_id"]], vals)
                    ids.append(known["res_id"])
                    continue
                self.orm.check_group(self.uid, self.model, "create")
                rid = self._create_one(vals)
                if xmlid:
                    if known is not None:
                        self.orm.drop("ir.model.data", known["id"])
                    self.orm.insert("ir.model.data", {"module": module, "name": name,
                                                      "model": self.model, "res_id": rid})
                ids.append(rid)
            except (ValueError, TypeError, UserError) as exc:
                messages.append({"type": "error", "message": str(exc), "record": row,
                                 "rows": {"from": row, "to": row}})
        if messages:  # Odoo rolls the whole import back when a row fails
            raise _LoadFailed({"ids": False, "messages": messages, "nextrow": 0})
        return {"ids": ids, "messages": [], "nextrow": 0}

    def _from_text(self, field: str, value: Any) -> Any:
        """One import cell as ``ir.fields.converter`` (``_str_to_<type>``) makes it."""
        f = self.md.fields.get(field)
        if f is None or f.type in ("one2many", "many2many", "many2one"):
            raise ValueError(f"Unknown field {field!r} for an import of {self.model!r}")
        if not value:
            return False
        if not isinstance(value, str):  # the converters call str methods on every cell
            raise TypeError(f"'{type(value).__name__}' object has no attribute 'lower'")
        t = f.type
        if t == "boolean":
            return value.lower() not in ("", "0", "false", "no")  # an unknown word: True
        if t == "integer":
            return int(value)
        if t in ("float", "monetary"):
            return float(value)
        if t == "date":
            return dt.date.fromisoformat(value[:10]).isoformat()
        if t == "datetime":
            # the context's zone, else the user's (``_input_tz``): a caller that sends UTC
            # must say so, or the cells are shifted by the user's offset
            user = self.orm.table("res.users").get(self.uid) or {}
            tz = ZoneInfo(str(self.context.get("tz") or user.get("tz") or "UTC"))
            local = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
            return local.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        if t == "selection":
            for key, label in f.selection or []:
                if value.lower() in (str(key).lower(), str(label).lower()):
                    return key
            raise ValueError(f"Value '{value}' not found in selection field '{field}'")
        return value

    def rpc_write(self, ids: Any, vals: dict[str, Any]) -> bool:
        self.orm.check_group(self.uid, self.model, "write")
        recs = self.orm.browse(self.model, _ids(ids), self.uid)
        changes, x2many = self._prepare(vals)
        for rec in recs:
            hooks.before_write(self.orm, self.model, rec, changes, vals, self.uid)
            merged = {**rec, **changes}
            self.orm.check_values(self.model, merged)
            self.orm.update(self.model, rec["id"], {**changes, "write_date": self.orm.now(),
                                                    "write_uid": self.uid})
            self._x2many(rec["id"], x2many)
            hooks.after_write(self.orm, self.model, rec, vals, self.uid)
        return True

    def rpc_unlink(self, ids: Any) -> bool:
        self.orm.check_group(self.uid, self.model, "unlink")
        self.unlink_records(self.model, self.orm.browse(self.model, _ids(ids), self.uid))
        return True

    def unlink_record(self, model: str, rec: Rec) -> None:
        self.unlink_records(model, [rec])

    def unlink_records(self, model: str, recs: list[Rec]) -> None:
        """Delete records with Odoo's cascades (ondelete rules, chatter, attachments); each
        referencing table is scanned once per call, not once per record."""
        table = self.orm.table(model)
        recs = [r for r in recs if r["id"] in table]
        if not recs:
            return
        for rec in recs:
            hooks.before_unlink(self.orm, model, rec, self.uid)
        gone = {r["id"] for r in recs}
        for other, md in self.orm.models.items():
            for name, f in list(md.fields.items()):
                if f.relation != model or f.computed or f.type not in ("many2one", "many2many"):
                    continue
                otable = self.orm.table(other)
                if f.type == "many2many":
                    for orec in list(otable.values()):
                        if gone & set(orec.get(name) or []):
                            self.orm.update(other, orec["id"], {
                                name: [i for i in orec[name] if i not in gone]})
                    continue
                hits = [o for o in otable.values() if o.get(name) in gone
                        and not (other == model and o["id"] in gone)]
                if not hits:
                    continue
                if f.ondelete == "cascade":
                    self.unlink_records(other, hits)
                elif f.ondelete == "restrict":
                    raise ValidationError(
                        "The operation cannot be completed: another model requires the record"
                        " being deleted. If possible, archive it instead.\n\n"
                        f"Model: {md.description} ({other}), Constraint:"
                        f" {other.replace('.', '_')}_{name}_fkey")
                else:
                    for o in hits:
                        self.orm.update(other, o["id"], {name: False})
        for other, (mfield, idfield) in REFERENCES.items():
            hits = [o for o in self.orm.table(other).values()
                    if o.get(mfield) == model and o.get(idfield) in gone]
            self.unlink_records(other, hits)
        if model != "ir.model.data":  # BaseModel.unlink drops the records' external ids
            for x in [x for x in self.orm.table("ir.model.data").values()
                      if x["model"] == model and x["res_id"] in gone]:
                self.orm.drop("ir.model.data", x["id"])
        for rec in recs:
            if rec["id"] in table:
                self.orm.drop(model, rec["id"])
                hooks.after_unlink(self.orm, model, rec, self.uid)

    def _x2many(self, rid: int, commands: dict[str, Any]) -> None:
        for name, value in commands.items():
            f = self.md.fields[name]
            co = ModelProxy(self.orm, self.uid, f.relation or "", self.context)
            cmds = [[6, 0, value]] if value and all(isinstance(v, int) for v in value) \
                else list(value or [])
            for cmd in cmds:
                if not isinstance(cmd, list | tuple) or not cmd:
                    raise ValueError(f"Invalid command {cmd!r} for field {self.model}.{name}")
                op = cmd[0]
                if op == 0:
                    vals = dict(cmd[2])
                    if f.type == "one2many":
                        vals[f.relation_field or ""] = rid
                    new = co._create_one(vals)
                    if f.type == "many2many":
                        self._link(rid, name, [new], add=True)
                elif op == 1:
                    co.rpc_write([cmd[1]], dict(cmd[2]))
                elif op == 2:
                    co.rpc_unlink([cmd[1]])
                elif op in (3, 5):
                    targets = [cmd[1]] if op == 3 else None
                    if f.type == "many2many":
                        cur = self.orm.table(self.model)[rid].get(name) or []
                        self._link(rid, name, [i for i in cur if targets and i not in targets])
                    else:  # one2many: a required/cascade inverse means the lines go
                        inverse = co.md.fields[f.relation_field or ""]
                        for crec in list(co.orm.table(co.model).values()):
                            if crec.get(f.relation_field) != rid or (targets and crec["id"]
                                                                     not in targets):
                                continue
                            if inverse.required or inverse.ondelete == "cascade":
                                co.rpc_unlink([crec["id"]])
                            else:
                                co.rpc_write([crec["id"]], {f.relation_field: False})
                elif op in (4, 6):
                    targets = [cmd[1]] if op == 4 else list(cmd[2])
                    co.orm.browse(co.model, targets, self.uid)
                    if f.type == "many2many":
                        self._link(rid, name, targets, add=(op == 4))
                    else:
                        for t in targets:
                            co.rpc_write([t], {f.relation_field: rid})
                else:
                    raise ValueError(f"Unknown command {op!r} for field {self.model}.{name}")

    def _link(self, rid: int, name: str, ids: list[int], *, add: bool = False) -> None:
        cur = list(self.orm.table(self.model)[rid].get(name) or [])
        new = cur + [i for i in ids if i not in cur] if add else list(dict.fromkeys(ids))
        self.orm.update(self.model, rid, {name: new})

    # ------------------------------------------------------------------ archiving
    def rpc_toggle_active(self, ids: Any) -> None:
        """BaseModel.toggle_active (17): flips ``active`` and returns None, so over XML-RPC the
        change commits and the caller gets Fault 1 (cannot marshal None); JSON-RPC says null.
        crm.lead's override zeroes the probability of what it archives and clears the lost
        reason of what it restores."""
        recs = self.orm.browse(self.model, _ids(ids), self.uid)
        on = [r["id"] for r in recs if r.get("active")]
        off = [r["id"] for r in recs if not r.get("active")]
        if on:
            self.rpc_write(on, {"active": False})
        if off:
            self.rpc_write(off, {"active": True})
        if self.model == "crm.lead":
            if on:
                self.rpc_write(on, {"probability": 0})
            if off:
                self.rpc_write(off, {"lost_reason_id": False})

    def rpc_action_archive(self, ids: Any) -> None:
        recs = self.orm.browse(self.model, _ids(ids), self.uid)
        return self.rpc_toggle_active([r["id"] for r in recs if r.get("active")])

    def rpc_action_unarchive(self, ids: Any) -> None:
        recs = self.orm.browse(self.model, _ids(ids), self.uid)
        return self.rpc_toggle_active([r["id"] for r in recs if not r.get("active")])

    # ------------------------------------------------------------------ model-specific
    def rpc_message_post(self, ids: Any, body: str = "", subject: str | None = None,
                         message_type: str = "notification", subtype_xmlid: str | None = None,
                         author_id: int | None = None, body_is_html: bool = False,
                         attachment_ids: list[int] | None = None, **_: Any) -> Any:
        target = _ids(ids)
        if len(target) != 1:
            raise ValueError(f"Expected singleton: {self.model}({', '.join(map(str, target))})")
        self.orm.browse(self.model, target, self.uid)
        text = body if body_is_html else self.orm.to_html_text(body or "")
        author = author_id or hooks.user_partner(self.orm, self.uid)
        subtype: int | bool = False
        if subtype_xmlid:
            module, _, name = subtype_xmlid.partition(".")
            subtype = next((d["res_id"] for d in self.orm.table("ir.model.data").values()
                            if (d["module"], d["name"]) == (module, name)), False)
            if not subtype:
                raise ValueError(f"External ID not found in the system: {subtype_xmlid}")
        msg = ModelProxy(self.orm, self.uid, "mail.message", self.context)._create_one(
            {"model": self.model, "res_id": target[0], "body": text, "subject": subject or False,
             "message_type": message_type, "author_id": author, "subtype_id": subtype,
             "attachment_ids": [[6, 0, list(attachment_ids or [])]]})
        return [msg] if self.orm.version >= 19 else msg

    def rpc_action_post(self, ids: Any) -> bool:
        for rec in self.orm.browse(self.model, _ids(ids), self.uid):
            if rec["state"] != "draft":
                raise UserError("The entry is not in draft state.")
            if not rec.get("partner_id") and rec["move_type"] != "entry":
                raise UserError("The field 'Customer' is required, please complete it to"
                                " validate the Customer Invoice.")
            seq = sum(1 for r in self.orm.table(self.model).values() if r["state"] == "posted")
            year = (rec.get("invoice_date") or str(self.orm.today()))[:4]
            self.orm.update(self.model, rec["id"], {"state": "posted",
                                                    "name": f"INV/{year}/{seq + 1:05d}"})
        return False

    def rpc_button_cancel(self, ids: Any) -> None:
        """Returns None as Odoo's does: the cancel commits, then XML-RPC cannot marshal it."""
        for rec in self.orm.browse(self.model, _ids(ids), self.uid):
            if rec["state"] == "posted":
                self.orm.update(self.model, rec["id"], {"state": "draft"})
            self.orm.update(self.model, rec["id"], {"state": "cancel"})

    def rpc_button_draft(self, ids: Any) -> None:
        for rec in self.orm.browse(self.model, _ids(ids), self.uid):
            self.orm.update(self.model, rec["id"], {"state": "draft"})



def dispatch(orm: Orm, uid: int, model: str, method: str, args: list[Any],
             kwargs: dict[str, Any]) -> Any:
    """One ``execute_kw`` call, as one transaction."""
    if method.startswith("_"):
        raise AccessError(f"Private methods (such as '{model}.{method}') cannot be called"
                          " remotely.")
    if model not in orm.models:
        raise UserError(f"Object {model} doesn't exist")
    kwargs = dict(kwargs or {})
    context = kwargs.pop("context", None) or {}
    if method == "create" and not args:
        # Odoo's dispatch indexes args[0] to choose int-or-list; vals only in kwargs breaks it
        raise IndexError("list index out of range")
    if method in RECORD_METHODS and not args:
        raise TypeError(f"{model}.{method}() missing 1 required positional argument: 'ids'")
    try:
        with orm.transaction():
            return ModelProxy(orm, uid, model, context).call(method, list(args or []), kwargs)
    except _LoadFailed as failed:
        return failed.answer


