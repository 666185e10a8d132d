"""Make the schema a mapping needs exist in Odoo: custom ``x_`` fields, CRM stages, activity types.

Naming rule for custom fields: the physical name is ``x_<name>`` where ``<name>`` is the
SchemaItem's logical name, lower-cased, with every run of characters outside ``[a-z0-9_]``
turned into ``_``, and cut to 63 characters (PostgreSQL's identifier limit); a name that already
starts with ``x_`` is kept. So a recipe field named ``studio_date_of_birth`` lands on
``x_studio_date_of_birth`` — the name Odoo Studio would have given it (seed 003) — and the
source-id tag ``ferry_source_id`` on ``x_ferry_source_id``. An existing field of that name is
reused (never created twice); missing selection options are added to it.

Kinds → ``ttype``: text/email/phone → char, long_text/json/address → text, int → integer,
decimal/money → float (monetary needs a currency field the models do not all have), bool →
boolean, date/datetime → date/datetime, enum → selection (option value = label), set → char with
labels joined by ``"; "`` (marked ``ferry:set`` in its help), ref → many2one on ``item.ref``.
An enum without options becomes an *open* selection (``ferry:open``): the writer adds values
as options when they first arrive, where a listed pick-list stays strict.

A pipeline is a sales team (``crm.team``: each team has its pipeline in Odoo's CRM); its stages
are ``crm.stage`` records bound to that team (a stage of the same name that is shared — no
team — or already the team's is reused); activity types are ``mail.activity.type`` records. All
are found by name first, so a second ``prepare`` creates nothing. Field creation is batched: one ``ir.model.fields`` create call per ensure,
because each one reloads Odoo's registry (NOTES 3).
"""

from __future__ import annotations

import re
from typing import Any

from ferry.connectors.base import Provisioned, SchemaItem
from ferry.connectors.settle import SETTLE_S, absent, look_twice
from ferry.destinations.odoo.errors import Ambiguous, OdooUserError
from ferry.destinations.odoo.rpc import OdooRpc
from ferry.destinations.odoo.shape import OPEN_MARK, SET_MARK
from ferry.errors import ConfigError, RetriableError
from ferry.model.fields import Kind

#: ``also_made`` key of a selection option ``ensure`` added to a field that was there
OPTION = "option:"
TTYPE = {Kind.TEXT: "char", Kind.EMAIL: "char", Kind.PHONE: "char", Kind.LONG_TEXT: "text",
         Kind.JSON: "text", Kind.ADDRESS: "text", Kind.INT: "integer", Kind.DECIMAL: "float",
         Kind.MONEY: "float", Kind.BOOL: "boolean", Kind.DATE: "date",
         Kind.DATETIME: "datetime", Kind.ENUM: "selection", Kind.SET: "char",
         Kind.REF: "many2one"}
#: objects at the seam that are not Odoo models, mapped to the one that holds them
OBJECT_ALIASES = {"person": "res.partner", "contact": "res.partner", "deal": "crm.lead",
                  "lead": "crm.lead", "activity": "mail.activity", "note": "mail.message",
                  "file": "ir.attachment", "invoice": "account.move"}


def field_name(name: str) -> str:
    """The documented ``x_`` naming rule."""
    base = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_") or "field"
    full = base if base.startswith("x_") else f"x_{base}"
    return full[:63]


def model_of(obj: str) -> str:
    return OBJECT_ALIASES.get(obj, obj)


def vals_model(vals: dict[str, Any], mids: dict[str, int]) -> str:
    return next(m for m, i in mids.items() if i == vals["model_id"])


