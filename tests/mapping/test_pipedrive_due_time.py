"""A Pipedrive activity's ``due_date`` and ``due_time`` are one instant in UTC (v1 spec: "The due
time of the activity in UTC"); Pipedrive shows it in each user's zone. A visit staged with the
practice's offset (09:00 in Sydney, 14:30 in New York) must be sent as its UTC date and time:
sent as the wall time (as the recipes did), the Sydney visit showed at 20:00 in Sydney and the
New York one at 09:30, and the sample passed (it compares what was sent with what is stored)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ferry.mapping.compile import compile_mapping
from ferry.mapping.recipes import load_recipe
from ferry.model.entities import Appointment, AppointmentReminder

from .test_recipes import IdLookup, with_keys

WHEN = [dt.datetime(2025, 3, 10, 9, 0, tzinfo=ZoneInfo("Australia/Sydney")),  # AEDT
        dt.datetime(2025, 6, 16, 9, 0, tzinfo=ZoneInfo("Australia/Sydney")),  # AEST
        dt.datetime(2025, 3, 9, 14, 30, tzinfo=ZoneInfo("America/New_York")),  # EDT's first day
        dt.datetime(2025, 1, 6, 19, 15, tzinfo=ZoneInfo("America/Los_Angeles"))]


def _records(when: dt.datetime) -> list[object]:
    return [Appointment(source_id="7", patient_id="1", start=when,
                        end=when + dt.timedelta(minutes=30), status="scheduled"),
            AppointmentReminder(source_id="8", patient_id="1", appointment_id="7",
                                due_at=when, reminder_type="sms")]


@pytest.mark.parametrize("source", ["practicehub", "pulse", "clinic_csv", "fhir_bulk"])
def test_an_activity_is_due_at_its_utc_instant(source: str) -> None:
    maps = [cm for cm in compile_mapping(with_keys(load_recipe(source, "pipedrive")))
            if cm.om.target == "activity" and cm.om.source in ("appointment",
                                                               "appointment_reminder")]
    seen = 0
    for when in WHEN:
        utc = when.astimezone(dt.UTC)
        for rec in _records(when):
            for cm in maps:
                if cm.om.source != rec.OBJECT or not cm.accepts(rec):  # type: ignore[attr-defined]
                    continue
                payload = cm.build(rec, IdLookup()).payload
                if "due_time" not in payload:
                    continue
                assert (str(payload["due_date"]), payload["due_time"]) == (
                    utc.date().isoformat(), utc.strftime("%H:%M")), (cm.om.name, when)
                seen += 1
    assert seen >= len(WHEN)
