"""Day-first or month-first: an ambiguous date (``07/12/2026``) is read by evidence, never by a
silent guess. Evidence in turn: ``source.dayfirst``; the column's own unambiguous dates; the
row's other dates; the whole export (every file's dates), the practice's country (its phone
numbers' codes) and the system's documented order (Pulse: day-first), when they agree.
Where they do not, the value is left out and the record kept, with a line naming the record,
the field and why."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ferry.sources.clinic_csv import create as clinic
from ferry.sources.pulse import create as pulse

PATIENTS = "Patient ID,First Name,Last Name,DOB,Mobile,Date Created\n"


def _write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".", 1)).write_text(text, encoding="utf-8")
    return folder


def _patients(h, src) -> tuple[dict[str, object], list[object]]:
    recs, errs, _ = h.read_all(src, "patient")
    return {r.source_id: r for r in recs}, errs


def test_another_file_settles_an_ambiguous_birthday(h, tmp_path: Path) -> None:
    """patients.csv holds only ambiguous dates; appointments.csv writes 03/25/2024 (only
    month-first reads it), so the export is month-first: 07/12/1990 is 12 July.
    Before: read day-first by a default (7 December)."""
    d = _write(tmp_path / "x", patients_csv=PATIENTS + "1,Ann,Lee,07/12/1990,,01/02/2020 10:00\n"
               "2,Bo,Ng,05/05/1985,,03/04/2021 09:00\n",
               appointments_csv="Appointment ID,Patient ID,Start Time\n"
               "10,1,03/25/2024 10:00\n11,2,04/30/2024 09:00\n")
    got, errs = _patients(h, clinic({"path": str(d)}, d))
    assert got["1"].date_of_birth == dt.date(1990, 7, 12)
    assert got["1"].created_at.date() == dt.date(2020, 1, 2)
    assert got["2"].date_of_birth == dt.date(1985, 5, 5)  # the same either way: no question
    assert not errs


def test_the_practice_country_settles_it(h, tmp_path: Path) -> None:
    """No date says its order, but every mobile number is a US one (+1): month-first.
    Before: read day-first by a default."""
    d = _write(tmp_path / "x", patients_csv=PATIENTS
               + "1,Ann,Lee,07/12/1990,+1 202 555 0143,\n2,Bo,Ng,,+1 415 555 0199,\n")
    got, errs = _patients(h, clinic({"path": str(d)}, d))
    assert got["1"].date_of_birth == dt.date(1990, 7, 12)
    assert not errs


def test_the_row_settles_a_dirty_row_and_pulse_defaults_day_first(h, tmp_path: Path) -> None:
    """Pulse (day-first by its documentation), an ISO column with dirty local rows: row 1 has
    a 25/11 beside its ambiguous birthday; row 2 has nothing else, and nothing in the export
    says month-first, so day-first."""
    head = "Patient ID,First Name,Last Name,Date of Birth,Created On\n"
    d = _write(tmp_path / "x", patients_csv=head + "1,Ann,Lee,07/12/1990,25/11/2020 10:00\n"
               "2,Bo,Ng,06/02/2011,\n3,Cy,Oh,1970-01-30,2020-01-01 10:00:00\n"
               "4,Di,Pu,1971-02-28,2021-01-01 10:00:00\n5,Ed,Qi,1972-03-30,\n")
    got, errs = _patients(h, pulse({"path": str(d)}, d))
    assert got["1"].date_of_birth == dt.date(1990, 12, 7)
    assert got["2"].date_of_birth == dt.date(2011, 2, 6)
    assert not errs


def test_undecidable_birthday_is_left_out_and_named(h, tmp_path: Path) -> None:
    """Pulse says day-first, yet the export has a month-first row (01/26/2019): a dirty row
    whose dates are all ambiguous cannot be told. Its birthday and stamp are left empty, each
    with a line naming the record and the field (never the value); the record is kept.
    Before: read month-first (the column's only evidence), 2 June instead of 6 February."""
    head = "Patient ID,First Name,Last Name,Date of Birth,Created On\n"
    d = _write(tmp_path / "x", patients_csv=head + "1,Ann,Lee,06/02/2011,01/11/2019 00:26\n"
               "2,Bo,Ng,01/08/1975,01/26/2019 05:15 AM\n3,Cy,Oh,1970-01-30,2020-01-01 10:00:00\n"
               "4,Di,Pu,1971-02-28,2021-01-01 10:00:00\n5,Ed,Qi,1972-03-30,\n")
    got, errs = _patients(h, pulse({"path": str(d)}, d))
    assert got["1"].date_of_birth is None and got["1"].created_at is None
    assert got["2"].date_of_birth == dt.date(1975, 1, 8)  # its own row says month-first
    lines = {(e.ref, e.field): str(e) for e in errs}
    assert set(lines) == {("pulse:patient:1", "date_of_birth"), ("pulse:patient:1", "created_at")}
    why = lines[("pulse:patient:1", "date_of_birth")]
    assert "day and month cannot be told apart" in why and "line 2 column 4" in why
    assert "month-first by dates in the export" in why and "day-first by pulse" in why
    assert all(getattr(e, "kept", False) for e in errs)
    h.assert_no_values(errs, "06/02/2011", "01/11/2019")
    # the user's word settles it
    got, errs = _patients(h, pulse({"path": str(d), "dayfirst": True}, d))
    assert got["1"].date_of_birth == dt.date(2011, 2, 6) and not errs


def test_nothing_says_the_order_so_nothing_is_guessed(h, tmp_path: Path) -> None:
    """A generic export with only ambiguous dates, no country: the birthday is left out (set
    source.dayfirst). Before: read day-first silently. A custom date column keeps the text."""
    d = _write(tmp_path / "x", patients_csv="Patient ID,Last Name,DOB,Last Recall\n"
               "1,Lee,07/12/1990,03/04/2024\n2,Ng,05/05/1985,\n")
    got, errs = _patients(h, clinic({"path": str(d)}, d))
    assert got["1"].date_of_birth is None and got["2"].date_of_birth == dt.date(1985, 5, 5)
    assert got["1"].custom["last_recall"].value == "03/04/2024"
    assert {(e.ref, e.field) for e in errs} == {("clinic_csv:patient:1", "date_of_birth"),
                                               ("clinic_csv:patient:1", "custom.last_recall")}
    assert all("source.dayfirst" in str(e) for e in errs)
    got, errs = _patients(h, clinic({"path": str(d), "dayfirst": False}, d))
    assert got["1"].date_of_birth == dt.date(1990, 7, 12) and not errs


def test_small_pulse_export_never_swaps_a_mixed_patient(h, tmp_path: Path) -> None:
    """The generated Pulse export at 30 patients (seed 31337), after the clinic edits patient
    10001 on 7 December 2026: its row writes every date day-first and ambiguous (06/02/2011,
    01/11/2019 00:26, 07/12/2026 17:37), patient 10022's month-first (06/26/2018). Before, all
    of 10001's were read month-first (birthday 2 June, edited on 12 July). Now each is right
    or left out with a line; every other patient's are right."""
    import csv

    from ferry.sandbox.pulse import write_folder
    from ferry.sandbox.synth import Practice

    folder = tmp_path / "p"
    write_folder(folder, seed=31337, patients=30)
    path = folder / "patients.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    at = rows[0].index("Modified On")
    edited = next(r for r in rows if r[0] == "10001")
    assert edited[at] == "30/06/2020 20:44"  # the one date that settled the row (Amsterdam)
    edited[at] = "07/12/2026 17:37"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)
    got, errs = _patients(h, pulse({"path": str(folder),
                                    "timezone": Practice(31337, 30).timezone}, folder))
    kept = {(e.ref, e.field) for e in errs if getattr(e, "kept", False)}
    assert {("pulse:patient:10001", f) for f in ("date_of_birth", "created_at", "updated_at")} \
        <= kept
    for p in Practice(31337, 30).iter("patient"):
        g = got[p.source_id]
        if (f"pulse:patient:{p.source_id}", "date_of_birth") in kept:
            assert g.date_of_birth is None
        else:
            assert g.date_of_birth == p.date_of_birth, p.source_id
        if g.created_at is not None:
            assert abs(g.created_at - p.created_at) < dt.timedelta(minutes=1), p.source_id
    assert got["10022"].date_of_birth == dt.date(1975, 1, 8)


