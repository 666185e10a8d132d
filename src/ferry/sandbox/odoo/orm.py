"""An in-memory Odoo ORM: records, value conversion, constraints, search, read, undo log.

Each RPC call is one transaction, as in Odoo (commit on success, rollback on error): every change
pushes an undo step and a failing call replays them, so a ``create`` of a list with one bad row
leaves nothing behind. The checks are the ones that make a connector's mistakes visible: unknown
fields and bad selection values are ``ValueError`` (Fault 1), missing required values and
dangling many2one ids are ``ValidationError`` (Fault 2, worded as Odoo's IntegrityError
conversion), missing records ``MissingError``, group rules ``AccessError``.
"""

from __future__ import annotations

import binascii
import bisect
import datetime as dt
import re
import threading
import xmlrpc.client
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from html import escape, unescape
from itertools import islice
from typing import Any

import pybase64

from ferry.sandbox.odoo.domain import Evaluator, fast, mentions, normalize
from ferry.sandbox.odoo.exceptions import MissingError, ValidationError, acl, not_null
from ferry.sandbox.odoo.models import F, ModelDef, build_models
from ferry.sandbox.sanitize import odoo_sanitize

Rec = dict[str, Any]
DATE_FMT, DT_FMT = "%Y-%m-%d", "%Y-%m-%d %H:%M:%S"
_TAG = re.compile(r"<[a-zA-Z/][^>]*>")
#: records that point at any document by (model, id): deleted with it, as Odoo's unlink does
#: (model, field) → value → ids, kept by insert, update and drop (and their undo): Ferry's
#: upload looks for a group's attachments by ``res_id in [...]``, one search per group of files,
#: and each read every attachment (quadratic in files: ~1 s a search at 100k patients)
INDEXED = {("ir.attachment", "res_id")}
REFERENCES = {"ir.attachment": ("res_model", "res_id"), "mail.message": ("model", "res_id"),
              "mail.activity": ("res_model", "res_id")}


