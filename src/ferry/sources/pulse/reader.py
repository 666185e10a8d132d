"""Pulse Digital Clinic source: the CSV export folder, or the REST mode of higher tiers.

Export mode is the generic clinic-export reader (every header matched, nothing assumed about
Pulse's column names) with Pulse's file names as hints. REST mode reads the same rows as JSON
pages and sends them through the same converter, so one confirmed column map serves both.

Deletions in REST mode: nothing public describes Pulse's API (``shared/specs/sources/NOTES.md``
§3: no API, docs or client code found; the REST mode is ASSUMED), so nothing shows a deletion:
no deleted list, status or archived flag, or changes filter said to include them. A delta
(``updated_since``) therefore cannot see one, and says so per object
(``unseen_deletions``, the delta report's ``deletions_unseen``) rather than invent a signal. A
read of everything (``ferry extract --since 1970-01-01``, or the first extract) lists every id,
as the export does: the staged records it no longer names are marked deleted at the source
(``Page.complete_listing``), and ``ferry reconcile`` names each one still in the CRM.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from ferry.connectors.base import CheckItem, FieldSpec, ObjectInfo, Page
from ferry.errors import ConfigError, FerryError
from ferry.model.entities import ENTITIES, CustomValue, Record
from ferry.model.fields import Kind, fields_of
from ferry.sources.clinic_csv import values as V
from ferry.sources.clinic_csv.columns import match_columns, norm
from ferry.sources.clinic_csv.convert import RowConverter
from ferry.sources.clinic_csv.reader import (
    ExportSource,
    RawColumn,
    _kind,
    digest,
    naive_times,
)
from ferry.sources.clinic_csv.rows import RawRow
from ferry.sources.pulse.client import RESOURCES, PulseClient

#: a ``since`` at or before this reads everything (``ferry extract --since 1970-01-01``)
EVERYTHING = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: what a delta's report says of each object read through REST
UNSEEN = ("Pulse's REST API shows no deletions (nothing public documents a deleted list, a"
          " status or archived flag, or a changes filter that includes them), so a delta"
          " cannot see a record deleted at Pulse: it stays in the CRM. To catch them, read"
          " everything again (`ferry extract --since 1970-01-01`: what it no longer lists is"
          " marked deleted at the source), then `ferry reconcile`, which names each such"
          " record still in the CRM")

OBJECTS = ("practitioner", "patient", "appointment", "clinical_note", "prescription",
           "invoice", "campaign", "message")
HINTS = {"patients": "patient", "physicians": "practitioner", "doctors": "practitioner",
         "appointments": "appointment", "bills": "invoice", "billing": "invoice",
         "prescriptions": "prescription", "e_prescriptions": "prescription",
         "medical_records": "clinical_note", "emr": "clinical_note", "campaigns": "campaign",
         "chat_logs": "message", "chats": "message", "messages": "message"}


class PulseSource(ExportSource):
    name: ClassVar[str] = "pulse"
    objects: ClassVar[tuple[str, ...]] = OBJECTS
    typical_objects: ClassVar[tuple[str, ...] | None] = None  # a file for each of its objects
    date_order: ClassVar[bool | None] = True  # day-first: an Indian product (docs/connectors)

    def file_hints(self) -> dict[str, str]:
        return HINTS

    def unseen_deletions(self, object_name: str) -> str | None:
        if self.settings.mode == "export" or object_name not in RESOURCES:
            return None  # a newer export's missing rows are its deletions
        return UNSEEN

    def check(self) -> list[CheckItem]:
        if self.settings.mode == "export":
            return super().check()
        key = os.environ.get(self.settings.api_key_env or "", "")
        if not key:
            return [CheckItem("Pulse API key", False, "not set",
                              f"export {self.settings.api_key_env}")]
        try:
            asyncio.run(self._first("patient"))
        except FerryError as exc:
            return [CheckItem("Pulse API", False, str(exc), "check base_url and the key")]
        items = [CheckItem("Pulse API", True, "patients readable")]
        if "timezone" not in self.settings.model_fields_set:
            naive = self._naive_times()
            if naive:  # as an export's check says (clinic_csv.reader.naive_times)
                items.append(CheckItem(
                    "practice time zone", False, f"not set: {', '.join(naive[:3])} hold times"
                    " of day without a UTC offset, which would be read as UTC (hours early or"
                    " late)", "set source.timezone in ferry.yaml to the practice's IANA zone"
                    " (e.g. Asia/Kolkata) before ferry extract"))
        return items

    def _naive_times(self) -> list[str]:
        """``resource: column`` of the first page's date-time columns holding clock times
        without an offset (appointments and patients: where a visit's time and the stamps are)."""
        tables: dict[str, tuple[str, dict[str, str | None], dict[str, list[str]]]] = {}
        for obj in ("appointment", "patient"):
            rows = [r for r in asyncio.run(self._first(obj)).get("data") or []
                    if isinstance(r, dict)]
            if not rows:
                continue
            conv = self._converter(obj, list(rows[0]), rows)
            tables[RESOURCES[obj]] = (obj, {st.column: st.field for st in conv.steps},
                                      {h: [_cell(r.get(h)) for r in rows] for h in rows[0]})
        return naive_times(tables)

    def describe(self) -> list[ObjectInfo]:
        if self.settings.mode == "export":
            return super().describe()
        out = []
        for obj in self.objects:
            body = asyncio.run(self._first(obj))
            rows = [r for r in body.get("data") or [] if isinstance(r, dict)]
            header = list(rows[0]) if rows else []
            conv = self._converter(obj, header, rows)
            kinds = {f.name: f for f in fields_of(ENTITIES[obj])}
            specs = [FieldSpec(st.field, kinds[st.field].kind, label=st.column,
                               phi=kinds[st.field].phi) if st.field in kinds else
                     FieldSpec(f"custom.{st.column}", Kind(_kind(st.custom_type)),
                               label=st.column, custom=True)
                     for st in conv.steps if st.field is None or st.field in kinds]
            out.append(ObjectInfo(obj, obj.replace("_", " "), specs,
                                  count=(body.get("meta") or {}).get("total")))
        return out

    def raw_columns(self, limit: int = 20) -> dict[str, list[RawColumn]]:
        """As the export reader's; in REST mode from the first page of each resource."""
        if self.settings.mode == "export":
            return super().raw_columns(limit)
        out: dict[str, list[RawColumn]] = {}
        for obj in RESOURCES:
            rows = [r for r in asyncio.run(self._first(obj)).get("data") or []
                    if isinstance(r, dict)]
            if not rows:
                continue
            header = list(rows[0])
            s = self.settings
            matched = match_columns(obj, header, s.columns.get(obj, {})
                                    | s.columns.get(RESOURCES[obj], {}))
            out[obj] = [RawColumn(h, [c for c in (_cell(r.get(h)).strip() for r in rows) if c]
                                  [:limit], matched[h]) for h in header]
        return out

    def placement(self) -> dict[str, str]:
        """As the export reader's; in REST mode what ferry.yaml ``source.columns`` gives each
        resource (the matcher reads the API's own field names, which do not move)."""
        if self.settings.mode == "export":
            return super().placement()
        s = self.settings
        return {obj: digest(sorted((s.columns.get(obj, {}) | s.columns.get(RESOURCES[obj], {}))
                                   .items())) for obj in RESOURCES}

    async def _first(self, obj: str) -> dict[str, Any]:
        client = self._client()
        try:
            return await client.page(obj, 1)
        finally:
            await client.aclose()

    def _client(self) -> PulseClient:
        s = self.settings
        key = os.environ.get(s.api_key_env or "")
        if not s.base_url or not key:
            raise ConfigError("pulse REST mode needs base_url and the api_key_env variable")
        return PulseClient(s.base_url, key, per_page=min(s.page_size, 100),
                           time_scale=s.time_scale, transport=getattr(self, "transport", None))

    def _converter(self, obj: str, header: list[str], rows: list[dict[str, Any]]
                   ) -> RowConverter:
        s = self.settings
        samples = [[_cell(r.get(h)) for h in header] for r in rows]
        given = s.columns.get(obj, {}) | s.columns.get(RESOURCES[obj], {})
        def evidence() -> V.Evidence:  # the page's own date cells: no export around it
            ev = V.Evidence(system=self.date_order, system_name=self.name)
            if self.phone_region:
                ev.region, ev.region_from = self.phone_region, "options.phone_region"
            for cells in samples:
                for c in cells:
                    ev.add(c.strip())
            return ev

        return RowConverter(system=self.name, object_name=obj, table=RESOURCES[obj],
                            header=header, columns=match_columns(obj, header, given),
                            samples=samples, timezone=s.timezone, dayfirst=s.dayfirst,
                            evidence=evidence)

    async def read(self, object_name: str, *, checkpoint: str | None = None,
                   since: dt.datetime | None = None) -> AsyncIterator[Page]:
        if self.settings.mode == "export":
            async for page in super().read(object_name, checkpoint=checkpoint, since=since):
                yield page
            return
        async for page in self._read_rest(object_name, checkpoint, since):
            yield page

    async def _read_rest(self, obj: str, checkpoint: str | None, since: dt.datetime | None
                         ) -> AsyncIterator[Page]:
        if obj not in RESOURCES:
            yield Page(obj, [], "", done=True)
            return
        client = self._client()
        everything = since is None or since <= EVERYTHING  # every row, so every live id
        stamp = None if everything else since.astimezone(dt.UTC).isoformat()  # type: ignore[union-attr]
        watermark = dt.datetime.now(dt.UTC).isoformat()
        page_no = json.loads(checkpoint)["page"] if checkpoint else 1
        conv: RowConverter | None = None
        header: list[str] = []
        try:
            while True:
                body = await client.page(obj, page_no, stamp)
                rows = [r for r in body.get("data") or [] if isinstance(r, dict)]
                if conv is None and rows:
                    # kinds and date order are settled on the full listing's first page, as
                    # the first extract settled them: a delta's few changed rows (or a resumed
                    # read's later page) once read a text column as dates, and the CRM field
                    # made for text refused them
                    first = rows if page_no == 1 and stamp is None else [
                        r for r in (await client.page(obj, 1, None)).get("data") or []
                        if isinstance(r, dict)] or rows
                    header = list(first[0])
                    conv = self._converter(obj, header, first)
                records: list[Record] = []
                errors: list[FerryError] = []
                listed: list[str] = []  # every row's id, parsed or not: a bad row is still there
                for n, r in enumerate(rows):
                    assert conv is not None
                    line = (page_no - 1) * client.per_page + n + 1
                    raw = RawRow([_cell(r.get(h)) for h in header], line, 0, line, True)
                    got = conv.convert(raw)
                    if isinstance(got, Record):
                        for k in r.keys() - set(header):  # a key the first page lacked: kept
                            got.custom[norm(k) or k] = CustomValue(type="text", label=k,
                                                                   value=_cell(r[k]))
                        records.append(got)
                        listed.append(got.source_id)
                    else:
                        errors.append(got)
                        key = conv.key_of(raw.fields)
                        if key is None:
                            everything = False  # a row we cannot name: absence proves nothing
                        else:
                            listed.append(key)
                if conv is not None and not conv.has_id:
                    everything = False  # content keys change with an edit: no id set
                nxt = (body.get("links") or {}).get("next")
                done = not nxt or not rows
                yield Page(obj, records, "" if done else json.dumps({"page": page_no + 1}),
                           done=done, watermark=watermark, errors=errors,
                           listed_ids=listed if everything else None,
                           complete_listing=everything and done)
                if done:
                    return
                page_no += 1
        finally:
            await client.aclose()


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


