"""An appointment at 09:00 in Sydney lands at 09:00 Sydney time in every CRM.

PracticeHub gives appointment ``start`` as the practice's wall time with no offset [code]; the
connector reads it in ``source.timezone`` and stages it with its offset. Read as UTC (the old
default) the visit would land ten or eleven hours early and, for a morning visit, on the day
before: the CRM's date field (close date, activity date, deadline) would name the wrong day.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest

from ferry.engine import pipeline as P
from ferry.mapping import mapping_file
from ferry.mapping.draft import keep_absent_standard
from ferry.mapping.validate import confirm_file
from ferry.sandbox.harness import start_pair

from .setup_pair import approve_phi, confirm_baa, recipe_for

SYDNEY = ZoneInfo("Australia/Sydney")
#: 09:00 in Sydney on dates either side of the DST change (AEDT +11 until 6 April 2025)
NINE_AM = [dt.datetime(2025, 3, 10, 9, 0, tzinfo=SYDNEY),
           dt.datetime(2025, 6, 16, 9, 0, tzinfo=SYDNEY)]
#: where each CRM keeps the visit's start (datetime) and the day Ferry writes (date); an Event's
#: ActivityDate is Salesforce's own, derived from StartDateTime in the user's zone
WHERE = {"pipedrive": ("deal", "appointment_start", "expected_close_date"),
         "salesforce": ("Event", "StartDateTime", None),
         "odoo": ("crm.lead", "appointment_time", "date_deadline")}


def _key(doc, target: str, name: str, dest) -> str:
    """The physical key of a recipe field (custom fields have account-specific keys)."""
    for obj in dest.describe():
        if obj.name == target:
            spec = obj.field(name) or next((f for f in obj.fields if f.custom and f.name in (
                name, f"x_{name}", f"{name}__c")), None) or next(
                (f for f in obj.fields if f.label.lower() == name.replace("_", " ")), None)
            if spec is not None:
                return spec.key
    raise AssertionError(f"{target}.{name} not in the destination")


@pytest.mark.parametrize("destination", ["pipedrive", "salesforce", "odoo"])
def test_nine_am_in_sydney_lands_at_nine_am_sydney(destination, tmp_path):
    with start_pair(tmp_path / "proj", source="practicehub", destination=destination,
                    patients=6, seed=12, time_scale=2000.0, surface="documented",
                    source_extra={"region": "sydney"},
                    dest_extra={"plan": "ultimate", "seats": 10}
                    if destination == "pipedrive" else None,
                    env_prefix=f"FERRY_TZ_{destination.upper()}_") as pair:
        proj = confirm_baa(pair.project)
        assert proj.settings.source.model_dump().get("timezone") == "Australia/Sydney"
        target, start_field, day_field = WHERE[destination]
        appts = [a for a in pair.practice.iter("appointment")
                 if a.patient_id and a.status in ("completed", "scheduled")]  # type: ignore[attr-defined]
        chosen = {}
        base = pair.source_info["base_url"]
        for appt, when in zip(appts[:8], NINE_AM * 4, strict=False):
            r = httpx.post(f"{base}/_sandbox/set", timeout=30, json={
                "resource": "appointments", "id": appt.source_id, "fields": {
                    "start": when.isoformat(),
                    "end": (when + dt.timedelta(minutes=30)).isoformat()}})
            assert r.json()["updated"]
            chosen[appt.source_id] = when
        doc = recipe_for("practicehub", destination)
        schema_dest = P.open_destination(proj)
        try:  # as `ferry map` drafts it: fitted to this account (Pipedrive: no contact sync)
            keep_absent_standard(doc, schema_dest.describe())
        finally:
            schema_dest.close()
        mapping_file.save(doc, proj.mapping_path)
        confirm_file(proj.mapping_path, by="tz test")
        P.run_extract(proj)
        for sid, when in chosen.items():  # staged with the practice's offset
            staged = proj.store.get("appointment", sid)
            assert staged is not None and staged.record.start == when  # type: ignore[attr-defined]
            assert staged.record.start.utcoffset() == when.utcoffset()  # type: ignore[attr-defined]
        P.run_prepare(proj)
        approve_phi(proj)
        P.load(proj, hold=lambda om, rec: None)
        dest = P.open_destination(proj)
        try:
            doc = mapping_file.load(proj.mapping_path)
            start_key = _key(doc, target, start_field, dest)
            day_key = _key(doc, target, day_field, dest) if day_field else start_key
            landed = {sid: proj.store.dest_id("appointment", sid, target) for sid in chosen}
            landed = {sid: did for sid, did in landed.items() if did}
            assert landed, f"no chosen appointment reached {target}"
            rows = dest.read(target, list(landed.values()), [start_key, day_key])
            for sid, did in landed.items():
                value = rows[did][start_key]
                if isinstance(value, str):
                    value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                assert value.tzinfo is not None, f"{destination}: start stored without a zone"
                local = value.astimezone(SYDNEY)
                assert (local.hour, local.minute) == (9, 0), (destination, value)
                assert local == chosen[sid]
                if not day_field:
                    continue
                day = rows[did][day_key]
                day = dt.date.fromisoformat(str(day)[:10]) if not isinstance(day, dt.date) \
                    else day
                assert day == chosen[sid].date(), (destination, day)  # not the UTC day before
        finally:
            dest.close()