class Orm:
    def __init__(self, version: int, accounting: bool) -> None:
        self.version = version
        self.accounting = accounting
        self.lock = threading.RLock()
        self.models: dict[str, ModelDef] = build_models(version, accounting)
        self.data: dict[str, dict[int, Rec]] = {name: {} for name in self.models}
        self.seq: dict[str, int] = dict.fromkeys(self.models, 0)
        self.admins: set[int] = set()
        self.company_currency = "USD"
        self._undo: list[Callable[[], None]] | None = None
        self._index: dict[tuple[str, str], dict[Any, set[int]]] = {}  # ``INDEXED``, on use
        #: each table's ids ascending, sorted on use and dropped when a row comes or goes
        self._ids: dict[str, list[int]] = {}
        #: (base64 text, its bytes) of the binary value ``convert`` decoded last
        self._decoded: tuple[str, bytes] | None = None

    # ------------------------------------------------------------------ infrastructure
    def today(self) -> dt.date:
        return dt.datetime.now(dt.UTC).date()

    def now(self) -> str:
        return dt.datetime.now(dt.UTC).strftime(DT_FMT)

    def table(self, model: str) -> dict[int, Rec]:
        return self.data[model]

    def model(self, name: str) -> ModelDef:
        return self.models[name]

    def is_admin(self, uid: int) -> bool:
        return uid in self.admins

    def push_undo(self, fn: Callable[[], None]) -> None:
        if self._undo is not None:
            self._undo.append(fn)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            outer = self._undo is None
            if outer:
                self._undo = []
            try:
                yield
            except BaseException:
                if outer:
                    for fn in reversed(self._undo or []):
                        fn()
                raise
            finally:
                if outer:
                    self._undo = None

    def check_group(self, uid: int, model: str, operation: str) -> None:
        md = self.models[model]
        group = md.create_group if operation == "create" else md.write_group
        if operation == "read":
            group = None
        if group == "admin" and not self.is_admin(uid):
            raise acl(operation, md.description, model)

    # ------------------------------------------------------------------ value conversion
    def convert(self, model: str, name: str, f: F, value: Any) -> Any:
        """Shape an incoming RPC value as Odoo's ``convert_to_cache`` would, or raise."""
        t = f.type
        if value is None:
            value = False
        if t in ("char", "text", "html"):
            if value is False:
                return False
            text = value if isinstance(value, str) else str(value)
            if t == "html" and text and not text.lstrip().startswith("<"):
                # the sanitizer parses the value as HTML and wraps bare text in a paragraph
                body = escape(unescape(text), quote=False) if not _TAG.search(text) else text
                text = f"<p>{body}</p>"
            return odoo_sanitize(text) if t == "html" else text
        if t in ("integer", "many2one_reference"):
            return int(value or 0) if t == "integer" else (int(value) if value else False)
        if t in ("float", "monetary"):
            return float(value or 0.0)
        if t == "boolean":
            return bool(value)
        if t == "date":
            return self._date(value, model, name)
        if t == "datetime":
            return self._datetime(value)
        if t == "selection":
            if value is False:
                return False
            keys = {k for k, _ in f.selection or []}
            if not isinstance(value, str) or value not in keys:
                raise ValueError(f"Wrong value for {model}.{name}: {value!r}")
            return value
        if t == "many2one":
            if value is False:
                return False
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"invalid input syntax for type integer: {value!r}")
            return value
        if t == "binary":
            if value is False:
                return False
            if isinstance(value, xmlrpc.client.Binary):  # bytes sent over XML-RPC
                text = pybase64.b64encode(value.data).decode()
                self._decoded = (text, value.data)
                return text
            raw = value.encode() if isinstance(value, str) else bytes(value)
            try:
                content = pybase64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise binascii.Error("Incorrect padding") from None
            text = value if type(value) is str else raw.decode()
            self._decoded = (text, content)
            return text
        return value

    def binary_content(self, text: str) -> bytes:
        """The bytes of a base64 value: those ``convert`` just decoded for it when ``text`` is
        the value it returned (an attachment's checksum then costs no second decode of a file
        that may be 90 MB), else decoded now."""
        cached, self._decoded = self._decoded, None
        if cached is not None and cached[0] is text:
            return cached[1]
        return pybase64.b64decode(text)

    def _date(self, value: Any, model: str, name: str) -> Any:
        if value is False:
            return False
        if isinstance(value, dt.datetime):
            return value.date().strftime(DATE_FMT)
        if isinstance(value, dt.date):
            return value.strftime(DATE_FMT)
        text = str(value)
        return dt.date.fromisoformat(_strict(text[:10], DATE_FMT)).strftime(DATE_FMT)

    def _datetime(self, value: Any) -> Any:
        if value is False:
            return False
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                raise ValueError("Datetime field expects a naive datetime")
            return value.strftime(DT_FMT)
        if isinstance(value, dt.date):
            return value.strftime("%Y-%m-%d 00:00:00")
        text = str(value)
        if len(text) == 10:
            return _strict(text, DATE_FMT) + " 00:00:00"
        return _strict(text[:19], DT_FMT)

    # ------------------------------------------------------------------ low-level storage
    def insert(self, model: str, rec: Rec) -> int:
        self.seq[model] += 1
        rid = self.seq[model]
        rec["id"] = rid
        self.data[model][rid] = rec
        self._reindex(model, rid, None, rec)

        def undo() -> None:
            if self.data[model].pop(rid, None) is not None:
                self._reindex(model, rid, rec, None)
        self.push_undo(undo)
        return rid

    def update(self, model: str, rid: int, values: Rec) -> None:
        rec = self.data[model][rid]
        old = {k: rec.get(k, _MISSING) for k in values}
        before = dict(rec)
        rec.update(values)
        self._reindex(model, rid, before, rec)

        def undo() -> None:
            now = dict(rec)
            for k, v in old.items():
                if v is _MISSING:
                    rec.pop(k, None)
                else:
                    rec[k] = v
            self._reindex(model, rid, now, rec)
        self.push_undo(undo)

    def drop(self, model: str, rid: int) -> None:
        rec = self.data[model].pop(rid)
        self._reindex(model, rid, rec, None)

        def undo() -> None:
            self.data[model][rid] = rec
            self._reindex(model, rid, None, rec)
        self.push_undo(undo)

    def _reindex(self, model: str, rid: int, old: Rec | None, new: Rec | None) -> None:
        if old is None or new is None:  # a row made, dropped or brought back by an undo
            self._ids.pop(model, None)
        for (m, field), index in self._index.items():
            if m != model:
                continue
            if old is not None:
                index.get(old.get(field), set()).discard(rid)
            if new is not None:
                index.setdefault(new.get(field), set()).add(rid)

    def sorted_ids(self, model: str) -> list[int]:
        """The table's ids, ascending (kept until a row is made or dropped)."""
        ids = self._ids.get(model)
        if ids is None:
            ids = self._ids[model] = sorted(self.data[model])
        return ids

    def indexed(self, model: str, field: str) -> dict[Any, set[int]]:
        """``INDEXED`` values → ids, built from the table on first use, then kept."""
        key = (model, field)
        if key not in self._index:
            index: dict[Any, set[int]] = {}
            for rid, rec in self.data[model].items():
                index.setdefault(rec.get(field), set()).add(rid)
            self._index[key] = index
        return self._index[key]

    def browse(self, model: str, ids: list[int], uid: int) -> list[Rec]:
        recs = []
        for rid in ids:
            rec = self.data[model].get(rid) if isinstance(rid, int) else None
            if rec is None:
                raise MissingError("Record does not exist or has been deleted.\n"
                                   f"(Record: {model}({rid},), User: {uid})")
            recs.append(rec)
        return recs

    # ------------------------------------------------------------------ checks
    def check_values(self, model: str, rec: Rec) -> None:
        """NOT NULL and foreign-key checks, worded as Odoo converts IntegrityErrors."""
        md = self.models[model]
        for name, f in md.fields.items():
            if f.computed:
                continue
            value = rec.get(name, False)
            if f.required and (value is False or value is None):
                raise not_null(md.description, model, f.string, name)
            if f.type == "many2one" and value and value not in self.data.get(f.relation or "", {}):
                table = model.replace(".", "_")
                raise ValidationError(
                    "The operation cannot be completed: insert or update on table"
                    f' "{table}" violates foreign key constraint "{table}_{name}_fkey"')

    # ------------------------------------------------------------------ reading
    def computed(self, model: str, rec: Rec, name: str) -> Any:
        if name == "id":
            return rec["id"]
        if name == "display_name":
            return self.display_name(model, rec)
        f = self.models[model].fields[name]
        if f.type == "one2many":
            inverse = f.relation_field or ""
            return sorted(r["id"] for r in self.data[f.relation or ""].values()
                          if r.get(inverse) == rec["id"])
        if model == "res.partner" and name == "company_type":
            return "company" if rec.get("is_company") else "person"
        if model == "res.partner" and name == "complete_name":
            return self.complete_name(rec)
        if model == "res.partner" and name == "commercial_partner_id":
            seen: set[int] = set()
            while rec.get("parent_id") and not rec.get("is_company") and rec["id"] not in seen:
                seen.add(rec["id"])
                parent = self.data[model].get(rec["parent_id"])
                if parent is None:
                    break
                rec = parent
            return rec["id"]
        if model == "account.move" and name == "amount_total":
            return round(sum(self.computed("account.move.line", ln, "price_subtotal")
                             for ln in self.data["account.move.line"].values()
                             if ln["move_id"] == rec["id"]), 2)
        if model == "account.move.line" and name == "price_subtotal":
            return round(rec.get("quantity", 0.0) * rec.get("price_unit", 0.0), 2)
        if model == "ir.model.data" and name == "complete_name":
            return f"{rec['module']}.{rec['name']}"
        return rec.get(name, False)

    def complete_name(self, rec: Rec) -> str:
        """res.partner ``_get_complete_name`` (17): a company's contact reads "Company, Name";
        an unnamed invoice/delivery/other address takes its type's label."""
        name = rec.get("name") or ""
        parent = self.data["res.partner"].get(rec.get("parent_id") or 0)
        if parent is not None:
            kind = rec.get("type") or "contact"
            if not name and kind in ("invoice", "delivery", "other"):
                f = self.models["res.partner"].fields["type"]
                name = dict(f.selection or []).get(kind, kind)
            if not rec.get("is_company"):
                name = f"{parent.get('name') or ''}, {name}"
        return name.strip()

    def display_name(self, model: str, rec: Rec) -> str:
        md = self.models[model]
        if model == "res.partner":
            return self.complete_name(rec) or f"{model},{rec['id']}"
        value = rec.get(md.rec_name) if md.rec_name in md.fields else False
        return str(value) if value else f"{model},{rec['id']}"

    def resolve(self, model: str, rec: Rec, name: str) -> tuple[str, Any, str | None]:
        f = self.models[model].fields[name]
        value = self.computed(model, rec, name) if (f.computed or f.type == "one2many") \
            else rec.get(name, False)
        return f.type, value, f.relation

    def has_field(self, model: str, name: str) -> str | None:
        f = self.models[model].fields.get(name)
        return f.type if f else None

    def lookup(self, model: str, rid: Any) -> Rec | None:
        return self.data.get(model, {}).get(rid) if isinstance(rid, int) else None

    def read_value(self, model: str, rec: Rec, name: str, load: str | None) -> Any:
        f = self.models[model].fields[name]
        value = self.computed(model, rec, name) if (f.computed or f.type == "one2many") \
            else rec.get(name, False)
        if f.type == "many2one" and value and load == "_classic_read":
            target = self.data[f.relation or ""].get(value)
            return [value, self.display_name(f.relation or "", target)] if target else False
        if f.type == "many2many":
            return list(value or [])
        if f.type == "integer":
            return value or 0
        if f.type in ("float", "monetary"):
            return value or 0.0
        if f.type == "boolean":
            return bool(value)
        return value

    def search_ids(self, model: str, domain: list[Any], *, offset: int = 0,
                   limit: int | None = None, order: str | None = None,
                   context: dict[str, Any] | None = None) -> list[int]:
        dom = normalize(list(domain or []))
        md = self.models[model]
        if "active" in md.fields and (context or {}).get("active_test", True) \
                and not mentions(dom, "active"):
            dom = ["&", ("active", "=", True), *dom] if dom else [("active", "=", True)]
        ev = Evaluator(model, self.resolve, self.lookup, self.has_field)
        ev.check(dom)
        dom = fast(dom)
        table = self.data[model]
        cand = _id_candidates(dom, table, lambda: self.sorted_ids(model))
        if cand is None:
            cand = self._indexed_candidates(model, dom)
        start = int(offset or 0)
        if cand is not None and limit and \
                " ".join(str(order or md.order).lower().split()) in ("id", "id asc"):
            # ids ascending are the order asked for: the first matches are the answer (a
            # reader paging by ``id > last`` read and sorted every row per page)
            found: list[int] = []
            for rid in cand:
                if ev.matches(dom, table[rid]):
                    found.append(rid)
                    if len(found) >= start + int(limit):
                        break
            return found[start:]
        rows = [r for r in (table.values() if cand is None else (table[i] for i in cand))
                if ev.matches(dom, r)]
        rows = self.sort(model, rows, order or md.order)
        rows = rows[start:]
        if limit:
            rows = rows[: int(limit)]
        return [r["id"] for r in rows]

    def _indexed_candidates(self, model: str, dom: list[Any]) -> list[int] | None:
        """The ids, ascending, an all-AND domain's ``field in [ints]`` or ``field = int`` leaf
        on an ``INDEXED`` field leaves possible (a superset: the domain still decides)."""
        for t in _conjuncts(dom):
            if (model, t[0]) not in INDEXED:
                continue
            op, value = t[1], t[2]
            if op == "=" and type(value) is int:
                values: Any = [value]
            elif op == "in" and isinstance(value, list | tuple | frozenset) and \
                    all(type(v) is int for v in value):
                values = value
            else:
                continue
            index = self.indexed(model, str(t[0]))
            return sorted({i for v in values for i in index.get(v, ())})
        return None

    def sort(self, model: str, rows: list[Rec], order: str) -> list[Rec]:
        md = self.models[model]
        keys = []
        for part in str(order).split(","):
            bits = part.strip().split()
            if not bits:
                continue
            name, desc = bits[0], len(bits) > 1 and bits[1].lower() == "desc"
            if name not in md.fields:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
            keys.append((name, desc))
        for name, desc in reversed(keys):
            def key(r: Rec, name: str = name) -> tuple[int, Any]:
                v = self.resolve(model, r, name)[1]
                if v is False or v is None:
                    return (1, 0)
                return (0, v.lower() if isinstance(v, str) else v)
            rows.sort(key=key, reverse=desc)
        return rows

    def to_html_text(self, text: str) -> str:
        return f"<p>{escape(text)}</p>"


