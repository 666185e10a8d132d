"""Lookup tables a practice extends: partner tags, lead tags, partner titles.

Odoo 17 ships five partner titles in its base data and no tags at all; a practice's own
categories ("Patient", its treatment types, a title such as "Mx") are values, not schema. So a
value the table lacks is created on first use, by name, and marked as Ferry's with an external
id in module ``ferry`` (``ir.model.data``). When a rollback or a delta deletion removes the
records that used it, a Ferry-made entry that nothing uses any more is removed as well, so the
account ends as it was; entries that were there before Ferry are never touched.

| relation | matched on | the field that uses it |
|---|---|---|
| res.partner.category | name | res.partner ``category_id`` (many2many) |
| crm.tag | name | crm.lead ``tag_ids`` (many2many) |
| res.partner.title | name, or shortcut without its dot ("Dr" → Doctor, "Dr.") | res.partner ``title`` (17, 18; gone in 19) |
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from ferry.errors import FerryError

if TYPE_CHECKING:
    from ferry.destinations.odoo.rpc import OdooRpc
    from ferry.destinations.odoo.shape import Lookups

MODULE = "ferry"
#: relation → (the model and field that use it)
USED_BY = {"res.partner.category": ("res.partner", "category_id"),
           "crm.tag": ("crm.lead", "tag_ids"),
           "res.partner.title": ("res.partner", "title")}
#: the columns read for each relation (one cached read per relation)
COLUMNS = {"res.partner.title": ["name", "shortcut"]}
NO_ACTIVE = {"active_test": False}


def columns(relation: str) -> list[str]:
    return COLUMNS.get(relation, ["name"])


def match(rows: list[dict[str, Any]], relation: str, text: str) -> int | None:
    low = text.strip().lower()
    for r in rows:
        if (r.get("name") or "").strip().lower() == low:
            return int(r["id"])
    if relation == "res.partner.title":
        bare = low.rstrip(".")
        for r in rows:
            if (r.get("shortcut") or "").strip().lower().rstrip(".") == bare:
                return int(r["id"])
    return None


def xmlid(relation: str, name: str) -> str:
    """The external id Ferry gives an entry it makes: fixed by the name, so a retry or a run
    resumed after a kill finds the same one instead of making a second."""
    digest = hashlib.sha256(name.strip().lower().encode()).hexdigest()[:16]
    return f"{MODULE}.{relation.replace('.', '_')}_{digest}"


def make(rpc: OdooRpc, lookups: Lookups, relation: str, text: str) -> int:
    """Create ``text`` in ``relation`` marked as Ferry's; returns its id.

    Through ``load`` (Odoo's import method), which writes the entry and its external id in one
    transaction: a kill between a plain ``create`` and the mark would leave an entry no
    rollback can tell from the account's own. ``load`` with an existing external id updates,
    so the call is safe to repeat."""
    name = text.strip()
    answer = rpc.execute(relation, "load", ["id", "name"], [[xmlid(relation, name), name]])
    ids = answer.get("ids") if isinstance(answer, dict) else None
    if not ids:
        problems = "; ".join(str(m.get("message", "")) for m in (answer or {}).get("messages", []))
        raise FerryError(f"Odoo refused to add {name!r} to {relation}: {problems or 'no id'}")
    new = int(ids[0])
    lookups.add(relation, {"id": new, "name": name,
                           **({"shortcut": False} if relation == "res.partner.title" else {})})
    return new


def sweep(rpc: OdooRpc, lookups: Lookups, model: str) -> int:
    """Remove the Ferry-made entries that no record of ``model`` uses any more; returns how
    many went. One read of the marks per relation, and nothing more when there are none."""
    removed = 0
    for relation, (user, field) in USED_BY.items():
        if user != model:
            continue
        marks = rpc.search_read("ir.model.data", [["module", "=", MODULE],
                                                  ["model", "=", relation]], ["res_id"])
        if not marks:
            continue
        made = sorted({int(m["res_id"]) for m in marks})
        used: set[int] = set()
        for row in rpc.search_read(user, [[field, "in", made]], [field], context=NO_ACTIVE):
            value = row.get(field) or []
            used.update([value[0]] if field == "title" else value)
        unused = [i for i in made if i not in used]
        live = rpc.execute(relation, "search", [["id", "in", unused]],
                           context=NO_ACTIVE) if unused else []
        if live:
            rpc.execute(relation, "unlink", live)
            removed += len(live)
        stale = [int(m["id"]) for m in rpc.search_read(
            "ir.model.data", [["module", "=", MODULE], ["model", "=", relation],
                              ["res_id", "in", unused]], ["id"])] if unused else []
        if stale:  # Odoo drops the external ids of what it unlinks; an older server may not
            rpc.execute("ir.model.data", "unlink", stale)
        lookups.forget(relation)
    return removed
