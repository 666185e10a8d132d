"""The generated clinic CSV and Pulse exports write the practice's wall time with no zone, as a
front desk's export does, and Ferry reads them back in ``source.timezone`` to the same instants.
Before, both wrote UTC, which no real export does, so no test or demo met a naive local time in
them, nor the hour the clocks repeat. A US and an Australian practice, each with two
appointments moved onto the second pass of its last repeated hour: one whose end (after that
hour) and length say which pass it was (read right, nothing listed), one that nothing decides
(read as the first pass by the stated rule, listed: record and field, never the value)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ferry.connectors import walltime
from ferry.sandbox.clinic_export import write_clinic_export
from ferry.sandbox.cutover import Changed, Plan
from ferry.sandbox.practicehub.state import _clock_changes
from ferry.sandbox.pulse.export import write_export
from ferry.sandbox.synth import Practice
from ferry.sandbox.synth.people import REF_NOW
from ferry.sources.clinic_csv import create as clinic_csv
from ferry.sources.pulse import create as pulse

#: (source, its appointment file, the start column, the id column) per export
EXPORTS = {"clinic_csv": ("appointments.xlsx", "Start Time", "Appointment ID"),
           "pulse": ("appointments.csv", "Appointment Date", "Appointment ID")}


def _practice(seed: int) -> tuple[Changed, str, str]:
    """The practice with two appointments on the second pass of its last repeated hour."""
    base = Practice(seed, 8)
    back, _ = _clock_changes(ZoneInfo(base.timezone), REF_NOW)
    assert back is not None
    appts = [a for a in base.iter("appointment") if a.patient_id][:2]
    plan = Plan(sets=[
        ("appointment", appts[0].source_id, {  # 01:15-02:00 on the second pass
            "start": back + dt.timedelta(minutes=15), "end": back + dt.timedelta(minutes=60),
            "duration_minutes": 45}),
        ("appointment", appts[1].source_id, {  # 01:10-01:30 on the second pass
            "start": back + dt.timedelta(minutes=10), "end": back + dt.timedelta(minutes=30),
            "duration_minutes": 20})])
    return Changed(base, plan), appts[0].source_id, appts[1].source_id


def _cells(source: str, folder: Path) -> dict[str, str]:
    name, col, id_col = EXPORTS[source]
    if name.endswith(".xlsx"):
        import openpyxl

        rows = list(openpyxl.load_workbook(folder / name).active.iter_rows(values_only=True))
        head = list(rows[2])
        return {str(r[head.index(id_col)]).strip(): str(r[head.index(col)]).strip()
                for r in rows[3:] if r[head.index(id_col)]}
    with (folder / name).open(encoding="utf-8-sig", newline="") as fh:
        return {r[id_col].strip(): r[col].strip() for r in csv.DictReader(fh)
                if r.get(col) is not None}


@pytest.mark.parametrize("source", sorted(EXPORTS))
@pytest.mark.parametrize("seed", [4, 31])  # America/Los_Angeles, Australia/Sydney
def test_exports_write_wall_time_and_read_back_in_the_zone(h: Any, tmp_path: Path, seed: int,
                                                           source: str) -> None:
    practice, decided, undecided = _practice(seed)
    zone = ZoneInfo(practice.timezone)
    folder = tmp_path / source
    (write_clinic_export if source == "clinic_csv" else write_export)(folder, practice)
    truth = {a.source_id: a for a in practice.iter("appointment")}
    cells = _cells(source, folder)
    plain = next(sid for sid, a in truth.items() if sid in cells and sid not in (
        decided, undecided) and practice.date_format("appointment", sid, "start") is None)
    # the practice's wall time, no zone (before: UTC)
    assert cells[plain] == truth[plain].start.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    assert cells[decided][11:13] == cells[undecided][11:13]  # the same clock hour, twice over

    src = (clinic_csv if source == "clinic_csv" else pulse)(
        {"path": str(folder), "timezone": practice.timezone}, folder)
    recs, errs, _ = h.read_all(src, "appointment")
    got = {r.source_id: r for r in recs}
    listed = {(e.ref.split(":")[-1], getattr(e, "field", None)) for e in errs
              if getattr(e, "kept", False) and "the clocks went" in e.reason}
    assert got[decided].start == truth[decided].start  # the end and length decide the pass
    assert (decided, "start") not in listed
    assert got[undecided].start == truth[undecided].start - dt.timedelta(hours=1)  # the rule
    assert {(undecided, "start"), (undecided, "end")} <= listed
    h.assert_no_values(errs, cells[undecided])
    for sid, rec in got.items():  # every other time reads back as the practice holds it
        for name in ("start", "end", "created_at"):
            want = getattr(truth[sid], name)
            if want is None or (sid, name) in listed:
                continue
            if source == "pulse" and practice.date_format("appointment", sid, name):
                continue  # a patient's local style may drop the seconds
            assert getattr(rec, name) == want, (sid, name)
    for sid, name in listed:  # and each listed one is a clock time that was truly unsure
        wall = getattr(truth[sid], name).astimezone(zone).replace(tzinfo=None)
        assert walltime.unsure(wall, zone) is not None, (sid, name)
