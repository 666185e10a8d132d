"""The Pipedrive destination: persons, organizations, deals, activities, notes and files.

Pipedrive has no batch create, so every record is one call (v2 for the four main objects, v1 for
notes and files); pacing, token accounting and retries live in ``client``. Payload keys are the
API's v2 standard names or 40-hex custom keys (nested under ``custom_fields`` here), ``~`` keys
are folded into activity/note text (see ``values``).

Failure contract with the engine: a bad record becomes ``WriteResult.failure(RecordError)`` and the
batch goes on; a FatalError (budget spent, token refused) is *raised* (see ``batch``), leaving the
batch's intents open so ``recover`` looks the already-written records up with ``find`` before
anything is re-sent. Rows of one call run ``workers`` at a time, results in row order; the
engine hands ``create`` up to ``create_group`` rows (one call each), so a chunk's intents and
outcomes are one transaction each, and a kill mid-chunk (``after-row``) leaves the rows not yet
sent open for ``recover`` like those sent.
A create that dies ambiguously (5xx, dropped connection) is resolved the same way: look the
source id up, and if it is not there look again after ``settle_s`` (a gateway's 504 leaves the
request running behind it); re-send only if it is still not there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ferry.connectors import killpoint
from ferry.connectors.base import (
    Budget,
    Capabilities,
    CheckItem,
    Cost,
    Destination,
    DestUser,
    FileUpload,
    ObjectInfo,
    Provisioned,
    RateInfo,
    SchemaItem,
    WriteResult,
)
from ferry.connectors.settle import absent, look_twice
from ferry.destinations.pipedrive.batch import Lanes, run_rows
from ferry.destinations.pipedrive.client import V2_OBJECTS, Ambiguous, PipedriveClient
from ferry.destinations.pipedrive.finder import MARKED, Finder
from ferry.destinations.pipedrive.provision import Schema
from ferry.destinations.pipedrive.values import (
    CLEARED,
    ID_KEY,
    READ_ONLY,
    STANDARD,
    BadValue,
    custom_from_api,
    custom_to_api,
    from_api,
    is_id_key,
    join_trailer,
    split_trailer,
    to_api,
)
from ferry.errors import ConnectorError, FatalError, FerryError, RecordError
from ferry.model.crypto import PlainView

TEXT_FIELD = {"activity": "note", "note": "content"}
PARENT_KEYS = {"person": "person_id", "organization": "org_id", "deal": "deal_id",
               "activity": "activity_id"}
T = TypeVar("T")



class PipedriveDestination(Destination):
    name: ClassVar[str] = "pipedrive"

    def __init__(self, client: PipedriveClient, workdir: Path | None, *,
                 currency: str | None = None,
                 max_file_bytes: int = 50 * 2**20, search_max: int = 0, burst: int = 40,
                 workers: int = 4, settle_s: float = 5.0) -> None:
        self.client = client
        self.settle_s = settle_s
        self.schema = Schema(client, workdir)
        self.finder = Finder(client, search_max, self.schema.id_keys)
        #: ``default_currency``: what a deal whose row names no currency is sent in (None: sent
        #: without one, Pipedrive's rule gives it the user's default, listed per deal)
        self.default_currency = currency
        self._user_currency: str | None = None  # the token's user's default, read once
        #: a deal's currency by its id, as this connector created or read it: a money custom
        #: field of the deal is written in it (an invoice in EUR is not paid in USD)
        self._deal_currency: dict[str, str] = {}
        self.max_file_bytes = max_file_bytes
        self.burst = burst
        self.workers = max(1, workers)
        self.lanes = Lanes(self.workers - 1)  # kept between calls (see ``batch``)
        # per account: the file cap is a setting (Pipedrive documents none); a group of uploads
        # is one file per lane (``upload_many``)
        self.capabilities = replace(self.capabilities,  # type: ignore[misc]
                                    max_file_bytes=max_file_bytes, upload_group=self.workers)

    capabilities: ClassVar[Capabilities] = Capabilities(
        custom_objects=False, custom_fields=True, pipelines=True, activity_types=True,
        native_upsert=False, soft_delete=True, max_file_bytes=50 * 2**20, batch_create=1,
        create_group=100, custom_field_style="hash", upload_reads_view=True, upload_group=4)

    # -- account -------------------------------------------------------------------------------
    def check(self) -> list[CheckItem]:
        try:
            me = self.client.call("v1", "GET", "/users/me")["data"]
        except ConnectorError as exc:
            if exc.status in (401, 403):
                return [CheckItem("pipedrive api token", False,
                                  f"the token was refused (HTTP {exc.status})",
                                  "export a valid token in the variable destination."
                                  "api_token_env names (Personal preferences → API)")]
            return [CheckItem("pipedrive api token", False, f"{type(exc).__name__}: {exc}",
                              "check destination.base_url and the network")]
        admin = any(a.get("admin") for a in me.get("access") or [])
        self._user_currency = self._user_currency or me.get("default_currency")
        deals = (f"a deal whose source names none is sent in {self.default_currency}"
                 if self.default_currency else
                 f"default_currency unset: a deal whose source names none gets your Pipedrive "
                 f"user's default ({me.get('default_currency') or 'unknown'}), each listed")
        return [CheckItem("pipedrive api token", True, f"company {me.get('company_domain')}"),
                CheckItem("pipedrive admin rights", admin,
                          "" if admin else "custom fields and pipelines need an admin user",
                          "" if admin else "use an admin's API token"),
                CheckItem("deal currency", True, deals)]

    @property
    def currency(self) -> str:
        """The currency of a deal sent without one: ``default_currency``, else the one
        Pipedrive gives it (its user's default [NOTES: "default user currency"]), read once."""
        if self.default_currency:
            return self.default_currency
        if self._user_currency is None:
            me = self.client.call("v1", "GET", "/users/me")["data"] or {}
            self._user_currency = str(me.get("default_currency") or "")
        if not self._user_currency:
            raise FatalError("Pipedrive names no default currency for this user: set "
                             "destination.settings.default_currency", system="pipedrive")
        return self._user_currency

    def describe(self) -> list[ObjectInfo]:
        return self.schema.describe()

    def users(self) -> list[DestUser]:
        rows = self.client.call("v1", "GET", "/users")["data"] or []
        return [DestUser(str(u["id"]), u["email"], u.get("name", ""),
                         bool(u.get("active_flag", True)) and not u.get("is_deleted", False))
                for u in rows]

    def ensure(self, items: list[SchemaItem]) -> list[Provisioned]:
        """Fields, pipelines and stages are listed once per object in a session (``prepare``
        lists them fresh through ``existing_schema`` first, then ensures item by item)."""
        return [self.schema.ensure(item) for item in items]

    def remove(self, provisioned: Provisioned) -> None:
        self.schema.remove(provisioned)

    def existing_schema(self, items: list[SchemaItem]) -> list[bool | None]:
        return self.schema.existing(items)

    def find(self, object_name: str, id_field: str, source_ids: list[str]) -> dict[str, str]:
        return self.finder.find(object_name, id_field, source_ids)

    # -- payloads ------------------------------------------------------------------------------
    def _sid_key(self, obj: str, row: dict[str, Any]) -> str:
        """The key of the source id a row carries (activities/notes may carry ``~id:<name>``)."""
        if obj in MARKED:
            return next((k for k in row if is_id_key(k)), ID_KEY)
        # the id field this row carries: an appointment deal and a treatment deal keep their
        # source ids in different fields, and an ambiguous create must look up the right one
        carried = [k for k in self.schema.external_keys.get(obj, []) if row.get(k) is not None]
        return carried[0] if carried else self.finder.id_keys.get(obj, ID_KEY)

    def _ref(self, obj: str, row: dict[str, Any], i: int, dest_id: str | None = None) -> str:
        sid = row.get(self._sid_key(obj, row))
        return f"pipedrive:{obj}:{dest_id or (f'src={sid}' if sid else f'row{i}')}"

    def _body(self, obj: str, row: dict[str, Any], ref: str, current_text: str | None = None,
              currency: str | None = None) -> dict[str, Any]:
        """The API body of ``row``. A money custom field is written in ``currency``, else the
        row's own (a deal's ``currency``), else the account's default."""
        std = STANDARD[obj]
        body: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        folded: dict[str, Any] = {}
        if obj == "person" and "name" not in row and ("first_name" in row or "last_name" in row):
            row = {**row, "name": " ".join(str(row[k]) for k in ("first_name", "last_name")
                                           if row.get(k)) or None}
        index = self.schema.custom_index(obj)  # looked up once per row, not once per value
        kinds = self.schema.kinds
        if obj == "deal" and not row.get("currency") and (
                "currency" in row or self.default_currency):
            # none in the source: default_currency if set, else none sent (Pipedrive's rule)
            row = {k: v for k, v in row.items() if k != "currency"}
            if self.default_currency:
                row["currency"] = self.default_currency
        money_in = currency or row.get("currency")
        for key, value in row.items():
            try:
                if key in std:
                    shape = std[key][0]
                    if (obj, key) in READ_ONLY:
                        continue
                    if value is None and shape in CLEARED:  # v2 refuses null for these
                        body[key] = CLEARED[shape]()
                    elif value is None and obj == "note" and key.endswith("_id"):
                        body[key] = None  # v1 takes null for a note's link (it keeps another)
                    elif value is None and obj == "activity" and key == "person_id":
                        # v2 sets an activity's person through its primary participant (NOTES
                        # 5): none left empties it (null is refused)
                        body["participants"] = []
                    elif value is None:
                        continue  # no empty form v2 takes (a date, a link): left as it is
                    elif shape == "option":  # system option field (industry)
                        body[key] = self.schema.option_id(obj, key, value)
                    else:
                        body[key] = to_api(shape, value)
                elif key[:1] == "~":
                    folded[key] = value
                else:
                    field = index.get(key) or self.schema.custom(obj, key)
                    if field is None:
                        raise RecordError(ref, key, "no such field on this Pipedrive object")
                    custom[key] = custom_to_api(field, kinds.get(key), value, money_in or (
                        self.currency if field.get("field_type") == "monetary" else ""))
            except BadValue as exc:
                raise RecordError(ref, key, str(exc)) from None
        if custom:
            body["custom_fields"] = custom
        if obj == "activity" and body.get("person_id"):
            body["participants"] = [{"person_id": body["person_id"], "primary": True}]
        if obj in TEXT_FIELD and (folded or current_text is not None):
            text_key = TEXT_FIELD[obj]
            old_text, old_folded = split_trailer(current_text)
            text = body.get(text_key, old_text) or ""
            body[text_key] = join_trailer(text, {**old_folded, **folded})
        return body

    def _shape(self, obj: str, rec: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        wanted = None if fields is None else set(fields)  # a before-image reads a few fields
        for key, (shape, _, _, _) in STANDARD[obj].items():
            if key in rec and (wanted is None or key in wanted):
                out[key] = (self.schema.option_label(obj, key, rec[key]) if shape == "option"
                            else from_api(shape, rec.get(key)))
        for key, value in (rec.get("custom_fields") or {}).items():
            if wanted is not None and key not in wanted:
                continue
            field = self.schema.custom(obj, key)
            if field is not None:
                out[key] = custom_from_api(field, self.schema.kinds.get(key), value)
        if obj in TEXT_FIELD:
            text, folded = split_trailer(rec.get(TEXT_FIELD[obj]))
            out[TEXT_FIELD[obj]] = text or None
            out.update(folded)
        if fields is not None:
            out = {k: out.get(k) for k in fields}
        return out

    # -- writes --------------------------------------------------------------------------------
    def _send_create(self, obj: str, body: dict[str, Any], ref: str, sid: str | None,
                     sid_key: str | None = None) -> str:
        version, template = ("v1", "/notes") if obj == "note" else ("v2", f"/{V2_OBJECTS[obj]}")
        for _ in range(self.client.attempts):
            try:
                data = self.client.call(version, "POST", template, json_body=body, ref=ref,
                                        safe_retry=False)["data"]
                return str(data["id"])
            except Ambiguous:
                if sid is None:
                    continue  # nothing to look it up by: re-send (documented risk)
                key = sid_key or self.finder.id_keys.get(obj, ID_KEY)
                found = self._settled(lambda k=key: self.finder.find(obj, k, [sid], fresh=True
                                                                     ).get(sid))
                if found is not None:
                    return found
        raise FatalError(f"{ref}: create kept failing on the server side", system="pipedrive")

    def _settled(self, look: Callable[[], T | None]) -> T | None:
        """``look()``, and if it finds nothing, once more after ``settle_s`` (emulated time
        under a sandbox's time scale): what a lost answer's request wrote may land late."""
        return look_twice(look, absent, self.settle_s, self.client.time_scale)

    def create(self, object_name: str, rows: list[dict[str, Any]]) -> list[WriteResult]:
        self._check_object(object_name)

        def one(i: int, row: dict[str, Any]) -> WriteResult:
            ref = self._ref(object_name, row, i)
            body = self._body(object_name, row, ref)
            sid_key = self._sid_key(object_name, row)
            sid = None if row.get(sid_key) is None else str(row[sid_key])
            dest_id = self._send_create(object_name, body, ref, sid, sid_key)
            self.finder.remember(object_name, sid, dest_id, sid_key)
            said: list[FerryError] = self._unpriced(object_name, row, ref)
            if object_name == "deal":
                self._deal_currency[dest_id] = str(row.get("currency") or self.currency)
                if not row.get("currency") and not self.default_currency:
                    said.append(RecordError(ref, "currency", (
                        "the source names no currency and destination.settings."
                        "default_currency is unset: Pipedrive gave the deal its user's default "
                        f"({self.currency}); set default_currency if that is not the "
                        "practice's")))
            killpoint.reached("after-row", "create", object_name)
            return WriteResult.success(dest_id, created=True, field_errors=said)

        return run_rows(one, rows, self.workers, self.lanes)

    def update(self, object_name: str, rows: list[tuple[str, dict[str, Any]]]
               ) -> list[WriteResult]:
        if object_name != "file":
            self._check_object(object_name)

        def one(i: int, pair: tuple[str, dict[str, Any]]) -> WriteResult:
            dest_id, row = pair
            ref = self._ref(object_name, row, i, dest_id)
            if object_name == "file":  # v1 form fields: its name (``file_rename``), its tag
                self.client.call("v1", "PUT", "/files/{id}", ref=ref, id=int(dest_id), data={
                    k: str(row[k] or "") for k in ("name", "description") if k in row})
                return WriteResult.success(dest_id)
            current = None
            if object_name in TEXT_FIELD:  # keep the folded trailer (and the source id)
                current = self._get(object_name, dest_id, ref).get(TEXT_FIELD[object_name])
            body = self._body(object_name, row, ref, current_text=current or "",
                              currency=self._money_currency(object_name, dest_id, row, ref))
            if object_name == "note":
                self.client.call("v1", "PUT", "/notes/{id}", json_body=body, ref=ref,
                                 id=int(dest_id))
            else:
                self.client.call("v2", "PATCH", f"/{V2_OBJECTS[object_name]}/{{id}}",
                                 json_body=body, ref=ref, id=int(dest_id))
            return WriteResult.success(dest_id)

        return run_rows(one, rows, self.workers, self.lanes)

    def _unpriced(self, obj: str, row: dict[str, Any], ref: str) -> list[FerryError]:
        """A money custom field of a person, an organization or an activity (a patient's
        ``Balance``) holds a currency Pipedrive keeps beside the amount: when the source names
        none and ``default_currency`` is unset it is written in the user's default, which a
        bare ``$`` in an Australian or Canadian export is not: each such field is listed
        (record and field, never the amount). A deal's fields follow the deal's currency,
        listed with the deal."""
        if obj == "deal" or self.default_currency or row.get("currency"):
            return []
        index = self.schema.custom_index(obj)
        return [RecordError(ref, k, (
            "the source names no currency and destination.settings.default_currency is unset: "
            f"the amount was written in the Pipedrive user's default ({self.currency}); set "
            "default_currency if that is not the practice's"))
            for k, v in row.items() if v not in (None, "")
            and (index.get(k) or {}).get("field_type") == "monetary"]

    def _money_currency(self, obj: str, dest_id: str, row: dict[str, Any], ref: str
                        ) -> str | None:
        """The currency of a deal an update writes a money custom field on without naming the
        deal's currency (a fold of payments onto their invoice's deal): the deal's own, as
        created here or read once."""
        if obj != "deal" or row.get("currency"):
            return None
        index = self.schema.custom_index(obj)
        if not any((index.get(k) or {}).get("field_type") == "monetary" for k in row):
            return None
        if dest_id not in self._deal_currency:
            got = self._get(obj, dest_id, ref).get("currency")
            self._deal_currency[dest_id] = str(got or self.currency)
        return self._deal_currency[dest_id]

    def delete(self, object_name: str, dest_ids: list[str]) -> list[WriteResult]:
        version, template = (("v1", f"/{object_name}s/{{id}}") if object_name in ("note", "file")
                             else ("v2", f"/{V2_OBJECTS[object_name]}/{{id}}"))

        def one(i: int, dest_id: str) -> WriteResult:
            try:
                self.client.call(version, "DELETE", template,
                                 ref=f"pipedrive:{object_name}:{dest_id}", id=int(dest_id))
            except RecordError as exc:
                if exc.status not in (404, 410):
                    raise
                # already gone: the goal of a delete is met
            self.finder.forget(object_name, dest_id)
            return WriteResult.success(dest_id)

        return run_rows(one, dest_ids, self.workers, self.lanes)

    # -- reads ---------------------------------------------------------------------------------
    def _get(self, obj: str, dest_id: str, ref: str) -> dict[str, Any]:
        if obj in ("note", "file"):
            return dict(self.client.call("v1", "GET", f"/{obj}s/{{id}}", ref=ref,
                                         id=int(dest_id))["data"])
        return dict(self.client.call("v2", "GET", f"/{V2_OBJECTS[obj]}/{{id}}", ref=ref,
                                     id=int(dest_id))["data"])

    def read(self, object_name: str, dest_ids: list[str], fields: list[str] | None = None
             ) -> dict[str, dict[str, Any]]:
        """Single GETs (1 token) for up to 10 ids, else ``?ids=`` pages of 100 (10 tokens)."""
        out: dict[str, dict[str, Any]] = {}
        ids = [d for d in dict.fromkeys(dest_ids) if str(d).isdigit()]
        if object_name in V2_OBJECTS and len(ids) > 10:
            for start in range(0, len(ids), 100):
                chunk = ids[start:start + 100]
                for page in self.client.pages_v2(f"/{V2_OBJECTS[object_name]}",
                                                 {"ids": ",".join(chunk)}):
                    for rec in page:
                        out[str(rec["id"])] = self._shape(object_name, rec, fields)
            return out
        for dest_id in ids:
            try:
                rec = self._get(object_name, dest_id, f"pipedrive:{object_name}:{dest_id}")
            except RecordError as exc:
                if exc.status in (404, 410):
                    continue
                raise
            if object_name == "file":
                out[dest_id] = {k: rec.get(k) for k in ("file_name", "name", "file_size",
                                                        "person_id", "org_id", "deal_id",
                                                        "description")}
            else:
                out[dest_id] = self._shape(object_name, rec, fields)
        return out

    def design_rule(self, object_name: str, key: str, sent: Any, stored: Any, *,
                    row: dict[str, Any] | None = None) -> str | None:
        """Pipedrive's own behaviours the sample diff must not call faults: an activity sent
        without a type is given the type Call (v1 ``POST /activities``: "When value for type is
        not set, it will be given a default value `Call`"), as a visit with no type in the
        export (a FHIR Appointment without serviceType) is."""
        if object_name == "activity" and key == "type" and sent in (None, "") and \
                stored == "call":
            return "an activity sent without a type is given the type Call"
        if object_name == "deal" and key == "currency" and sent in (None, "") and stored:
            if self.default_currency:  # the writer sent it (``_body``)
                return ("a deal whose source names no currency is sent in destination."
                        "settings.default_currency" if stored == self.default_currency
                        else None)
            # v2 POST /deals: omitted, "set to the default currency of the authorized user"
            # (each such deal listed by the load)
            return ("a deal sent without a currency is given its Pipedrive user's default "
                    "currency" if stored == self.currency else None)
        return None

    def stored_meaning(self, object_name: str, key: str, kind: str, row: dict[str, Any]
                       ) -> tuple[Any, str] | None:
        """Pipedrive's readings [specs/pipedrive/NOTES.md]: an activity's ``due_date`` and
        ``due_time`` are one instant in UTC (v1: "the due time of the activity in UTC"; a
        ``due_date`` without a time is the day); timestamps are UTC; a deal's amounts are in
        its ``currency`` (``value``, and a money custom field the writer puts in it)."""
        from ferry.connectors import meaning

        if kind != "money" and object_name == "activity" and key in ("due_date", "due_time") \
                and row.get("due_time") and row.get("due_date"):
            at = meaning.at_utc(row["due_date"], row["due_time"])
            return None if at is None else (at, "due_date + due_time as one UTC instant")
        if key == "due_time":
            return None
        return meaning.reading(row.get(key), kind, currency=row.get("currency")
                               if object_name == "deal" else None,
                               amount_as="the amount in the deal's currency",
                               instant_as="a UTC timestamp")

    def iter_ids(self, object_name: str) -> Iterator[str]:
        if object_name in V2_OBJECTS:
            for page in self.client.pages_v2(f"/{V2_OBJECTS[object_name]}"):
                yield from (str(r["id"]) for r in page)
        else:
            limit = 100 if object_name == "file" else 500
            for page in self.client.pages_v1(f"/{object_name}s", limit=limit):
                yield from (str(r["id"]) for r in page)

    # -- files ---------------------------------------------------------------------------------
    def _untagged_upload(self, parent_object: str, parent_id: str, file_name: str, size: int
                         ) -> str | None:
        key = PARENT_KEYS[parent_object]
        newest = next(self.client.pages_v1("/files", {"sort": "id DESC"}, limit=100), [])
        for f in newest:
            if (str(f.get(key)) == str(parent_id) and f.get("name") == file_name
                    and int(f.get("file_size") or -1) == size and not f.get("description")):
                return str(f["id"])
        return None

    def upload(self, parent_object: str, parent_id: str, path: Path | PlainView, file_name: str,
               mime_type: str | None, extra: dict[str, Any] | None = None) -> WriteResult:
        """``path``: a file, or (``upload_reads_view``) a stored file's ``PlainView``, decrypted
        as the request body is written: no plain copy on disk, one chunk in memory."""
        ref = f"pipedrive:file:{parent_object}={parent_id}"
        size = path.stat().st_size
        if size > self.max_file_bytes:
            return WriteResult.failure(RecordError(
                ref, "file", f"file of {size} bytes is over the {self.max_file_bytes}-byte"
                " limit; store it elsewhere and link it"))
        if parent_object not in PARENT_KEYS:
            return WriteResult.failure(RecordError(ref, "parent", "files attach to persons,"
                                                   " organizations, deals or activities"))
        sid = str((extra or {}).get("_source_id") or (extra or {}).get("source_id") or "") or None
        data: dict[str, Any] | None = None
        for _ in range(self.client.attempts):
            try:
                with path.open("rb") as fh:  # sent a block at a time, never read whole
                    data = self.client.call(
                        "v1", "POST", "/files", ref=ref, safe_retry=False,
                        data={PARENT_KEYS[parent_object]: str(int(parent_id))},
                        files={"file": (file_name, fh, mime_type or "application/octet-stream")}
                    )["data"]
                break
            except Ambiguous:
                def landed() -> tuple[str, bool] | None:
                    """(id, tagged) of this upload if the server stored it."""
                    found = self.finder.find("file", "", [sid], fresh=True) if sid else {}
                    if sid and sid in found:
                        return found[sid], True
                    # The answer was lost after the server stored the file but before the
                    # second call tagged it: the newest untagged file of that parent, name
                    # and size.
                    adopted = self._untagged_upload(parent_object, parent_id, file_name, size)
                    return (adopted, False) if adopted is not None else None

                hit = self._settled(landed)
                if hit is not None and hit[1]:
                    return WriteResult.success(hit[0], created=True)
                if hit is not None:
                    data = {"id": hit[0]}
                    break
            except RecordError as exc:
                return WriteResult.failure(exc)
        if data is None:
            raise FatalError(f"{ref}: upload kept failing ambiguously", system="pipedrive")
        fid = str(data["id"])
        if sid:  # the description carries the source id so ``find("file", ...)`` works
            killpoint.reached("between-calls", "upload", "file")
            self._tag_file(fid, sid, ref)
        return WriteResult.success(fid, created=True)

    def upload_many(self, files: list[FileUpload]) -> list[WriteResult]:
        """Each file as ``upload`` (two calls), ``workers`` at a time on the row lanes: the
        engine logs a group's intents and outcomes in one transaction each. Two files of one
        name on one parent go one after the other: an ambiguous upload adopts the parent's
        untagged file of its name and size, which must not be the other's, not yet tagged."""
        names = [(f.parent_object, f.parent_id, f.file_name) for f in files]

        def one(i: int, f: FileUpload) -> WriteResult:
            return self.upload(f.parent_object, f.parent_id, f.path, f.file_name, f.mime_type,
                               f.extra)

        workers = self.workers if len(set(names)) == len(names) else 1
        return run_rows(one, files, workers, self.lanes)

    def file_rename(self, object_name: str, file_name: str) -> dict[str, Any] | None:
        """A file's ``name`` (shown as its name) is written by ``PUT /files/{id}``; its
        ``file_name`` (the stored file's) stays as uploaded."""
        return {"name": file_name}

    def _tag_file(self, fid: str, sid: str, ref: str) -> None:
        """``POST /files`` takes no description: the tag is a second call (``PUT``)."""
        self.client.call("v1", "PUT", "/files/{id}", ref=ref, id=int(fid),
                         data={"description": f"[ferry-id:{sid}]"})
        self.finder.remember("file", sid, fid)

    def find_upload(self, object_name: str, parent_object: str, parent_id: str,
                    source_id: str, file_name: str | None, size: int | None) -> str | None:
        """By the description tag; else the untagged file an upload killed between its two
        calls left on the parent (same name and size), tagged now so it is found next time."""
        found = self.finder.find("file", "", [source_id])
        if source_id in found:
            return found[source_id]
        if file_name is None or size is None or parent_object not in PARENT_KEYS:
            return None
        fid = self._untagged_upload(parent_object, parent_id, file_name, int(size))
        if fid is not None:
            self._tag_file(fid, source_id, f"pipedrive:file:{parent_object}={parent_id}")
        return fid

    def forget_lookups(self) -> None:
        self.finder.index.clear()  # the next ``find`` scans again

    # -- budget --------------------------------------------------------------------------------
    def cost(self, op: str, object_name: str, n: int) -> Cost:
        if op == "upload":  # POST /files, then PUT /files/{id} for the source-id tag
            return Cost(calls=2 * n, tokens=n * (self.client.cost("v1", "POST", "/files")
                                                 + self.client.cost("v1", "PUT",
                                                                    "/files/{id}")))
        method = {"create": "POST", "update": "PATCH", "delete": "DELETE", "read": "GET"}[op]
        if object_name in ("note", "file"):
            method = {"PATCH": "PUT"}.get(method, method)
            template = f"/{object_name}s" if method == "POST" else f"/{object_name}s/{{id}}"
            version = "v1"
        else:
            version = "v2"
            base = f"/{V2_OBJECTS.get(object_name, object_name)}"
            template = base if method == "POST" else base + "/{id}"
        if op == "read" and object_name in V2_OBJECTS and n > 10:
            return Cost(calls=-(-n // 100), tokens=10 * -(-n // 100))
        per = self.client.cost(version, method, template)
        return Cost(calls=n, tokens=n * per)

    def budget(self) -> Budget:
        return Budget(self.client.remaining(), self.client.daily_budget,
                      self.client.resets_at())

    def rate(self) -> RateInfo:
        return RateInfo(requests_per_second=self.client.window.limit / 2.0,
                        burst=self.client.window.limit, burst_window_s=2.0,
                        daily_budget=self.client.daily_budget, page_size=500, batch_size=1,
                        notes="tokens per call from x-token-cost; search 10 per 2 s")

    def _check_object(self, obj: str) -> None:
        if obj not in STANDARD:
            raise FatalError(f"Pipedrive has no object {obj!r}", system="pipedrive")

    def close(self) -> None:
        self.lanes.close()
        self.client.close()