def test_a_custom_date_column_with_a_compact_cell_still_gives_evidence(h, tmp_path: Path) -> None:
    """Pulse export, Dutch practice (seed 97, 150 patients: patient 10001). The only
    month-first date in the export is a ``Last recall`` cell (12/28/2020) of a custom column
    that also holds a compact ``20250109`` (another dirty row's style); the column was not
    counted as dates, so the export looked day-first and the dirty row's ambiguous birthday
    (11/07/1956, 7 November) was read as 11 July, silently. Now the column's dates count:
    the export shows both orders, the birthday is left out and listed."""
    head = "Patient ID,First Name,Last Name,Date of Birth,Created On,Last recall\n"
    d = _write(tmp_path / "x", patients_csv=head
               + "1,Ann,Lee,11/07/1956,02/04/2020 02:10 PM,12/28/2020\n"
               "2,Bo,Ng,31/07/1955,06/08/2021 17:43,\n"
               "3,Cy,Oh,1970-01-30,2020-01-01 10:00:00,2021-01-24\n"
               "4,Di,Pu,19710228,20210101100000,20250109\n"
               "5,Ed,Qi,1972-03-30,2022-01-01 10:00:00,2023-07-12\n"
               + "".join(f"{i},Fi,Ra,1980-0{i - 5}-2{i - 5},2022-0{i - 5}-01 09:00:00,\n"
                         for i in range(6, 10)))  # mostly ISO, as the generated export
    got, errs = _patients(h, pulse({"path": str(d)}, d))
    assert got["1"].date_of_birth is None  # before: 1956-07-11
    assert got["2"].date_of_birth == dt.date(1955, 7, 31)
    assert got["4"].date_of_birth == dt.date(1971, 2, 28)
    lines = {(e.ref, e.field): str(e) for e in errs}
    why = lines[("pulse:patient:1", "date_of_birth")]
    assert "day and month cannot be told apart" in why
    assert "month-first by dates in the export" in why
    h.assert_no_values(errs, "11/07/1956", "12/28/2020")


