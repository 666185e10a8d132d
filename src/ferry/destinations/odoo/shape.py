"""Values between the seam and Odoo, both ways, and the lookups that resolve references.

At the seam (``connectors.base``) references are destination ids as strings, enums are option
labels, dates are ``date``/aware ``datetime``. Odoo wants many2one ints, selection *keys*, naive
UTC ``"YYYY-MM-DD HH:MM:SS"`` strings and ``False`` for empty. Some many2one values are accepted
in the words a source has, because that is what a practice export holds:

| field relation | accepted at the seam |
|---|---|
| res.country | id, ISO-3166 alpha-2 code (``GB``), the country name, or any spelling ``ferry.model.countries`` reads (``Deutschland``, ``UK``, ``DEU``) |
| res.country.state | id, state code or name (within the row's country when it has one) |
| res.users | id or the user's email/login |
| crm.stage / crm.team / mail.activity.type / res.currency | id or the name (currency: code) |
| ir.model (``res_model_id``) | id or the model name (``res.partner``) |
| res.partner.category / crm.tag / res.partner.title | id or the name (title: or its shortcut); a name Odoo lacks is created when writing (``tags``) |

A many2many field (partner tags, lead tags) takes one value or a list of them.

``read`` shapes values back the same way (many2one → id string — except the lookup tables in
``NATURAL``: a country reads back as its ISO code, a currency as its code, an activity type as
its name, a state as its code in the US/AU/CA and its name elsewhere —, custom selection key → label,
html ``<p>text</p>`` → ``text``, entities kept as written by the ``html`` transform), so what
the engine wrote and what it reads back compare field by field.
A state is found by its code or name, folded, and in the other forms that name the same region
(``model.regions``: ``Glos``, ``N Yorks``, ``Co. Durham``). One Odoo does not list (its UK rows
are Royal Mail's former postal counties: no ``Greater Manchester``) is left empty rather than
failing the record, its text kept in the record's notes (``notes``), and the write result says
so (``WriteResult.field_errors``: a ``load-kept`` line in the skip file; the sample diff counts
the field ``kept_as_text`` when it reads the text back there). ``read`` returns one spelling
of a lookup value whichever was sent, so ``OdooDestination.stored_form`` turns a sent value into
that spelling for the diff. A custom selection made from an enum without options is
*open* (``ferry:open`` in its help): the writer adds each new value as an option.
A custom field made for a Ferry *set* is a char holding labels joined by ``"; "``; its ``help``
says ``ferry:set`` so reads split it again.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from ferry.destinations.odoo import tags
from ferry.destinations.odoo.rpc import OdooRpc, server_datetime
from ferry.model.fields import Kind
from ferry.model.regions import fold, region_forms

SET_MARK = "ferry:set"
OPEN_MARK = "ferry:open"
SET_SEP = "; "
_P = re.compile(r"^<p>(.*)</p>$", re.S)
NO_ACTIVE = {"active_test": False}


#: lookup tables read back by their natural key instead of the id (what recipes write)
NATURAL = {"res.country": "code", "res.currency": "name", "mail.activity.type": "name",
           "res.country.state": "name", **dict.fromkeys(tags.USED_BY, "name")}
#: countries whose addresses name the state by its code (CA, NSW); elsewhere by its name
CODE_STATES = {"US", "AU", "CA"}
#: the county word before an Irish county's name ("Co. Cork", "County Kerry")
COUNTY = re.compile(r"^(?:co\.?|county)\s+")
#: the words before a Spanish region's own name ("Comunidad de Madrid", "Principado de
#: Asturias", "Ciudad Autónoma de Ceuta"); Odoo names the province: Madrid, Asturias, Ceuta
REGION_WORDS = re.compile(r"^(?:comunidad(?: foral| aut[oó]noma)?|principado|"
                          r"ciudad aut[oó]noma|regi[oó]n)\s+de\s+")


class Unresolved(Exception):
    """A reference value has no match in Odoo; ``field`` names it, never the value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def kind_of(name: str, meta: dict[str, Any]) -> Kind:
    t = meta.get("type")
    if t == "char":
        if SET_MARK in str(meta.get("help") or ""):
            return Kind.SET
        if "email" in name:
            return Kind.EMAIL
        if "phone" in name or "mobile" in name:
            return Kind.PHONE
        return Kind.TEXT
    return {"text": Kind.LONG_TEXT, "html": Kind.LONG_TEXT, "integer": Kind.INT,
            "many2one_reference": Kind.INT, "float": Kind.DECIMAL, "monetary": Kind.MONEY,
            "boolean": Kind.BOOL, "date": Kind.DATE, "datetime": Kind.DATETIME,
            "selection": Kind.ENUM, "many2one": Kind.REF}.get(str(t), Kind.TEXT)


