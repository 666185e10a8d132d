"""The sample's meaning check, rule by rule: which transforms only change a value's form, how
each destination reads its stored dates, date-times and amounts, and what counts as another
instant, day or amount (``ferry.engine.diff.meaning_note``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ferry.connectors.base import Destination
from ferry.destinations.odoo.writer import OdooDestination
from ferry.destinations.pipedrive.writer import PipedriveDestination
from ferry.destinations.salesforce.writer import SalesforceDestination
from ferry.engine.diff import diff_record, meaning_kind, meaning_note
from ferry.mapping.compile import compile_mapping
from ferry.mapping.model import FieldMap, MappingDoc, ObjectMap, Transform
from ferry.model.entities import Appointment

SYD = "Australia/Sydney"
SYDNEY = ZoneInfo(SYD)
VISIT = dt.datetime(2025, 3, 10, 9, 0, tzinfo=SYDNEY)  # 2025-03-09 22:00 UTC
UTC_VISIT = VISIT.astimezone(dt.UTC)


def _dest(cls: type[Destination]) -> Any:
    return object.__new__(cls)  # the readings use no connection


def T(name: str, **args: Any) -> Transform:
    return Transform(name=name, args=args)


@pytest.mark.parametrize(("fm", "kind"), [
    (FieldMap(source="start", target="x"), "datetime"),
    (FieldMap(source="start", target="x", transform=[T("date", tz="UTC")]), "datetime"),
    (FieldMap(source="start", target="x", transform=[T("strftime", fmt="%H")]), "datetime"),
    (FieldMap(source="fee", target="x", transform=[T("money")]), "money"),
    # meaning changed on purpose by the confirmed map: the check stays out
    (FieldMap(source="fee", target="x", transform=[T("money", **{"as": "int"})]), None),
    (FieldMap(source="start", target="x", transform=[T("template", template="{start}")]),
     None),
    (FieldMap(source="status", target="x", value_map={"a": "b"}), None),
    (FieldMap(source=["start", "end"], target="x", transform=[T("minutes_between")]), None),
    (FieldMap(source="notes", target="x"), None),  # not a date, date-time or amount
])
def test_which_fields_are_checked(fm: FieldMap, kind: str | None) -> None:
    assert meaning_kind(Appointment, fm) == kind


def test_pipedrive_reads_due_date_and_time_as_one_utc_instant() -> None:
    pd = _dest(PipedriveDestination)
    wall = {"due_date": dt.date(2025, 3, 10), "due_time": "09:00"}  # the old recipe's payload
    right = {"due_date": dt.date(2025, 3, 9), "due_time": "22:00"}  # 989c265's
    for key in ("due_date", "due_time"):
        assert meaning_note("datetime", VISIT, pd.stored_meaning("activity", key, "datetime",
                                                                 right)) is None
        note = meaning_note("datetime", VISIT, pd.stored_meaning("activity", key, "datetime",
                                                                 wall))
        assert note and "due_date + due_time as one UTC instant" in note
    # a due_date without a time is the day, in the practice's zone
    day = pd.stored_meaning("activity", "due_date", "datetime", {"due_date": dt.date(2025, 3, 10)})
    assert meaning_note("datetime", VISIT, day) is None
    day = pd.stored_meaning("activity", "due_date", "datetime", {"due_date": dt.date(2025, 3, 9)})
    assert "the source's day in the practice's zone" in str(meaning_note("datetime", VISIT, day))


def test_odoo_reads_a_naive_datetime_as_utc() -> None:
    od = _dest(OdooDestination)
    naive_wall = {"x_time": "2025-03-10 09:00:00"}
    assert meaning_note("datetime", VISIT, od.stored_meaning("crm.lead", "x_time", "datetime",
                                                             naive_wall))
    stored = {"x_time": UTC_VISIT.replace(tzinfo=None).isoformat(" ")}
    assert meaning_note("datetime", VISIT, od.stored_meaning("crm.lead", "x_time", "datetime",
                                                             stored)) is None
    # an invoice's amount is in its currency_id
    row = {"amount_total": Decimal("120.5"), "currency_id": "EUR"}
    got = od.stored_meaning("account.move", "amount_total", "money", row)
    assert meaning_note("money", Decimal("120.50"), got, "EUR") is None
    assert "currency" in str(meaning_note("money", Decimal("120.50"), got, "GBP"))
    assert "amount" in str(meaning_note("money", Decimal("12.05"), got, "EUR"))


def test_salesforce_reads_an_iso_datetime_with_its_offset() -> None:
    sf = _dest(SalesforceDestination)
    marked_z = {"ReminderDateTime": dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)}
    assert meaning_note("datetime", VISIT, sf.stored_meaning("Task", "ReminderDateTime",
                                                             "datetime", marked_z))
    assert meaning_note("datetime", VISIT, sf.stored_meaning(
        "Task", "ReminderDateTime", "datetime", {"ReminderDateTime": UTC_VISIT})) is None
    # the Task's day is the visit's Sydney day, not the UTC one
    assert meaning_note("datetime", VISIT, sf.stored_meaning(
        "Task", "ActivityDate", "datetime", {"ActivityDate": dt.date(2025, 3, 10)})) is None
    assert meaning_note("datetime", VISIT, sf.stored_meaning(
        "Task", "ActivityDate", "datetime", {"ActivityDate": dt.date(2025, 3, 9)}))
    # no CurrencyIsoCode read: the amount alone (the org's one currency)
    got = sf.stored_meaning("Invoice__c", "Amount__c", "money", {"Amount__c": Decimal("80")})
    assert meaning_note("money", Decimal("80.00"), got, "AUD") is None


def test_amounts_compare_to_the_cent_and_dates_as_days() -> None:
    pd = _dest(PipedriveDestination)
    got = pd.stored_meaning("deal", "value", "money", {"value": 10.01, "currency": "AUD"})
    assert meaning_note("money", Decimal("10.005"), got, "AUD") is None  # money rounds half up
    assert meaning_note("money", Decimal("10.005"), got, None) is None  # no source currency
    assert meaning_note("money", Decimal("10.005"), got, "USD")
    born = dt.date(1980, 2, 29)
    assert meaning_note("date", born, pd.stored_meaning(
        "person", "birthday", "date", {"birthday": born})) is None
    assert meaning_note("date", born, pd.stored_meaning(
        "person", "birthday", "date", {"birthday": dt.date(1980, 2, 28)}))
    # text the map wrote a date into has no reading: no meaning check, form rules only
    assert pd.stored_meaning("person", "k", "date", {"k": "29/02/1980"}) is None


class _NoIds:
    def dest_id(self, src_object: str, source_id: str, dest_object: str | None = None) -> None:
        return None

    def owner(self, practitioner_source_id: str | None) -> None:
        return None


def test_stored_as_sent_still_fails_when_the_meaning_moved() -> None:
    """The old Pipedrive fault through ``diff_record``: the destination holds exactly what the
    map sent (the Sydney wall time as due_date + due_time), the trace names the transforms, and
    only the meaning check calls it unexplained, naming the record and both fields."""
    doc = MappingDoc(source="practicehub", destination="pipedrive", objects=[ObjectMap(
        name="visit_activity", source="appointment", target="activity", fields=[
            FieldMap(source="start", target="due_date", transform=[T("date", tz=SYD)]),
            FieldMap(source="start", target="due_time", transform=[T("time", tz=SYD)]),
            FieldMap(source="type_name", target="subject")])])
    [cm] = compile_mapping(doc)
    rec = Appointment(source_id="7", patient_id="1", start=VISIT, status="scheduled",
                      end=VISIT + dt.timedelta(minutes=30), type_name="Check-up")
    stored = dict(cm.build(rec, _NoIds()).payload)  # stored as sent
    assert stored["due_time"] == "09:00"
    before = diff_record(cm, rec, _NoIds(), stored, dest="activity:1")
    assert all(f.explained for f in before)  # what let the fault pass
    pd = _dest(PipedriveDestination)
    after = diff_record(cm, rec, _NoIds(), stored, dest="activity:1",
                        meaning=lambda k, kind, r: pd.stored_meaning("activity", k, kind, r))
    assert {(f.ref, f.field) for f in after if not f.explained} == {
        ("source:appointment:7", "due_date"), ("source:appointment:7", "due_time")}
    # the right payload (989c265: the UTC date and time) passes
    doc.objects[0].fields[0].transform = [T("date", tz="UTC")]
    doc.objects[0].fields[1].transform = [T("time", tz="UTC")]
    [cm] = compile_mapping(doc)
    stored = dict(cm.build(rec, _NoIds()).payload)
    assert all(f.explained for f in diff_record(
        cm, rec, _NoIds(), stored, dest="activity:1",
        meaning=lambda k, kind, r: pd.stored_meaning("activity", k, kind, r)))
