"""The Odoo destination: the Destination interface over the external API.

Objects at the seam are Odoo model names: ``res.partner``, ``crm.lead``, ``mail.activity``,
``mail.message``, ``ir.attachment`` (through ``upload``) and ``account.move`` when Invoicing/
Accounting is installed (``describe`` omits it otherwise; ``check`` and ``accounting_installed``
say which, so a map can put billing on partner custom fields instead — seed 003).

Why batches and bisection: one ``create`` call with a list of dicts makes many records (NOTES 2),
which is what keeps a paced migration short. When Odoo refuses a batch it names no row, so the
batch is split in halves until the bad rows stand alone; the good rows still land. Why the
source-id check before a retry: a create that timed out may have committed (NOTES 5), so after a
transport failure the rows already tagged with their source id (``x_ferry_source_id``) are
found, not created twice; when the answer was lost (``errors.Ambiguous``) and the first look
finds nothing, a second look after ``settle_s`` (a 504 leaves the call running behind it).

Which writes are idempotent by themselves (each call is one transaction, NOTES 1.3): ``write``
and ``load`` with a ``.id`` column set the same values again by database id, ``unlink`` of ids
already gone is success (``_unlink``), reads are reads: ``rpc`` retries those. ``create`` (records
and ``ir.attachment`` files) is not: it is sent once, looked up by source id (files by their tag,
``extras.file_tag``) after a lost answer, and sent again only when still not found; rows that
carry no source id cannot be looked up and are sent again (a documented risk).

Fields that are not plain Odoo fields (``mail.activity.res_model``, ``subtype_xmlid``,
``account.move.amount_total``/``state``, ``mobile`` on 19) are translated in ``extras.py``;
value shapes and reference look-ups are in ``shape.py``; schema in ``provision.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ferry.connectors.base import (
    Capabilities,
    CheckItem,
    Cost,
    Destination,
    DestUser,
    FileUpload,
    KeptAsText,
    ObjectInfo,
    Provisioned,
    RateInfo,
    SchemaItem,
    WriteResult,
)
from ferry.connectors.http import backoff
from ferry.connectors.settle import SETTLE_S, look_twice
from ferry.destinations.odoo import extras, notes, tags
from ferry.destinations.odoo.checks import MAGIC, SKIP_TYPES, describe_objects, run_checks
from ferry.destinations.odoo.errors import Ambiguous, OdooSchemaError, OdooUserError
from ferry.destinations.odoo.provision import Provisioner, model_of
from ferry.destinations.odoo.rpc import OdooRpc
from ferry.destinations.odoo.shape import (
    NATURAL,
    NO_ACTIVE,
    OPEN_MARK,
    TEXT_TYPES,
    Lookups,
    Unresolved,
    from_odoo,
    kind_of,
)
from ferry.destinations.odoo.shape import to_odoo as shape_value
from ferry.errors import (
    ConfigError,
    FatalError,
    FerryError,
    RateLimited,
    RecordError,
    RetriableError,
)
from ferry.model.crypto import PlainView
from ferry.model.fields import Kind

OBJECTS = ("res.partner", "crm.lead", "mail.activity", "mail.message", "ir.attachment")
ATTRS = ["type", "string", "required", "readonly", "selection", "relation", "help", "manual"]


class OdooDestination(Destination):
    name = "odoo"
    capabilities = Capabilities(custom_objects=False, custom_fields=True, pipelines=True,
                                activity_types=True, native_upsert=False, soft_delete=False,
                                max_file_bytes=90_000_000, batch_create=100, batch_update=1,
                                batch_delete=100, custom_field_style="prefix_x",
                                upload_reads_view=True, upload_group=50)

    def __init__(self, rpc: OdooRpc, *, batch_size: int = 100, max_file_bytes: int = 90_000_000,
                 source_id_field: str = "x_ferry_source_id",
                 requests_per_second: float = 1.0, settle_s: float = SETTLE_S) -> None:
        self.rpc = rpc
        self.settle_s = settle_s  # a lost create's second look (``_recover``)
        self.batch_size = batch_size
        self.source_id_field = source_id_field
        self.requests_per_second = requests_per_second
        # write() takes one dict for many ids, so only equal updates share a call: count one
        # call per update when estimating (batch_update=1)
        self.capabilities = replace(type(self).capabilities, batch_create=batch_size,
                                    batch_delete=batch_size, max_file_bytes=max_file_bytes)
        self.lookups = Lookups(rpc)
        self.provisioner = Provisioner(rpc, settle_s)
        self._meta: dict[str, dict[str, dict[str, Any]]] = {}
        self._accounting: bool | None = None
        self.xmlids: dict[tuple[str, int], str] = {}  # (model, id) → module.name
        self.xmlid_ids: dict[str, int] = {}  # module.name → id (``extras.xmlid_to_id``)
        #: (model, {id: fields stored empty}) seen by the last ``read``, for the next
        #: ``update`` of that model only (``_padded``); any write forgets it
        self._blank_seen: tuple[str, dict[str, set[str]]] | None = None

    # ------------------------------------------------------------------ metadata
    def accounting_installed(self) -> bool:
        if self._accounting is None:
            self._accounting = self.module_installed("account")
        return self._accounting

    def objects(self) -> list[str]:
        return [*OBJECTS, *(["account.move"] if self.accounting_installed() else [])]

    def fields_meta(self, model: str) -> dict[str, dict[str, Any]]:
        if model not in self._meta:
            meta = self.rpc.execute(model, "fields_get", attributes=ATTRS)
            if model == "account.move":  # written through invoice lines / post and cancel
                for name in ("amount_total", "state"):
                    meta[name] = {**meta[name], "readonly": False}
            self._meta[model] = {**meta, **extras.SEAM_ONLY.get(model, {})}
        return self._meta[model]

    def resolve_value(self, object_name: str, field: str, value: Any,
                      row: dict[str, Any] | None = None) -> Any:
        """A seam value in the form ``read`` returns it (a country name → its ISO code, a user's
        email → the user id), for comparing what was sent with what is stored."""
        model = model_of(object_name)
        meta = self.fields_meta(model).get(field)
        if meta is None or value is None:
            return value
        with self.lookups.reading():
            return self._out(meta, shape_value(field, meta, value, row or {}, self.lookups),
                             kind_of(field, meta))

    def stored_form(self, object_name: str, key: str, value: Any, row: dict[str, Any]
                    ) -> Any:
        """The base hook over ``resolve_value`` (cached look-ups; never raises): a country
        sent by name compares with the ISO code read returns, a user's email with its id."""
        try:
            return self.resolve_value(object_name, key, value, row)
        except (Unresolved, FerryError, ValueError, TypeError, KeyError):
            return value

    def design_rule(self, object_name: str, key: str, sent: Any, stored: Any, *,
                    row: dict[str, Any] | None = None) -> str | None:
        """Odoo's own behaviours the sample diff must not call faults."""
        if key == notes.KEEPERS.get(model_of(object_name)) and notes.ours(stored) \
                and notes.same_besides_ours(sent, stored):
            return ("the notes also keep, as exported, a state or country Odoo has no record"
                    " of (listed in the skip file)")
        if sent not in (None, "") or stored not in (False, 0):
            return None
        try:
            meta = self.fields_meta(model_of(object_name)).get(key)
        except (FerryError, ValueError, KeyError):
            return None
        kind = (meta or {}).get("type")
        if kind == "boolean" and stored is False:
            return "an Odoo boolean is never empty: one the map did not send reads False"
        if kind in ("integer", "float", "monetary") and stored == 0 and stored is not False:
            return "an Odoo number is never empty: one the map did not send reads 0"
        return None

    def stored_meaning(self, object_name: str, key: str, kind: str, row: dict[str, Any]
                       ) -> tuple[Any, str] | None:
        """Odoo's readings [specs/odoo/NOTES.md 2]: a datetime field holds a naive UTC time
        (``YYYY-MM-DD HH:MM:SS``), a date field the day; an amount is in the record's
        ``currency_id`` when the row holds it (an invoice), else the company's (not read)."""
        from ferry.connectors import meaning

        cur = row.get("currency_id") if kind == "money" else None
        return meaning.reading(
            row.get(key), kind, currency=cur if isinstance(cur, str) and not cur.isdigit()
            else None, amount_as="the amount in the record's currency_id",
            instant_as="a naive UTC datetime")

    def check(self) -> list[CheckItem]:
        return run_checks(self)

    def module_installed(self, name: str) -> bool:
        rows = self.rpc.search_read("ir.module.module", [["name", "=", name]], ["state"])
        return bool(rows) and rows[0]["state"] == "installed"

    def _model(self, object_name: str) -> str:
        model = model_of(object_name)
        if model == "account.move" and not self.accounting_installed():
            raise ConfigError("account.move needs Odoo Invoicing/Accounting, which is not"
                              " installed: map billing to res.partner custom fields instead")
        return model

    def describe(self) -> list[ObjectInfo]:
        return describe_objects(self)

    def users(self) -> list[DestUser]:
        rows = self.rpc.search_read("res.users", [["share", "=", False]],
                                    ["login", "email", "name", "active"], context=NO_ACTIVE)
        return [DestUser(str(r["id"]), str(r["email"] or r["login"]), r["name"] or "",
                         bool(r["active"])) for r in rows if r["login"] != "__system__"]

    def cost(self, op: str, object_name: str, n: int) -> Cost:
        """Calls for ``op`` on ``n`` records (the estimate's prices): reads by ids 500 a call;
        updates a batch a call (``load`` by database id); a delete searches which ids still
        exist (500 a call), then unlinks a batch at a time; uploads go ``upload_group`` files
        at a time, one search for the group's copies already there and one create (one per
        32 MiB of files: not counted)."""
        if n <= 0:
            return Cost(0)
        if op in ("read", "find"):
            return Cost(-(-n // 500))
        if op == "update":
            return Cost(-(-n // self.batch_size))
        if op == "delete":
            return Cost(-(-n // 500) + -(-n // self.batch_size))
        if op == "upload":
            return Cost(2 * -(-n // max(self.capabilities.upload_group, 1)))
        return super().cost(op, object_name, n)

    def rate(self) -> RateInfo:
        return RateInfo(requests_per_second=self.requests_per_second, page_size=1000,
                        batch_size=self.batch_size,
                        notes="Odoo documents no numeric limit; the pace is Ferry's setting"
                              " (1 call/s by default, a vendor's self-imposed courtesy)")

    # ------------------------------------------------------------------ schema
    def ensure(self, items: list[SchemaItem]) -> list[Provisioned]:
        out = self.provisioner.ensure(items)
        self._meta.clear()
        for model in ("crm.stage", "crm.team", "mail.activity.type"):
            self.lookups.forget(model)
        return out

    def remove(self, provisioned: Provisioned) -> None:
        self.provisioner.remove(provisioned)
        self._meta.clear()

    def existing_schema(self, items: list[SchemaItem]) -> list[bool | None]:
        return self.provisioner.existing(items)

    # ------------------------------------------------------------------ values
    def _vals(self, model: str, row: dict[str, Any], update: bool = False,
              emptied: list[tuple[str, str, str | None]] | None = None,
              current: dict[int, Any] | None = None, dest_id: Any = None
              ) -> tuple[dict[str, Any], str | None]:
        """Odoo values for one seam row, and the state a move must reach after the write.
        A field written empty instead of failing the record is added to ``emptied`` as
        (field, reason, the field its text was kept in or None), for the result's
        ``field_errors``. ``current``: on an update, the notes the records hold now (by id),
        read when a state or country is written without the notes (``notes``)."""
        meta = self.fields_meta(model)
        row, vals, state = extras.prepare(self, model, row, update=update)
        keep = notes.keeper(model, meta) if any(k in row for k in notes.KEPT_FIELDS) else None
        kept: list[tuple[str, str]] = []
        for key, value in row.items():
            m = meta.get(key)
            if m is None:
                raise OdooSchemaError(f"Odoo {model} has no field {key}: run prepare, or fix"
                                      " the map for this server version", system="odoo")
            if type(value) is str and value and m.get("type") in TEXT_TYPES:
                vals[key] = value  # ``shape_value``'s first case (most values), without its calls
                continue
            try:
                vals[key] = shape_value(key, m, value, row, self.lookups)
            except Unresolved as exc:
                if m.get("type") == "selection" and OPEN_MARK in str(m.get("help") or ""):
                    vals[key] = extras.open_option(self, model, key, str(value))
                elif key not in ("state_id", "country_id"):
                    raise
                else:  # Odoo lacks many regions (its UK rows are the former postal
                    # counties): the address keeps the rest, the state or country is left
                    # empty and reported, and its text kept in the record's notes (``notes``),
                    # never dropped silently (the patient, its visits and bills are written)
                    vals[key] = False
                    text = value.strip() if isinstance(value, str) else ""
                    if keep and text:
                        kept.append((key, text))
                    if emptied is not None:
                        emptied.append((key, f"{exc.reason}; {notes.WHERE}", keep) if keep
                                       and text else (key, exc.reason, None))
        if keep:
            self._keep(vals, row, keep, kept, update, (current or {}).get(_int(dest_id)))
        return vals, state

    @staticmethod
    def _keep(vals: dict[str, Any], row: dict[str, Any], keep: str, kept: list[tuple[str, str]],
              update: bool, now: Any) -> None:
        """The notes field's value with a paragraph for each text ``kept``: after the map's
        notes when the map writes them; on an update that does not, after the notes the record
        holds ``now`` (Ferry's earlier paragraphs replaced, staff's kept), written only when
        that changes them."""
        if keep in row:
            if kept:
                vals[keep] = notes.compose(notes.without_ours(vals.get(keep)), kept)
        elif not update:
            if kept:
                vals[keep] = notes.compose(None, kept)
        elif now is not None:
            new = notes.compose(notes.without_ours(now), kept)
            if notes.plain(new) != notes.plain(now):
                vals[keep] = new

    def _out(self, meta: dict[str, Any], raw: Any, kind: Any) -> Any:
        value = from_odoo(meta, raw, kind)
        relation = meta.get("relation")
        if meta.get("type") == "many2one" and value and relation in NATURAL:
            return self.lookups.natural(str(relation), int(value))
        if meta.get("type") == "many2many" and value and relation in NATURAL:
            return sorted(self.lookups.natural(str(relation), int(v)) for v in value)
        return value

    def read(self, object_name: str, dest_ids: list[str], fields: list[str] | None = None
             ) -> dict[str, dict[str, Any]]:
        model = self._model(object_name)
        meta = self.fields_meta(model)
        names = list(fields) if fields else [
            n for n, m in meta.items() if n not in MAGIC and m.get("type") not in SKIP_TYPES]
        kinds = {n: kind_of(n, meta[n]) for n in names if n in meta}
        server, virtual = extras.read_virtual(self, model, names)
        # per name, once per read (a fold update reads ~40 fields of each of its rows): text
        # that ``_out`` gives back as stored (False or None read as None), else its metadata
        plans = [(n, _as_stored(meta.get(n, {}), kinds.get(n)), meta.get(n, {}), kinds.get(n))
                 for n in names if n not in virtual]
        numeric = [(n, meta.get(n, {}).get("type") in _NUMBERS) for n in server]
        out: dict[str, dict[str, Any]] = {}
        blank: dict[str, set[str]] = {}
        for chunk in _chunks([int(i) for i in dest_ids], 500):
            rows = self.rpc.execute(model, "read", chunk, fields=server)
            for r in rows:
                get = r.get
                empty = set()  # what ``_blank`` tells, without a call per cell
                for n, number in numeric:
                    raw = get(n)
                    if raw is False or raw is None or (
                            number and type(raw) in (int, float) and raw == 0):
                        empty.add(n)
                blank[str(r["id"])] = empty
                values = {}
                for n, plain, m, kind in plans:
                    raw = get(n)
                    values[n] = (None if raw is False else raw) if plain \
                        else self._out(m, raw, kind)
                out[str(r["id"])] = values if not virtual else {
                    n: extras.virtual_value(self, n, virtual[n], r) if n in virtual
                    else values[n] for n in names}
        self._blank_seen = (model, blank)
        return out

    # ------------------------------------------------------------------ writes
    def find(self, object_name: str, id_field: str, source_ids: list[str]) -> dict[str, str]:
        model = self._model(object_name)
        field = id_field or self.source_id_field
        if field not in self.fields_meta(model) or not source_ids:
            return {}
        found: dict[str, str] = {}
        for chunk in _chunks([str(s) for s in source_ids], 500):
            rows = self.rpc.search_read(model, [[field, "in", chunk]], [field], order="id",
                                        context=NO_ACTIVE)
            for r in rows:
                found.setdefault(str(r[field]), str(r["id"]))
        return found

    def create(self, object_name: str, rows: list[dict[str, Any]]) -> list[WriteResult]:
        self._blank_seen = None
        model = self._model(object_name)
        results: list[WriteResult | None] = [None] * len(rows)
        ready: list[tuple[int, dict[str, Any], str | None]] = []
        states: dict[int, str] = {}
        emptied: dict[int, list[tuple[str, str, str | None]]] = {}
        for i, row in enumerate(rows):
            sid = row.get(self.source_id_field)
            try:
                vals, state = self._vals(model, row, emptied=emptied.setdefault(i, []))
            except Unresolved as exc:
                results[i] = WriteResult.failure(RecordError(
                    _ref(model, sid, i), exc.field, exc.reason, system="odoo"))
                continue
            ready.append((i, vals, str(sid) if sid else None))
            if state:
                states[i] = state
        for chunk in _chunks(ready, self.batch_size):
            self._create_chunk(model, chunk, results)
        self._states(model, states, results)
        out = [r or WriteResult.failure(RecordError(_ref(model, None, i), None, "not written"))
               for i, r in enumerate(results)]
        return _with_emptied(model, out, emptied, [r.get(self.source_id_field) for r in rows])

    def _create_chunk(self, model: str, chunk: list[tuple[int, dict[str, Any], str | None]],
                      results: list[WriteResult | None]) -> None:
        pending = list(chunk)
        for attempt in range(self.rpc.attempts):
            try:
                ids = self.rpc.execute(model, "create", [v for _, v, _ in pending], retry=False)
            except RetriableError as exc:
                if attempt == self.rpc.attempts - 1:
                    raise FatalError(f"gave up creating {model} records: {exc}",
                                     system="odoo") from None
                wait = exc.retry_after if isinstance(exc, RateLimited) and exc.retry_after \
                    else backoff(attempt, 0.5 / self.rpc.time_scale)
                time.sleep(wait)
                pending = self._recover(model, pending, results,
                                        settle=isinstance(exc, Ambiguous))
                if not pending:
                    return
                continue
            except OdooUserError as exc:
                if len(pending) == 1:
                    i, _, sid = pending[0]
                    results[i] = WriteResult.failure(RecordError(
                        _ref(model, sid, i), exc.field, exc.reason, system="odoo"))
                    return
                mid = len(pending) // 2
                self._create_chunk(model, pending[:mid], results)
                self._create_chunk(model, pending[mid:], results)
                return
            for (i, _, _), new_id in zip(pending, ids, strict=True):
                results[i] = WriteResult.success(str(new_id), created=True)
            return

    def _states(self, model: str, states: dict[int, str], results: list[WriteResult | None]
                ) -> None:
        targets: dict[str, list[int]] = {}
        for i, state in states.items():
            r = results[i]
            if r is not None and r.ok and r.dest_id:
                targets.setdefault(state, []).append(int(r.dest_id))
        extras.apply_states(self, model, targets)

    def _recover(self, model: str, pending: list[tuple[int, dict[str, Any], str | None]],
                 results: list[WriteResult | None], *, settle: bool = False
                 ) -> list[tuple[int, dict[str, Any], str | None]]:
        """After a failed transport, rows whose source id is already in Odoo were committed
        (files: their tag, ``extras.file_tag``, on their record). ``settle``: the answer was
        lost (``Ambiguous``), so the call may still commit: when the first look finds none of
        the rows, look again after ``settle_s`` (``connectors.settle``). One ``create`` is one
        transaction, so a look that finds any of its rows found the whole call committed."""
        def look() -> list[tuple[int, dict[str, Any], str | None]]:
            if model == "ir.attachment":
                return extras.recover_files(self, pending, results)
            sids = [sid for _, _, sid in pending if sid]
            if not sids:
                return pending
            found = self.find(model, self.source_id_field, sids)
            rest = []
            for i, vals, sid in pending:
                if sid and sid in found:
                    results[i] = WriteResult.success(found[sid], created=True)
                else:
                    rest.append((i, vals, sid))
            return rest

        lookable = any(sid for _, _, sid in pending) or (
            model == "ir.attachment" and any(extras.has_file_tag(v) for _, v, _ in pending))
        return look_twice(look, lambda rest: lookable and len(rest) == len(pending),
                          self.settle_s if settle else 0.0, self.rpc.time_scale)

    def _notes_now(self, model: str, rows: list[tuple[str, dict[str, Any]]]) -> dict[int, Any]:
        """The notes of the records an update writes a state or country to without writing
        their notes (one ``read`` per 500): Ferry's kept-text paragraph there is replaced."""
        keep = notes.keeper(model, self.fields_meta(model))
        ids = [i for d, f in rows if keep and keep not in f
               and any(k in f for k in notes.KEPT_FIELDS) and (i := _int(d)) is not None]
        out: dict[int, Any] = {}
        for chunk in _chunks(ids, 500):
            for r in self.rpc.execute(model, "read", chunk, fields=[keep]):
                out[int(r["id"])] = r.get(keep) or ""
        return out

    def kept_as_text(self, object_name: str, key: str) -> str | None:
        """A state or country Odoo has no record of is kept as written in the record's notes
        (``notes``: ``res.partner.comment``, ``crm.lead.description``)."""
        if key not in notes.KEPT_FIELDS:
            return None
        model = self._model(object_name)
        try:
            return notes.keeper(model, self.fields_meta(model))
        except (FerryError, ValueError, KeyError):
            return None

    def update(self, object_name: str, rows: list[tuple[str, dict[str, Any]]]
               ) -> list[WriteResult]:
        """One ``write`` per distinct set of values (Odoo writes one dict to many ids)."""
        model = self._model(object_name)
        seen, self._blank_seen = self._blank_seen, None
        blank = seen[1] if seen is not None and seen[0] == model else {}
        results: list[WriteResult | None] = [None] * len(rows)
        groups: dict[str, tuple[dict[str, Any], list[int]]] = {}
        states: dict[int, str] = {}
        emptied: dict[int, list[tuple[str, str, str | None]]] = {}
        current = self._notes_now(model, rows)
        for i, (dest_id, fields) in enumerate(rows):
            try:
                vals, state = self._vals(model, fields, update=True,
                                         emptied=emptied.setdefault(i, []), current=current,
                                         dest_id=dest_id)
            except Unresolved as exc:
                results[i] = WriteResult.failure(RecordError(_ref(model, dest_id, i), exc.field,
                                                             exc.reason, system="odoo"))
                continue
            if state:
                states[i] = state
            if not vals:
                results[i] = WriteResult.success(dest_id)
                continue
            groups.setdefault(repr(sorted(vals.items())), (vals, []))[1].append(i)
        locked = [int(rows[i][0]) for vals, idxs in groups.values()
                  if set(vals) & extras.POSTED_LOCKED for i in idxs]
        reopened = extras.unlock(self, model, locked)
        alone: dict[tuple[str, ...], list[tuple[int, list[str], dict[str, Any]]]] = {}
        for vals, idxs in groups.values():
            cells = self._import_cells(model, vals) if len(idxs) == 1 and not locked \
                and not states else None
            if cells is not None:  # values of its own: one ``load`` for many such rows
                alone.setdefault(tuple(vals), []).append((idxs[0], cells, vals))
                continue
            for part in _chunks(idxs, self.batch_size):
                self._write(model, vals, part, rows, results)
        for names, batch in self._padded(model, alone, rows, blank).items():
            for part in _chunks(batch, self.batch_size):
                self._load(model, list(names), part, rows, results)
        for i, (dest_id, _) in enumerate(rows):  # posted before the write: posted after it
            if int(dest_id) in reopened and i not in states:
                states[i] = "posted"
        self._states(model, states, results)
        out = [r or WriteResult.failure(RecordError(_ref(model, None, i), None, "not written"))
               for i, r in enumerate(results)]
        return _with_emptied(model, out, emptied, [d for d, _ in rows])

    def _padded(self, model: str,
                alone: dict[tuple[str, ...], list[tuple[int, list[str], dict[str, Any]]]],
                rows: list[tuple[str, dict[str, Any]]], blank: dict[str, set[str]]
                ) -> dict[tuple[str, ...], list[tuple[int, list[str], dict[str, Any]]]]:
        """``load`` rows regrouped: a row whose record holds every other row's field empty
        (as the ``read`` just before found it) gets empty cells for them, which write the same
        empty value, so rows of different fields share one call. A fold update carries only
        the fields its children have values for: 1,000 partners came in 547 column sets,
        about two rows a call. A row with any of those fields filled keeps its own columns."""
        if len(alone) < 2 or not blank:
            return alone
        meta = self.fields_meta(model)
        union = tuple(sorted({n for names in alone for n in names}))
        out: dict[tuple[str, ...], list[tuple[int, list[str], dict[str, Any]]]] = {}
        for names, batch in alone.items():
            for i, cells, vals in batch:
                empty = blank.get(str(rows[i][0]), set())
                if all(n in vals or (n in empty and meta.get(n, {}).get("type") in _PADDED)
                       for n in union):
                    own = dict(zip(names, cells, strict=True))
                    out.setdefault(union, []).append((i, [own.get(n, "") for n in union], vals))
                else:
                    out.setdefault(names, []).append((i, cells, vals))
        return out

    def _write(self, model: str, vals: dict[str, Any], idxs: list[int],
               rows: list[tuple[str, dict[str, Any]]], results: list[WriteResult | None]) -> None:
        try:
            self.rpc.execute(model, "write", [int(rows[i][0]) for i in idxs], vals)
        except OdooUserError as exc:
            if len(idxs) > 1:
                for i in idxs:
                    self._write(model, vals, [i], rows, results)
                return
            results[idxs[0]] = WriteResult.failure(RecordError(
                _ref(model, rows[idxs[0]][0], idxs[0]), exc.field, exc.reason, system="odoo"))
            return
        for i in idxs:
            results[i] = WriteResult.success(rows[i][0])

    def _import_cells(self, model: str, vals: dict[str, Any]) -> list[str] | None:
        """``vals`` (as ``write`` takes them) as the text cells Odoo's import converter turns
        back into the same values, or None when a field or value has no exact text form (a
        relation, an empty text, a selection key another option's label would catch)."""
        if model == "account.move":
            return None
        meta = self.fields_meta(model)
        cells = []
        for key, value in vals.items():
            t = meta.get(key, {}).get("type")
            if value is False or value is None:  # an empty cell is False for every type
                cells.append("")
            elif t == "boolean":
                cells.append("1" if value else "")
            elif t in ("char", "text", "html") and isinstance(value, str) and value:
                cells.append(value)
            elif t in ("date", "datetime") and isinstance(value, str):
                cells.append(value)  # ``YYYY-MM-DD[ HH:MM:SS]``, read as UTC (context tz)
            elif t in ("float", "monetary") and isinstance(value, float | int):
                cells.append(repr(float(value)))
            elif t == "integer" and isinstance(value, int) and not isinstance(value, bool):
                cells.append(str(value))
            elif t == "selection" and isinstance(value, str) and value:
                # the converter takes the first option whose key or label matches, any case
                first = next((k for k, label in meta[key].get("selection") or []
                              if value.lower() in (str(k).lower(), str(label).lower())), None)
                if first != value:
                    return None
                cells.append(value)
            else:
                return None
        return cells

    def _load(self, model: str, names: list[str],
              part: list[tuple[int, list[str], dict[str, Any]]],
              rows: list[tuple[str, dict[str, Any]]], results: list[WriteResult | None]
              ) -> None:
        """Rows with values of their own in one call: Odoo's ``load`` (the import) with a
        ``.id`` column updates each record by its database id. ``write`` takes one dict for
        all its ids, so these were one call each. When a row fails Odoo rolls the whole call
        back and names rows only in messages: the rows are then written one by one, which
        finds the bad one with its field and reason."""
        data = [[rows[i][0], *cells] for i, cells, _ in part]
        try:
            answer = self.rpc.execute(model, "load", [".id", *names], data,
                                      context={"tz": "UTC"})
        except OdooUserError:
            answer = None
        ids = answer.get("ids") if isinstance(answer, dict) else None
        if ids and len(ids) == len(part) and not any(
                m.get("type") == "error" for m in answer.get("messages") or []):
            for i, _, _ in part:
                results[i] = WriteResult.success(rows[i][0])
            return
        for i, _, vals in part:
            self._write(model, vals, [i], rows, results)

    def delete(self, object_name: str, dest_ids: list[str]) -> list[WriteResult]:
        """Unlink what still exists; ids already gone count as deleted (a retry after commit)."""
        self._blank_seen = None
        model = self._model(object_name)
        ints = [int(i) for i in dest_ids]
        live: set[int] = set()
        for chunk in _chunks(ints, 500):
            live.update(self.rpc.execute(model, "search", [["id", "in", chunk]],
                                         context=NO_ACTIVE))
        failed: dict[int, WriteResult] = {}
        for chunk in _chunks([i for i in ints if i in live], self.batch_size):
            self._unlink(model, chunk, failed)
        # the tags and titles Ferry added that nothing uses now go too (``tags``), also when
        # nothing was live: a run killed after adding a title and before its record was made
        tags.sweep(self.rpc, self.lookups, model)
        return [failed.get(i, WriteResult.success(str(i))) for i in ints]

    def _unlink(self, model: str, ids: list[int], failed: dict[int, WriteResult]) -> None:
        try:
            self.rpc.execute(model, "unlink", ids)
        except OdooUserError as exc:
            # a retried call whose first try committed reports the ids as missing: look again
            live = self.rpc.execute(model, "search", [["id", "in", ids]], context=NO_ACTIVE)
            if len(live) > 1 or (live and len(ids) > 1):
                for i in live:
                    self._unlink(model, [i], failed)
            elif live:
                failed[ids[0]] = WriteResult.failure(RecordError(
                    f"odoo:{model}:{ids[0]}", exc.field, exc.reason, system="odoo"))

    def iter_ids(self, object_name: str) -> Iterator[str]:
        model = self._model(object_name)
        last = 0
        while True:
            ids = self.rpc.execute(model, "search", [["id", ">", last]], limit=1000,
                                   order="id", context=NO_ACTIVE)
            if not ids:
                return
            yield from (str(i) for i in ids)
            last = ids[-1]

    def file_rename(self, object_name: str, file_name: str) -> dict[str, Any] | None:
        """An ``ir.attachment``'s ``name`` is written like any field."""
        return {"name": file_name}

    def find_upload(self, object_name: str, parent_object: str, parent_id: str,
                    source_id: str, file_name: str | None, size: int | None) -> str | None:
        tag = extras.file_tag(source_id)
        return extras.find_upload(self, parent_object, parent_id, tag) if tag else None

    def upload(self, parent_object: str, parent_id: str, path: Path | PlainView, file_name: str,
               mime_type: str | None, extra: dict[str, Any] | None = None) -> WriteResult:
        """One ``ir.attachment``, linked by ``res_model``/``res_id`` (NOTES 4)."""
        return extras.upload(self, parent_object, parent_id, path, file_name, mime_type, extra)

    def upload_many(self, files: list[FileUpload]) -> list[WriteResult]:
        """A group's files looked for in one search and sent in one ``create`` per 32 MiB."""
        return extras.upload_many(self, files)

    def close(self) -> None:
        self._meta.clear()


#: plain field types whose empty import cell writes back what Odoo stores for "empty"
#: (False; 0 for a number): ``_import_cells`` writes values of these types only
_PADDED = frozenset({"char", "text", "html", "date", "datetime", "selection", "boolean",
                     "float", "monetary", "integer"})


_NUMBERS = frozenset({"float", "monetary", "integer"})


def _as_stored(meta: dict[str, Any], kind: Any) -> bool:
    """Whether ``_out`` gives a stored value of this field back as it is (False as None):
    plain text, not a list kept in one text field (``Kind.SET``)."""
    return meta.get("type") in ("char", "text") and kind != Kind.SET


def _blank(meta: dict[str, Any], raw: Any) -> bool:
    """Whether Odoo's stored ``raw`` is what an empty import cell writes for this field."""
    if raw is False or raw is None:
        return True
    t = meta.get("type")
    if t in ("float", "monetary", "integer"):
        return type(raw) in (int, float) and raw == 0
    return False


def _with_emptied(model: str, results: list[WriteResult],
                  emptied: dict[int, list[tuple[str, str, str | None]]], names: list[Any]
                  ) -> list[WriteResult]:
    """Successful results carry the fields written empty as field-level RecordErrors (a
    ``KeptAsText`` for one whose text went to the record's notes)."""
    for i, r in enumerate(results):
        if r.ok and emptied.get(i):
            r.field_errors.extend(
                KeptAsText(_ref(model, names[i], i), f, reason, kept, system="odoo") if kept
                else RecordError(_ref(model, names[i], i), f, reason, system="odoo")
                for f, reason, kept in emptied[i])
    return results


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ref(model: str, sid: Any, index: int) -> str:
    return f"odoo:{model}:{sid}" if sid else f"odoo:{model}:row{index}"


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), max(size, 1)):
        yield items[i:i + size]