def test_an_export_in_both_orders_is_not_told_to_set_dayfirst(h, tmp_path: Path) -> None:
    """The export writes 31/07 (only day-first reads it) and 03/25 (only month-first): an
    ambiguous birthday is left out, and the line no longer says "set source.dayfirst to read
    it", which would misread the rows written the other way. Where nothing in the export says
    an order, that advice stays (test_nothing_says_the_order_so_nothing_is_guessed)."""
    d = _write(tmp_path / "x", patients_csv=PATIENTS + "1,Ann,Lee,07/12/1990,,\n"
               "2,Bo,Ng,31/07/1955,,\n3,Cy,Oh,03/25/1961,,\n")
    got, errs = _patients(h, clinic({"path": str(d)}, d))
    assert got["1"].date_of_birth is None
    [why] = [str(e) for e in errs if e.ref == "clinic_csv:patient:1"]
    assert "set source.dayfirst to read it" not in why
    assert "source.dayfirst would misread the rows written the other way" in why
    assert "check this date in the source system and enter it in the CRM" in why
    h.assert_no_values(errs, "07/12/1990")


def test_generated_pulse_export_seed_97_birthdays_right_or_listed(h, tmp_path: Path) -> None:
    """The generated Pulse export at seed 97 (NL, 150 patients) as ``bench/demo_values.py``
    read it: every patient's birthday is the practice's, or left out with a line."""
    from ferry.sandbox.pulse import write_folder
    from ferry.sandbox.synth import Practice

    folder = tmp_path / "p"
    practice = Practice(97, 150)
    write_folder(folder, seed=97, patients=150)
    got, errs = _patients(h, pulse({"path": str(folder), "timezone": practice.timezone},
                                   folder))
    kept = {(e.ref, e.field) for e in errs if getattr(e, "kept", False)}
    for p in practice.iter("patient"):
        g = got.get(p.source_id)
        if g is None or (f"pulse:patient:{p.source_id}", "date_of_birth") in kept:
            continue
        assert g.date_of_birth == p.date_of_birth, p.source_id
    for p in practice.iter("patient"):  # its other dates too (10001's created: 4 Feb, not 2 Apr)
        g = got.get(p.source_id)
        if g is not None and g.created_at is not None:
            assert abs(g.created_at - p.created_at) < dt.timedelta(minutes=1), p.source_id