_MISSING = object()


def _conjuncts(dom: list[Any]) -> list[tuple[Any, Any, Any]]:
    """The leaves a normalized (prefix) domain AND-s at its top: each must hold for a row to
    match (those under ``|`` or ``!`` need not)."""
    pos = 0

    def walk(keep: bool) -> list[tuple[Any, Any, Any]]:
        nonlocal pos
        token = dom[pos]
        pos += 1
        if token == "&":
            return walk(keep) + walk(keep)
        if token == "|":
            walk(False)
            walk(False)
            return []
        if token == "!":
            walk(False)
            return []
        return [token] if keep else []

    out: list[tuple[Any, Any, Any]] = []
    while pos < len(dom):
        out += walk(True)
    return out


def _id_candidates(dom: list[Any], table: dict[int, Rec], ordered: Callable[[], list[int]]
                   ) -> Iterable[int] | None:
    """The ids, ascending, that the ``id`` leaves of an all-AND domain (``id in [...]``,
    ``id = n``, ``id > n``, ``id >= n``) leave possible: a superset of the matches, each still
    checked against the whole domain. None when there is no such leaf (every row is read).
    ``ordered`` gives the table's ids ascending: bounds alone (a reader paging by ``id >
    last``) start there by bisection, where each page read every id of the table (a 100k
    reconcile's pages cost the sandbox 140 CPU-s, the square of the table's size)."""
    ids: set[int] | None = None
    bounds: list[tuple[int | float, bool]] = []
    for t in _conjuncts(dom):
        if t[0] != "id":
            continue
        op, value = t[1], t[2]
        if op == "in" and isinstance(value, list | tuple | frozenset) and \
                all(type(v) is int for v in value):
            ids = set(value) if ids is None else ids & set(value)
        elif op == "=" and type(value) is int:
            ids = {value} if ids is None else ids & {value}
        elif op in (">", ">=") and type(value) in (int, float):
            bounds.append((value, op == ">="))
    if ids is None and not bounds:
        return None
    if ids is None:
        keys = ordered()
        start = max(bisect.bisect_left(keys, v) if inclusive else bisect.bisect_right(keys, v)
                    for v, inclusive in bounds)
        return islice(keys, start, None)
    pool = (i for i in ids if i in table) if ids is not None else iter(table)
    return sorted(i for i in pool
                  if all(i >= v if inclusive else i > v for v, inclusive in bounds))


def _strict(text: str, fmt: str) -> str:
    """``text`` if it parses with ``fmt`` (ValueError as Odoo's strptime raises otherwise)."""
    dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC)
    return text