class Lookups:
    """Name/code → id caches for the models references resolve against (one call each)."""

    def __init__(self, rpc: OdooRpc) -> None:
        self.rpc = rpc
        self._cache: dict[str, list[dict[str, Any]]] = {}
        #: (model, index name) → (the rows it was built from, their count, key → rows)
        self._indexes: dict[tuple[str, str], tuple[list[dict[str, Any]], int,
                                                   dict[str, list[dict[str, Any]]]]] = {}
        self.create_missing = True  # off while only comparing (``reading``)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Resolve without creating: a comparison must not write to the account."""
        before, self.create_missing = self.create_missing, False
        try:
            yield
        finally:
            self.create_missing = before

    def add(self, model: str, row: dict[str, Any]) -> None:
        if model in self._cache:
            self._cache[model].append(row)

    def rows(self, model: str, fields: list[str]) -> list[dict[str, Any]]:
        if model not in self._cache:
            self._cache[model] = self.rpc.search_read(model, [], fields, context=NO_ACTIVE)
        return self._cache[model]

    def forget(self, model: str) -> None:
        self._cache.pop(model, None)

    def _keyed(self, model: str, fields: list[str], name: str,
               keys: Callable[[dict[str, Any]], Iterable[str]]) -> dict[str, list[dict[str, Any]]]:
        """The rows of ``model`` under each key ``keys`` gives them, in row order: one pass
        over the table instead of one per value resolved (a country and a state per patient
        scanned every state). Rebuilt when the rows change (``add``, ``forget``)."""
        rows = self.rows(model, fields)
        got = self._indexes.get((model, name))
        if got is None or got[0] is not rows or got[1] != len(rows):
            index: dict[str, list[dict[str, Any]]] = {}
            for r in rows:
                for k in dict.fromkeys(keys(r)):
                    index.setdefault(k, []).append(r)
            got = self._indexes[(model, name)] = (rows, len(rows), index)
        return got[2]

    def natural(self, relation: str, rid: int) -> str:
        """The key a person (and a recipe) uses for a lookup-table record; see NATURAL."""
        if relation == "res.country.state":
            state = next((s for s in self.rows(relation, ["name", "code", "country_id"])
                          if s["id"] == rid), None)
            if state is None:
                return str(rid)
            country = state["country_id"][0] if state["country_id"] else None
            code = next((c["code"] for c in self.rows("res.country", ["name", "code"])
                         if c["id"] == country), None)
            return str(state["code"] if code in CODE_STATES else state["name"])
        field = NATURAL[relation]
        cols = tags.columns(relation) if relation in tags.USED_BY else \
            (["name", "code"] if field == "code" else ["name"])
        row = next((r for r in self.rows(relation, cols) if r["id"] == rid), None)
        return str(row[field]) if row else str(rid)

    def _code_of(self, cid: int | None) -> str | None:
        """The ISO code of the res.country of id ``cid``."""
        if cid is None:
            return None
        got = next((c["code"] for c in self.rows("res.country", ["name", "code"])
                    if c["id"] == cid), None)
        return str(got).upper() if got else None

    def resolve(self, relation: str, field: str, value: Any, row: dict[str, Any]) -> int:
        if isinstance(value, bool):
            raise Unresolved(field, "a reference must be an id, not a boolean")
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            return int(value)
        text = str(value).strip()
        low = text.lower()
        if relation == "res.country":
            from ferry.model.countries import read_country

            if read_country(text, row.get("state_id"), row.get("zip")).ambiguous:
                # Georgia beside GA 30301: Odoo has the country Georgia, and taking it would
                # move a US patient abroad; never guessed (the audit lists it)
                raise Unresolved(field, "the country's name is also the record's state "
                                        "elsewhere and its state or postcode say otherwise")
            keyed = self._keyed(relation, ["name", "code"], "code|name", _code_name)
            found = keyed.get(low)
            if not found:  # as the practice wrote it: Deutschland, UK, Países Bajos
                from ferry.model.countries import country_code

                code = country_code(text)
                found = keyed.get(code.lower()) if code else None
            if found:  # the first country whose code or name it is
                return int(found[0]["id"])
        elif relation == "res.country.state":
            country = row.get("country_id")
            cid = None
            if country not in (None, False, ""):
                try:
                    cid = self.resolve("res.country", "country_id", country, row)
                except Unresolved:
                    cid = None
            cols = ["name", "code", "country_id"]
            exact = self._keyed(relation, cols, "code|name", _code_name)
            loose = self._keyed(relation, cols, "name variants", _state_variants)
            # an Irish address writes its county "Co. Cork" / "County Cork"; Odoo names it
            # Cork. Then Odoo's name as addresses also write it (Armagh for County Armagh,
            # Navarra for Navarra (Nafarroa)) and a Spanish region's own name (Madrid)
            bare = COUNTY.sub("", low)
            hits = []
            tries = [(exact, low), (exact, bare), (loose, bare),
                     (loose, REGION_WORDS.sub("", bare))]
            # then folded (accents, punctuation) and in the other forms that name the same
            # region (``model.regions``: Glos, N Yorks, Devonshire, Odisha), never a neighbour
            folded = self._keyed(relation, cols, "folded variants", _state_folded)
            tries += [(folded, k) for k in region_forms(text, self._code_of(cid))]
            for index, key in tries:
                hits = [s for s in index.get(key, [])
                        if cid is None or (s["country_id"] and s["country_id"][0] == cid)]
                if hits:
                    break
            if len(hits) == 1:
                return int(hits[0]["id"])
            if len(hits) > 1:
                raise Unresolved(field, "the state matches several countries; map country_id")
        elif relation == "res.users":
            found = self._keyed(relation, ["login", "email", "share"], "login|email", lambda u: (
                (u["login"] or "").lower(), (u["email"] or "").lower())).get(low)
            if found:
                return int(found[0]["id"])
        elif relation in tags.USED_BY:
            named = self._keyed(relation, tags.columns(relation), "name", lambda r: (
                (r.get("name") or "").strip().lower(),)).get(low.strip())
            # ``tags.match``: the first entry by name, else (titles) by shortcut
            found = int(named[0]["id"]) if named else tags.match(
                self.rows(relation, tags.columns(relation)), relation, text)
            if found is not None:
                return found
            if self.create_missing and text:
                return tags.make(self.rpc, self, relation, text)
        elif relation in ("crm.stage", "crm.team", "mail.activity.type", "res.currency",
                          "mail.message.subtype"):
            found = self._keyed(relation, ["name"], "name", lambda r: (
                (r["name"] or "").lower(),)).get(low)
            if found:
                return int(found[0]["id"])
        elif relation == "ir.model":
            found = self._keyed(relation, ["model"], "model", lambda r: (r["model"],)).get(text)
            if found:
                return int(found[0]["id"])
        else:
            raise Unresolved(field, f"a reference to {relation} must be an Odoo id")
        raise Unresolved(field, f"no matching {relation} record in Odoo")


