"""Model-specific rules: the constraints and side effects Odoo's own models add to the ORM.

Custom fields are the heart of it: an ``ir.model.fields`` record with ``state='manual'`` becomes
a live field of its model the moment it is created (and disappears with its values when
unlinked), with Odoo's checks — the ``x_`` prefix, a valid identifier, one name per model, an
existing related model, a currency for monetary, base fields immutable, no type change.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import mimetypes
import os
import re
from typing import Any

from ferry.sandbox.odoo.exceptions import MissingError, UserError, ValidationError
from ferry.sandbox.odoo.models import F
from ferry.sandbox.odoo.orm import Orm, Rec

#: set (by ``bench/engine.py``) so the sandbox keeps an attachment's size and checksum but not
#: its content: 10k patients upload some 10 GB, which the sandbox's process would otherwise hold
DROP_FILE_CONTENT = "FERRY_SANDBOX_DROP_FILE_CONTENT"

NAME_RX = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: what a posted (or cancelled) move refuses to change until it is reset to draft
POSTED_LOCKED = {"partner_id", "currency_id", "move_type", "invoice_date", "invoice_date_due",
                 "invoice_line_ids", "date"}


def user_partner(orm: Orm, uid: int) -> int | bool:
    user = orm.table("res.users").get(uid)
    return user["partner_id"] if user else False


def _sql_check(message: str) -> ValidationError:
    return ValidationError(f"The operation cannot be completed: {message}")


def _check_document(orm: Orm, model: Any, res_id: Any, uid: int) -> None:
    if not model:
        return
    if model not in orm.models:
        raise UserError(f"Object {model} doesn't exist")
    if res_id and res_id not in orm.table(model):
        raise MissingError("Record does not exist or has been deleted.\n"
                           f"(Record: {model}({res_id},), User: {uid})")


def before_create(orm: Orm, model: str, rec: Rec, vals: dict[str, Any], uid: int) -> None:
    _shared_rules(orm, model, rec, vals, uid)
    if model == "res.users":
        if any(u["login"] == rec["login"] for u in orm.table(model).values()):
            raise _sql_check("You can not have two users with the same login!")
        if not rec.get("partner_id"):
            from ferry.sandbox.odoo.methods import ModelProxy
            rec["partner_id"] = ModelProxy(orm, uid, "res.partner", {})._create_one(
                {"name": rec["name"], "email": rec.get("email") or rec["login"]})
    elif model == "mail.message":
        _check_document(orm, rec.get("model"), rec.get("res_id"), uid)
        if not rec.get("date"):
            rec["date"] = orm.now()
        if not rec.get("author_id"):
            rec["author_id"] = user_partner(orm, uid)
    elif model == "ir.attachment":
        if rec.get("datas"):
            content = orm.binary_content(rec["datas"])
            rec["file_size"] = len(content)
            rec["checksum"] = hashlib.sha1(content).hexdigest()  # noqa: S324 - Odoo's own
            if os.environ.get(DROP_FILE_CONTENT):
                rec["datas"] = False  # bench/engine.py at scale: size and checksum only
        if not rec.get("mimetype"):
            guess = mimetypes.guess_type(str(rec.get("name") or ""))[0]
            rec["mimetype"] = guess or "application/octet-stream"
    elif model == "ir.model.fields":
        _new_field(orm, rec)
    elif model == "ir.model.fields.selection":
        if rec.get("field_id") not in orm.table("ir.model.fields"):
            return
        field = orm.table("ir.model.fields")[rec["field_id"]]
        if any(s["field_id"] == field["id"] and s["value"] == rec["value"]
               for s in orm.table(model).values()):
            raise _sql_check("Selection values must be unique per field")


def _shared_rules(orm: Orm, model: str, rec: Rec, vals: dict[str, Any], uid: int) -> None:
    """Rules that hold for create and write alike (``rec`` is the record as it will be)."""
    if model == "res.partner":
        if "company_type" in vals:
            if vals["company_type"] not in ("person", "company"):
                raise ValueError(f"Wrong value for res.partner.company_type:"
                                 f" {vals['company_type']!r}")
            rec["is_company"] = vals["company_type"] == "company"
        if rec.get("type", "contact") == "contact" and not rec.get("name"):
            raise _sql_check("Contacts require a name")
    elif model == "crm.lead":
        stage = orm.table("crm.stage").get(rec.get("stage_id") or 0)
        if stage and stage["is_won"] and "probability" not in vals:
            rec["probability"] = 100.0
        prob = rec.get("probability") or 0.0
        if not 0 <= prob <= 100:
            raise _sql_check("The probability of closing the deal should be between 0% and"
                             " 100%!")
    elif model == "mail.activity":
        irm = orm.table("ir.model").get(rec.get("res_model_id") or 0)
        if irm:
            rec["res_model"] = irm["model"]
            _check_document(orm, irm["model"], rec.get("res_id"), uid)
    elif model == "crm.tag":
        if any(t["name"] == rec.get("name") and t["id"] != rec.get("id")
               for t in orm.table(model).values()):
            raise _sql_check("Tag name already exists!")
    elif model == "calendar.event":
        _event_times(orm, rec, vals, uid)


def _event_times(orm: Orm, rec: Rec, vals: dict[str, Any], uid: int) -> None:
    """calendar.event (17): an all-day event runs from its dates; ``stop`` is computed from
    ``start`` + ``duration`` hours unless written; it may not end before it starts."""
    irm = orm.table("ir.model").get(rec.get("res_model_id") or 0)
    rec["res_model"] = irm["model"] if irm else False
    if rec.get("allday") and rec.get("start_date"):
        rec["start"] = f"{rec['start_date']} 08:00:00"
        rec["stop"] = f"{rec.get('stop_date') or rec['start_date']} 18:00:00"
    if rec.get("start") and ("stop" not in vals or not rec.get("stop")) and not rec.get("allday"):
        start = dt.datetime.strptime(rec["start"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
        hours = float(rec.get("duration") or 0.0)
        rec["stop"] = (start + dt.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")
    if rec.get("start") and rec.get("stop") and rec["stop"] < rec["start"]:
        raise ValidationError(
            "The ending date and time cannot be earlier than the starting date and time.\n"
            f"Meeting “{rec.get('name') or ''}” starts at {rec['start']} and ends at"
            f" {rec['stop']}")


def _archive_rule(orm: Orm, rec: Rec, uid: int) -> None:
    """res.partner ``write`` (17): a contact linked to an active user cannot be archived."""
    users = [u for u in orm.table("res.users").values()
             if u.get("partner_id") == rec["id"] and u.get("active")]
    if not users:
        return
    names = ", ".join(u["name"] for u in users)
    if orm.is_admin(uid):  # a RedirectWarning to the users list: Fault 2 all the same
        raise UserError("You cannot archive contacts linked to an active user.\n"
                        "You first need to archive their associated user.\n\n"
                        f"Linked active users : {names}")
    raise ValidationError("You cannot archive contacts linked to an active user.\n"
                          "Ask an administrator to archive their associated user first.\n\n"
                          f"Linked active users :\n{names}")


def _new_field(orm: Orm, rec: Rec) -> None:
    irm = orm.table("ir.model").get(rec.get("model_id") or 0)
    if irm is None:
        return  # check_values reports the missing model_id
    model = irm["model"]
    rec["model"] = model
    name = str(rec.get("name") or "")
    if rec.get("state") == "manual" and not name.startswith("x_"):
        raise _sql_check("Custom fields must have a name that starts with 'x_'!")
    if not NAME_RX.match(name):
        raise ValidationError("Field names can only contain characters, digits and underscores"
                              " (up to 63).")
    if name in orm.models[model].fields:
        raise _sql_check("Field names must be unique per model.")
    ttype = rec.get("ttype")
    if ttype in ("many2one", "one2many", "many2many") and rec.get("relation") not in orm.models:
        raise ValidationError(f"Unknown model name '{rec.get('relation')}' in Related Model")
    if ttype == "one2many":
        co = orm.models[rec["relation"]].fields.get(rec.get("relation_field") or "")
        if co is None or co.type != "many2one":
            raise ValidationError(f"Many2one {rec.get('relation_field')} on model"
                                  f" {rec['relation']} does not exist!")
    if ttype == "monetary" and "currency_id" not in orm.models[model].fields:
        raise ValidationError("Currency field is empty and there is no fallback field in the"
                              " model")
    if ttype == "many2one" and rec.get("required") and rec.get("on_delete") == "set null":
        raise ValidationError(f"The m2o field {name} is required but declares its ondelete"
                              " policy as being 'set null'. Only 'restrict' and 'cascade'"
                              " make sense.")
    if rec.get("selection"):
        _parse_selection(rec["selection"])


def _parse_selection(text: str) -> list[tuple[str, str]]:
    try:
        items = ast.literal_eval(text)
        pairs = [(str(k), str(v)) for k, v in items]
        if any(not isinstance(k, str) for k, _ in items):
            raise ValueError
        return pairs
    except (ValueError, SyntaxError, TypeError):
        raise ValidationError("The Selection Options expression is not a valid Pythonic"
                              " expression. Please provide an expression in the [('key','Label'),"
                              " ...] format.") from None


def after_create(orm: Orm, model: str, rec: Rec, vals: dict[str, Any], uid: int) -> None:
    if model == "ir.model.fields" and rec.get("state") == "manual":
        _install_field(orm, rec)
        if rec.get("selection"):
            from ferry.sandbox.odoo.methods import ModelProxy
            proxy = ModelProxy(orm, uid, "ir.model.fields.selection", {})
            for seq, (key, label) in enumerate(_parse_selection(rec["selection"])):
                proxy._create_one({"field_id": rec["id"], "value": key, "name": label,
                                   "sequence": seq})
        _refresh_selection(orm, rec["id"])
    elif model == "ir.model.fields.selection":
        _refresh_selection(orm, rec["field_id"])


def _install_field(orm: Orm, rec: Rec) -> None:
    model, name = rec["model"], rec["name"]
    f = F(rec["ttype"], rec.get("field_description") or name, required=bool(rec.get("required")),
          readonly=bool(rec.get("readonly")), relation=rec.get("relation") or None,
          relation_field=rec.get("relation_field") or None, manual=True,
          ondelete=rec.get("on_delete") or "set null", help=rec.get("help") or "",
          selection=[] if rec["ttype"] == "selection" else None)
    orm.models[model].fields[name] = f
    orm.push_undo(lambda: orm.models[model].fields.pop(name, None))


def _refresh_selection(orm: Orm, field_id: int) -> None:
    field = orm.table("ir.model.fields").get(field_id)
    if not field or field["state"] != "manual":
        return
    f = orm.models[field["model"]].fields.get(field["name"])
    if f is None or f.type != "selection":
        return
    old = f.selection
    opts = sorted((s for s in orm.table("ir.model.fields.selection").values()
                   if s["field_id"] == field_id), key=lambda s: (s["sequence"], s["id"]))
    f.selection = [(s["value"], s["name"]) for s in opts]
    orm.push_undo(lambda: setattr(f, "selection", old))


def before_write(orm: Orm, model: str, rec: Rec, changes: Rec, vals: dict[str, Any],
                 uid: int) -> None:
    merged = {**rec, **changes}
    _shared_rules(orm, model, merged, vals, uid)
    if model == "res.partner" and changes.get("active") is False and rec.get("active"):
        _archive_rule(orm, rec, uid)
    for key in ("is_company", "probability", "res_model", "stop"):
        if key in merged and merged[key] != rec.get(key) and key not in changes:
            changes[key] = merged[key]
    if model == "account.move" and rec.get("state") != "draft" \
            and set(vals) & POSTED_LOCKED:
        raise UserError("You cannot modify a posted journal entry. Reset it to draft first.")
    if model == "ir.model.fields":
        if rec["state"] != "manual":
            raise UserError("Properties of base fields cannot be altered in this manner! Please"
                            " modify them through Python code, preferably through a custom"
                            " addon!")
        if "ttype" in changes and changes["ttype"] != rec["ttype"]:
            raise UserError("Changing the type of a field is not yet supported. Please drop it"
                            " and create it again!")
        if "model_id" in changes and changes["model_id"] != rec["model_id"]:
            raise UserError("Changing the model of a field is forbidden!")
        if "name" in changes and changes["name"] != rec["name"]:
            raise UserError("Renaming fields is not supported by this emulator; drop it and"
                            " create it again.")


def after_write(orm: Orm, model: str, rec: Rec, vals: dict[str, Any], uid: int) -> None:
    if model == "ir.model.fields" and rec["state"] == "manual":
        f = orm.models[rec["model"]].fields.get(rec["name"])
        if f is not None:
            old = (f.string, f.required, f.help)
            f.string = rec.get("field_description") or f.string
            f.required = bool(rec.get("required"))
            f.help = rec.get("help") or ""
            orm.push_undo(lambda: _restore(f, old))
        _refresh_selection(orm, rec["id"])
    elif model == "ir.model.fields.selection":
        _refresh_selection(orm, rec["field_id"])


def _restore(f: F, old: tuple[str, bool, str]) -> None:
    f.string, f.required, f.help = old


def before_unlink(orm: Orm, model: str, rec: Rec, uid: int) -> None:
    if model == "ir.model.fields" and rec["state"] != "manual":
        raise UserError("This column contains module data and cannot be removed!")
    if model == "res.users" and rec["id"] in (1, 2):
        raise UserError("You can not remove the admin user as it is used internally for"
                        " resources created by Odoo (updates, module installation, ...)")


def after_unlink(orm: Orm, model: str, rec: Rec, uid: int) -> None:
    if model == "ir.model.fields" and rec["state"] == "manual":
        fmodel, name = rec["model"], rec["name"]
        f = orm.models[fmodel].fields.pop(name, None)
        orm.push_undo(lambda: orm.models[fmodel].fields.__setitem__(name, f))
        for r in orm.table(fmodel).values():
            if name in r:
                value = r.pop(name)
                orm.push_undo(lambda r=r, value=value: r.__setitem__(name, value))
    elif model == "ir.model.fields.selection":
        _refresh_selection(orm, rec["field_id"])