class Provisioner:
    """Keeps what it learnt of ``ir.model``/``ir.model.fields`` for its lifetime: ``prepare``
    ensures items one at a time (each audited), and at a paced 1 call/s three look-ups per
    field would triple its duration; with the cache each new field costs one create call."""

    def __init__(self, rpc: OdooRpc, settle_s: float = SETTLE_S) -> None:
        self.rpc = rpc
        self.settle_s = settle_s  # a lost create's second look (``connectors.settle``)
        self._mids: dict[str, int] = {}
        self._known: dict[str, dict[str, dict[str, Any]]] = {}  # model → x_ name → field row

    def ensure(self, items: list[SchemaItem]) -> list[Provisioned]:
        out: dict[int, Provisioned] = {}
        fields = [(i, it) for i, it in enumerate(items) if it.kind == "custom_field"]
        if fields:
            out.update(self._fields(fields))
        for i, item in enumerate(items):
            if item.kind == "custom_field":
                continue
            if item.kind == "pipeline":
                out[i] = self._named(item, "crm.team", {})
            elif item.kind == "stage":
                team = self._team(item.parent)
                out[i] = self._named(item, "crm.stage", {"sequence": item.order + 1,
                                                         "team_id": team},
                                     [["team_id", "in", [team, False]]] if team else [])
            elif item.kind == "activity_type":
                vals: dict[str, Any] = {"category": "default"}
                out[i] = self._named(item, "mail.activity.type", vals)
            else:
                raise ConfigError(f"Odoo has no {item.kind} (item {item.name}): custom models"
                                  " are not supported by the Odoo connector")
        return [out[i] for i in range(len(items))]

    def existing(self, items: list[SchemaItem]) -> list[bool | None]:
        """Whether each item is in the database now (the field cache is refreshed)."""
        models = {model_of(i.object) for i in items if i.kind == "custom_field"}
        for m in models:
            self._known.pop(m, None)
        known = self._existing(models) if models else {}
        listed: dict[str, list[dict[str, Any]]] = {}  # one read per model, archived rows too

        def named(model: str, label: str) -> list[dict[str, Any]]:
            if model not in listed:
                cols = ["id", "name"] + (["team_id"] if model == "crm.stage" else [])
                listed[model] = self.rpc.search_read(model, [], cols,
                                                     context={"active_test": False})
            return [r for r in listed[model] if str(r["name"]).lower() == label.lower()]

        out: list[bool | None] = []
        for item in items:
            label = item.label or item.name
            if item.kind == "custom_field":
                out.append((model_of(item.object), field_name(item.name)) in known)
            elif item.kind == "pipeline":
                out.append(bool(named("crm.team", label)))
            elif item.kind == "activity_type":
                out.append(bool(named("mail.activity.type", label)))
            elif item.kind == "stage":
                teams = [r["id"] for r in named("crm.team", item.parent)] if item.parent else []
                if item.parent and not teams:
                    out.append(False)  # its pipeline is not there, so neither is it
                    continue
                # as ``_named`` looks a stage up: the pipeline's own, or one shared by all
                out.append(any(not teams or not r["team_id"] or r["team_id"][0] == teams[0]
                               for r in named("crm.stage", label)))
            else:
                out.append(None)
        return out

    def _team(self, name: str | None) -> int | bool:
        if not name:
            return False
        rows = self.rpc.search_read("crm.team", [["name", "=ilike", name]], ["id"], limit=1,
                                    context={"active_test": False})
        return int(rows[0]["id"]) if rows else False

    def _named(self, item: SchemaItem, model: str, vals: dict[str, Any],
               domain: list[Any] | None = None, tried: bool = False,
               settle: bool = False) -> Provisioned:
        label = item.label or item.name

        def look() -> int | None:
            rows = self.rpc.search_read(model, [["name", "=ilike", label], *(domain or [])],
                                        ["id"], limit=1, order="id",
                                        context={"active_test": False})
            return int(rows[0]["id"]) if rows else None

        # ``settle``: the last create's answer was lost, it may still commit: a second look
        found = look_twice(look, absent, self.settle_s if settle else 0.0, self.rpc.time_scale)
        if found is not None:  # absent before our create (``tried``) and there now: ours,
            return Provisioned(item, str(found), created=tried)  # so rollback removes it
        try:
            new_id = self.rpc.execute(model, "create", [{"name": label, **vals}],
                                      retry=False)[0]
        except RetriableError as exc:  # the create may have committed: find it, else again
            return self._named(item, model, vals, domain, tried=True,
                               settle=isinstance(exc, Ambiguous))
        return Provisioned(item, str(new_id), created=True)

    def _model_ids(self, models: set[str]) -> dict[str, int]:
        todo = sorted(models - set(self._mids))
        if todo:
            rows = self.rpc.search_read("ir.model", [["model", "in", todo]], ["id", "model"])
            self._mids.update({r["model"]: int(r["id"]) for r in rows})
        missing = models - set(self._mids)
        if missing:
            raise ConfigError(f"Odoo has no model {', '.join(sorted(missing))}: is the module"
                              " installed (account.move needs Invoicing/Accounting)?")
        return {m: self._mids[m] for m in models}

    def _existing(self, models: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
        todo = sorted(models - set(self._known))
        if todo:
            for m in todo:
                self._known[m] = {}
            for r in self.rpc.search_read("ir.model.fields", [["model", "in", todo],
                                                              ["state", "=", "manual"]],
                                          ["id", "name", "model", "ttype"]):
                self._known[r["model"]][r["name"]] = r
        return {(m, n): r for m in models for n, r in self._known[m].items()}

    def _fields(self, fields: list[tuple[int, SchemaItem]]) -> dict[int, Provisioned]:
        models = {model_of(it.object) for _, it in fields}
        mids = self._model_ids(models)
        existing = self._existing(models)
        out: dict[int, Provisioned] = {}
        to_create: list[tuple[int, SchemaItem, dict[str, Any]]] = []
        planned: set[tuple[str, str]] = set()
        for i, item in fields:
            model, name = model_of(item.object), field_name(item.name)
            row = existing.get((model, name))
            if row is not None or (model, name) in planned:
                out[i] = self._reuse(item, name, row)
                continue
            planned.add((model, name))
            to_create.append((i, item, self._field_vals(item, name, mids[model])))
        if to_create:
            try:
                ids = self.rpc.execute("ir.model.fields", "create",
                                       [v for _, _, v in to_create], retry=False)
            except RetriableError as exc:
                def look() -> dict[tuple[str, str], dict[str, Any]]:
                    for m in models:  # the call may have committed: look again, then go on
                        self._known.pop(m, None)
                    return self._existing(models)

                look_twice(look, lambda have: not any((vals_model(v, mids), v["name"]) in have
                                                      for _, _, v in to_create),
                           self.settle_s if isinstance(exc, Ambiguous) else 0.0,
                           self.rpc.time_scale)
                return self._fields(fields)
            for (i, item, vals), new_id in zip(to_create, ids, strict=True):
                self._known[vals_model(vals, mids)][vals["name"]] = {
                    "id": new_id, "name": vals["name"], "ttype": vals["ttype"]}
                opts = {label: label for label in item.options} \
                    if vals["ttype"] == "selection" else {}
                out[i] = Provisioned(item, vals["name"], created=True, option_ids=opts)
        return out

    def _field_vals(self, item: SchemaItem, name: str, model_id: int) -> dict[str, Any]:
        kind = item.field_kind or Kind.TEXT
        ttype = TTYPE.get(kind, "char")
        if ttype == "many2one" and not item.ref:
            ttype = "char"  # a reference without a target object keeps the source's id text
        vals: dict[str, Any] = {"model_id": model_id, "name": name, "state": "manual",
                                "field_description": item.label or item.name, "ttype": ttype,
                                "index": bool(item.external_id)}
        if ttype == "many2one":
            vals["relation"] = model_of(item.ref or "")
        if ttype == "selection":
            vals["selection_ids"] = [[0, 0, {"value": o, "name": o, "sequence": n}]
                                     for n, o in enumerate(item.options)]
        if kind == Kind.SET:
            vals["help"] = f"{SET_MARK}: labels joined by '; '"
        if ttype == "selection" and not item.options:
            vals["help"] = f"{OPEN_MARK}: options are added as values arrive"
        return vals

    def _reuse(self, item: SchemaItem, name: str, row: dict[str, Any] | None) -> Provisioned:
        if row is None or row["ttype"] != "selection":
            return Provisioned(item, name, created=False)
        opts = self.rpc.search_read("ir.model.fields.selection", [["field_id", "=", row["id"]]],
                                    ["value", "name"])
        by_label = {o["name"]: o["value"] for o in opts}
        by_label.update({o["value"]: o["value"] for o in opts if o["value"] not in by_label})
        missing = [o for o in item.options if o not in by_label]
        made: dict[str, str] = {}
        if missing:
            try:
                self.rpc.execute("ir.model.fields", "write", [row["id"]], {"selection_ids": [
                    [0, 0, {"value": o, "name": o, "sequence": len(opts) + n}]
                    for n, o in enumerate(missing)]})
            except OdooUserError:
                # sent again after a lost answer, the write meets the options its first try
                # made (unique per field): refused, and the options are there
                have = {o["value"] for o in self.rpc.search_read(
                    "ir.model.fields.selection", [["field_id", "=", row["id"]]], ["value"])}
                if not set(missing) <= have:
                    raise
            by_label.update({o: o for o in missing})
            # the field was there before: a rollback removes only the options added now
            made = {f"{OPTION}{o['value']}": str(o["id"]) for o in self.rpc.search_read(
                "ir.model.fields.selection", [["field_id", "=", row["id"]],
                                              ["value", "in", missing]], ["id", "value"])}
        return Provisioned(item, name, created=False,
                           option_ids={o: by_label[o] for o in item.options},
                           also_made=made)

    def remove(self, provisioned: Provisioned) -> None:
        item = provisioned.item
        if not provisioned.created:  # there before prepare: only the options it added go
            ids = [int(v) for k, v in provisioned.also_made.items() if k.startswith(OPTION)]
            there = [r["id"] for r in self.rpc.search_read(
                "ir.model.fields.selection", [["id", "in", ids]], ["id"])] if ids else []
            if there:
                self.rpc.execute("ir.model.fields.selection", "unlink", there)
            return
        if item.kind == "custom_field":
            model = model_of(item.object)
            self._known.get(model, {}).pop(provisioned.key, None)
            rows = self.rpc.search_read("ir.model.fields", [["model", "=", model],
                                                            ["name", "=", provisioned.key]],
                                        ["id"])
            if rows:
                self.rpc.execute("ir.model.fields", "unlink", [r["id"] for r in rows])
        elif item.kind in ("stage", "activity_type", "pipeline"):
            model = {"stage": "crm.stage", "pipeline": "crm.team"}.get(item.kind,
                                                                      "mail.activity.type")
            rid = int(provisioned.key)
            if self.rpc.execute(model, "search", [["id", "=", rid]],
                                context={"active_test": False}):
                self.rpc.execute(model, "unlink", [rid])