def _code_name(row: dict[str, Any]) -> tuple[str, str]:
    return (row["code"] or "").lower(), (row["name"] or "").lower()


def _state_variants(row: dict[str, Any]) -> tuple[str, ...]:
    """A state's name as addresses also write it: each part of a name in two languages
    ("Illes Balears (Islas Baleares)", "Navarra (Nafarroa)") and the name without its county
    word ("County Armagh": Armagh)."""
    name = (row["name"] or "").lower().strip()
    m = re.match(r"^(.*?)\s*\((.+)\)$", name)
    parts = [m[1], m[2]] if m else [name]
    return tuple(dict.fromkeys(k for p in parts for k in (p, COUNTY.sub("", p)) if k))


def _state_folded(row: dict[str, Any]) -> tuple[str, ...]:
    """``_state_variants`` folded as ``model.regions`` compares (``Ávila``: avila;
    ``Inverness-Shire``: inverness shire), and each side of a name written ``Araba/Álava``."""
    parts = [p for v in _state_variants(row) for p in (v, *v.split("/"))]
    return tuple(dict.fromkeys(fold(p) for p in parts if p.strip()))


def to_odoo(field: str, meta: dict[str, Any], value: Any, row: dict[str, Any],
            lookups: Lookups) -> Any:
    """One seam value shaped as Odoo's ``create``/``write`` wants it; a value that cannot be
    (text in a number field) is ``Unresolved`` — a record error, never a crash."""
    try:
        return _to_odoo(field, meta, value, row, lookups)
    except (ValueError, TypeError, ArithmeticError):
        raise Unresolved(field, f"value is not a valid {meta.get('type')}") from None


