"""A New Zealand practice's appointments exported to Excel: the visit's day in a date cell
(openpyxl reads it as a datetime at midnight), its time of day in a time cell beside it
(``Date`` and ``Start Time``). The two are one moment. Before, the date column did not read
as "a date alone" (``2025-03-09 00:00:00``), so the pair was not made: the first extract refused
every visit (its start, the time column, is no date) and ``ferry map`` then placed ``Date`` on
``start`` and left ``Start Time`` a custom field, so every visit landed at midnight with
sample and reconcile at PASS."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl

from ferry.sources.clinic_csv import create

NZ = ZoneInfo("Pacific/Auckland")


def test_a_date_cell_and_a_time_cell_are_one_visit_start(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Appointments"
    ws.append(["Appointment ID", "Patient ID", "Date", "Start Time", "Duration", "Status"])
    ws.append([1, 2001, dt.datetime(2025, 3, 9), dt.time(14, 30), 30, "Completed"])
    ws.append([2, 2002, dt.datetime(2025, 9, 28), dt.time(9, 0), 45, "Booked"])
    wb.save(tmp_path / "appointments.xlsx")
    src = create({"path": str(tmp_path), "timezone": "Pacific/Auckland"}, tmp_path)
    recs, errs, _ = h.read_all(src, "appointment")
    assert errs == []
    assert [(r.source_id, r.start) for r in sorted(recs, key=lambda r: r.source_id)] == [
        ("1", dt.datetime(2025, 3, 9, 14, 30, tzinfo=NZ)),
        ("2", dt.datetime(2025, 9, 28, 9, 0, tzinfo=NZ))]
    assert all("starttime" not in r.custom and "start_time" not in r.custom for r in recs)
