"""``ferry map`` on a British front desk's hand-written export (hout3, 8 December; the values
are tests/sources/test_outside_hand_exports.py): the patients' ``Patient No`` that the
bookings link by is the patients' key, and an ``End`` of times beside ``Date`` and ``Start`` is
the end's time of day. Before, the map sent both to review (the vocabulary named them
``patient_number`` and ``end``): every booking was skipped for a patient "with no destination
record", and Salesforce refused every visit for want of its end."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.mapping.columns import propose_for_source
from ferry.sources.clinic_csv import create

#: names and profiles only (tests/mapping/conftest.py)
pytestmark = pytest.mark.usefixtures("no_embedding")

PATIENTS = ("Patient No,NHS Number,Title,Forename,Surname,DOB,Mobile\n"
            "P0001,943 476 5919,Mrs,Siobhan,Ní Bhriain,03/04/1981,07911 123456\n"
            "P0002,9434765870,Mr,Gareth,ap Rhys,25/12/1975,+44 7400 123456\n"
            "P0003,401 023 2137,Dr,Amara,Okonkwo-Smith,01/02/1960,(07802) 345678\n")
APPOINTMENTS = ("Appt No,Patient No,Date,Start,End,Clinician,Type,Status,Fee\n"
                'A1,P0001,03/04/2025,14:30,15:15,Dr Patel,Initial Assessment,Attended,"£1,234.50"\n'
                "A2,P0002,30/03/2025,09:00,09:30,Dr Patel,Follow-up,DNA,£45.00\n"
                "A3,P0003,26/10/2025,11:30,12:00,Dr Jones,Follow-up,Cancelled,£0.00\n")


def test_a_british_desks_patient_no_and_end_times_are_placed(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Patients.csv").write_text(PATIENTS, encoding="utf-8")
    (folder / "Appointments.csv").write_text(APPOINTMENTS, encoding="utf-8")
    src = create({"path": str(folder), "timezone": "Europe/London"}, tmp_path)
    got = {(p.object, p.column): (p.target, p.status) for p in propose_for_source(src, {})}
    assert got[("patient", "Patient No")] == ("source_id", "proposed")
    assert got[("appointment", "Patient No")] == ("patient_id", "proposed")
    assert got[("appointment", "Start")] == ("_start_time", "proposed")
    assert got[("appointment", "End")] == ("_end_time", "proposed")
    assert got[("patient", "NHS Number")] == ("national_id", "proposed")
