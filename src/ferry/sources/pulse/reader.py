"""Pulse Digital Clinic source: the CSV export folder, or the REST mode of higher tiers.

Export mode is the generic clinic-export reader (every header matched, nothing assumed about
Pulse's column names) with Pulse's file names as hints. REST mode reads the same rows as JSON
pages and sends them through the same converter, so one confirmed column map serves both.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from ferry.connectors.base import CheckItem, Page
from ferry.errors import ConfigError, FerryError
from ferry.model.entities import Record
from ferry.sources.clinic_csv.columns import match_columns
from ferry.sources.clinic_csv.convert import RowConverter
from ferry.sources.clinic_csv.reader import ExportSource
from ferry.sources.clinic_csv.rows import RawRow
from ferry.sources.pulse.client import RESOURCES, PulseClient

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

    def file_hints(self) -> dict[str, str]:
        return HINTS

    def check(self) -> list[CheckItem]:
        if self.settings.mode == "export":
            return super().check()
        key = os.environ.get(self.settings.api_key_env or "", "")
        return [CheckItem("Pulse API key", bool(key), "" if key else "not set",
                          f"export {self.settings.api_key_env}" if not key else "")]

    def describe(self) -> Any:
        if self.settings.mode == "export":
            return super().describe()
        return []

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
        s = self.settings
        key = os.environ.get(s.api_key_env or "")
        if not s.base_url or not key:
            raise ConfigError("pulse REST mode needs base_url and the api_key_env variable")
        if obj not in RESOURCES:
            yield Page(obj, [], "", done=True)
            return
        client = PulseClient(s.base_url, key, per_page=min(s.page_size, 100),
                             time_scale=s.time_scale, transport=getattr(self, "transport", None))
        stamp = since.astimezone(dt.UTC).isoformat() if since else None
        watermark = dt.datetime.now(dt.UTC).isoformat()
        page_no = json.loads(checkpoint)["page"] if checkpoint else 1
        conv: RowConverter | None = None
        header: list[str] = []
        try:
            while True:
                body = await client.page(obj, page_no, stamp)
                rows = [r for r in body.get("data") or [] if isinstance(r, dict)]
                if conv is None and rows:
                    header = list(rows[0])
                    samples = [[_cell(r.get(h)) for h in header] for r in rows]
                    given = s.columns.get(obj, {}) | s.columns.get(RESOURCES[obj], {})
                    conv = RowConverter(system=self.name, object_name=obj,
                                        table=RESOURCES[obj], header=header,
                                        columns=match_columns(obj, header, given),
                                        samples=samples, timezone=s.timezone,
                                        dayfirst=s.dayfirst)
                records: list[Record] = []
                errors: list[FerryError] = []
                for n, r in enumerate(rows):
                    assert conv is not None
                    line = (page_no - 1) * client.per_page + n + 1
                    raw = RawRow([_cell(r.get(h)) for h in header], line, 0, line, True)
                    got = conv.convert(raw)
                    (records if isinstance(got, Record) else errors).append(got)  # type: ignore[arg-type]
                nxt = (body.get("links") or {}).get("next")
                done = not nxt or not rows
                yield Page(obj, records, "" if done else json.dumps({"page": page_no + 1}),
                           done=done, watermark=watermark, errors=errors)
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