TEXT_TYPES = frozenset({"char", "text", "html"})


def _to_odoo(field: str, meta: dict[str, Any], value: Any, row: dict[str, Any],
             lookups: Lookups) -> Any:
    t = meta.get("type")
    if type(value) is str and value and t in TEXT_TYPES:  # most values: text as it is
        return value
    if value is None or (value == "" and t not in TEXT_TYPES):
        return False
    if t == "many2one":
        return lookups.resolve(str(meta.get("relation")), field, value, row)
    if t == "many2many":
        values = value if isinstance(value, list | tuple | set) else [value]
        ids = [lookups.resolve(str(meta.get("relation")), field, v, row) for v in values
               if v not in (None, "")]
        return [[6, 0, list(dict.fromkeys(ids))]]
    if t == "selection":
        options = meta.get("selection") or []
        for key, _label in options:
            if value == key:
                return key
        for key, label in options:
            if str(value).lower() == str(label).lower():
                return key
        raise Unresolved(field, "value is not one of the field's options")
    if t == "date":
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if t == "datetime":
        if isinstance(value, dt.datetime):
            return server_datetime(value)
        if isinstance(value, dt.date):
            return f"{value.isoformat()} 00:00:00"
        return str(value)
    if t in ("float", "monetary"):
        return float(value)
    if t in ("integer", "many2one_reference"):
        return int(value)
    if t == "boolean":
        return bool(value)
    if t == "binary":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)
    if isinstance(value, list | tuple | set):
        return SET_SEP.join(str(v) for v in value)
    if isinstance(value, dt.datetime | dt.date | Decimal):
        return str(value)
    return value if isinstance(value, str) else str(value)


def from_odoo(meta: dict[str, Any], value: Any, kind: Kind | None = None) -> Any:
    """One Odoo value shaped as the seam carries it (what ``create`` accepted)."""
    t = meta.get("type")
    if t == "boolean":
        return bool(value)
    if value is False or value is None:
        return [] if t == "many2many" else None
    if t == "many2one":
        return str(value[0] if isinstance(value, list | tuple) else value)
    if t in ("many2many", "one2many"):
        if value and isinstance(value[0], list | tuple):  # commands, as sent: [[6, 0, ids]]
            value = [i for cmd in value if cmd and cmd[0] == 6 for i in cmd[2]]
        return [str(v) for v in value]
    if t == "selection":
        if not meta.get("manual"):
            return value  # standard fields are written with their keys (recipes do)
        for key, label in meta.get("selection") or []:
            if key == value:
                return label
        return value
    if t == "date":
        return dt.date.fromisoformat(str(value)[:10])
    if t == "datetime":
        return dt.datetime.strptime(str(value)[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    if t in ("float", "monetary"):
        return Decimal(repr(float(value))) if kind in (Kind.DECIMAL, Kind.MONEY, None) \
            else float(value)
    if t == "html":
        m = _P.match(str(value))  # the paragraph Odoo's sanitizer wrapped around bare text
        return m.group(1) if m and "<p>" not in m.group(1) else value
    if t == "char" and kind == Kind.SET:
        return [v for v in str(value).split(SET_SEP) if v]
    return value
