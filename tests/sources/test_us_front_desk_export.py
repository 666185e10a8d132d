"""A US clinic's own export, written the way a front desk exports it: month-first dates, a
separate 12-hour time column, phones without +1, dollars with thousands separators. Its times
are the practice's wall time with no offset: without ``source.timezone`` every appointment would
be stored hours early, and nothing downstream (sample, reconcile) could tell, since they compare
with what was staged. ``ferry check`` refuses until the zone is set."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from ferry.sources.clinic_csv import create

PATIENTS = """Patient ID,First Name,Last Name,DOB,Cell Phone,Email,City,State,ZIP
1001,Ann,Example,07/04/1962,(415) 823-4567,ann@example.com,San Francisco,CA,94110
1002,Bob,Sample,03/09/1975,(212) 736-5000,bob@example.com,New York,NY,10001
1003,Cy,Test,12/25/1990,650.253.0000,cy@example.com,Palo Alto,CA,94301
"""
APPOINTMENTS = """Appt ID,Patient ID,Appt Date,Appt Time,Duration,Charge,Status
5001,1001,03/09/2025,2:30 PM,30,"$1,250.00",Completed
5002,1002,11/02/2025,1:30 AM,45,$95.00,Scheduled
5003,1003,01/06/2025,9:00 AM,20,$120.50,Completed
"""


def export(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Patients.csv").write_text(PATIENTS)
    (folder / "Appointments.csv").write_text(APPOINTMENTS)
    return folder


def test_check_refuses_naive_times_until_the_practice_zone_is_set(tmp_path: Path) -> None:
    folder = export(tmp_path / "export")
    items = {i.name: i for i in create({"path": str(folder)}, tmp_path).check()}
    zone = items["practice time zone"]
    assert zone.status == "FAIL"
    assert "Appointments.csv: Appt Time" in zone.detail and "source.timezone" in zone.fix
    # said once set, whatever the zone (UTC included: the user's word)
    for tz in ("America/New_York", "UTC"):
        items = {i.name: i for i in create({"path": str(folder), "timezone": tz},
                                           tmp_path).check()}
        assert "practice time zone" not in items
        assert all(i.ok for i in items.values())


def test_times_with_an_offset_need_no_zone(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Appointments.csv").write_text(
        "Appt ID,Patient ID,Start\n1,1001,2025-03-09T14:30:00-04:00\n2,1002,2025-03-10 09:00Z\n")
    items = {i.name: i for i in create({"path": str(folder)}, tmp_path).check()}
    assert "practice time zone" not in items


def test_a_us_front_desk_export_reads_in_the_practice_zone(h, tmp_path: Path) -> None:
    folder = export(tmp_path / "export")
    src = create({"path": str(folder), "timezone": "America/New_York"}, tmp_path)
    pats, errs, _ = h.read_all(src, "patient")
    assert errs == []
    by = {p.source_id: p for p in pats}
    assert by["1001"].date_of_birth == dt.date(1962, 7, 4)  # month-first (12/25 settles it)
    assert by["1002"].date_of_birth == dt.date(1975, 3, 9)
    appts, errs, _ = h.read_all(src, "appointment")
    # 1:30 AM on 2 November 2025 happened twice in New York (the clocks went back at 2:00):
    # read as the first time round (EDT) and listed, record and field, never the value
    assert [(e.ref, e.field, getattr(e, "kept", False)) for e in errs] == [
        ("clinic_csv:appointment:5002", "start", True)]
    assert "went back" in errs[0].reason and "1:30" not in str(errs[0])
    at = {a.source_id: a for a in appts}
    utc = dt.UTC
    assert at["5002"].start == dt.datetime(2025, 11, 2, 5, 30, tzinfo=utc)
    # the day US clocks go forward: 2:30 PM is EDT (UTC-4)
    assert at["5001"].start.astimezone(utc) == dt.datetime(2025, 3, 9, 18, 30, tzinfo=utc)
    assert at["5003"].start.astimezone(utc) == dt.datetime(2025, 1, 6, 14, 0, tzinfo=utc)
    assert at["5001"].fee == Decimal("1250.00") and at["5003"].fee == Decimal("120.50")


def test_dollars_as_australian_and_american_exports_write_them(h, tmp_path: Path) -> None:
    """"A$" / "AU$" (an Australian practice's dollars) and "US$" were not numbers: the fee was
    left empty and the visit kept without it."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Appointments.csv").write_text(
        "Appt ID,Patient ID,Date,Fee\n1,1001,2025-03-10,A$120.50\n2,1001,2025-03-11,\"AU$1,095.00\"\n"
        "3,1001,2025-03-12,US$95\n4,1001,2025-03-13,$80.00\n")
    appts, errs, _ = h.read_all(create({"path": str(folder)}, tmp_path), "appointment")
    assert errs == []
    assert [a.fee for a in appts] == [Decimal("120.50"), Decimal("1095.00"), Decimal("95"),
                                      Decimal("80.00")]
