"""Generic clinic export reader: sniffing, dates, XLSX, audit, resume, and malformed input."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from ferry.sources.clinic_csv import create
from ferry.sources.clinic_csv.audit import audit_references

HEADER = "Patient ID,First Name,Last Name,DOB,Email,Notes\r\n"
ROWS = ["1,Ann,Lee,25/03/1980,ann@x.org,plain",
        "2,Bob,Smith,03/04/1990,bob@x.org,\"with, comma\"",
        "3,Cé,Dúo,01/12/2001,ce@x.org,\"two\r\nlines\""]


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(text.encode(encoding))
    return p


def source(folder: Path, **kw: object):  # noqa: ANN201
    return create({"path": str(folder), **kw}, folder)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
def test_encodings_detected(h, tmp_path: Path, encoding: str) -> None:
    write(tmp_path, "patients.csv", HEADER + "\r\n".join(ROWS) + "\r\n", encoding)
    recs, errs, _ = h.read_all(source(tmp_path), "patient")
    assert errs == []
    assert [r.source_id for r in recs] == ["1", "2", "3"]
    assert recs[2].first_name == "Cé" and recs[2].last_name == "Dúo"
    assert recs[0].date_of_birth == dt.date(1980, 3, 25)  # day-first by evidence (25 > 12)
    assert recs[1].date_of_birth == dt.date(1990, 4, 3)
    assert recs[2].notes == "two\nlines"


@pytest.mark.parametrize("delim", [";", "\t", "|"])
def test_delimiter_and_preamble(h, tmp_path: Path, delim: str) -> None:
    body = "\n".join(r.replace(",", delim).replace('"with' + delim + ' comma"', '"with, comma"')
                     for r in ROWS[:2])
    text = f"Clinic export\nGenerated 2024-01-01\n\n{HEADER.strip().replace(',', delim)}\n{body}\n"
    write(tmp_path, "patients.csv", text)
    src = source(tmp_path)
    plan = src.plans()[0]
    assert plan.table.delimiter == delim and plan.table.header_line == 4
    recs, errs, _ = h.read_all(src, "patient")
    assert errs == [] and [r.last_name for r in recs] == ["Lee", "Smith"]


def test_month_first_column_and_types(h, tmp_path: Path) -> None:
    write(tmp_path, "appointments.csv",
          "id,patient_id,date,status,fee,paid,visits\n"
          "1,7,12/31/2024 09:30,Completed,\"1,200.50\",yes,3\n"
          "2,7,01/02/2025 10:00,No-Show,\u20b9 80,no,4\n")
    recs, errs, _ = h.read_all(source(tmp_path), "appointment")
    assert errs == []
    assert recs[0].start == dt.datetime(2024, 12, 31, 9, 30, tzinfo=dt.UTC)
    assert recs[1].start == dt.datetime(2025, 1, 2, 10, 0, tzinfo=dt.UTC)  # month-first column
    assert [r.status for r in recs] == ["completed", "no_show"]
    assert recs[0].fee == Decimal("1200.50") and recs[1].fee == Decimal("80")
    assert recs[0].custom["paid"].type == "bool" and recs[0].custom["visits"].value == 3


def test_xlsx_and_settings_override(h, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Clients"
    ws.append(["Report of clients"])
    ws.append([])
    ws.append(["Client No", "Given", "Surname", "Birthday", "Colour"])
    ws.append([10, "Ann", "Lee", dt.datetime(1980, 3, 25), "blue"])
    ws.append([11, "Bob", "Ray", dt.datetime(1990, 4, 3), "red"])
    wb.save(tmp_path / "export.xlsx")
    src = source(tmp_path, files={"export.xlsx": "patient"},
                 columns={"patient": {"Client No": "source_id", "Colour": None}})
    recs, errs, _ = h.read_all(src, "patient")
    assert errs == []
    assert [(r.source_id, r.first_name, r.date_of_birth) for r in recs] == [
        ("10", "Ann", dt.date(1980, 3, 25)), ("11", "Bob", dt.date(1990, 4, 3))]
    assert recs[0].custom["colour"].value == "blue"
    info = {o.name: o for o in src.describe()}
    assert info["patient"].count == 2
    assert info["patient"].field("custom.Colour").custom


def test_cross_file_audit_reports_orphans(h, tmp_path: Path) -> None:
    write(tmp_path, "patients.csv", HEADER + "\n".join(ROWS[:2]) + "\n")
    write(tmp_path, "appointments.csv", "id,patient_id,start,status\n1,1,2024-01-01 10:00,done\n"
          "2,99,2024-01-02 10:00,booked\n")
    write(tmp_path, "bills.csv", "bill_id,patient_id,amount,status\n5,2,10,Paid\n6,98,5,Paid\n")
    checks = {(c.object, c.field): c for c in audit_references(source(tmp_path))}
    appt = checks[("appointment", "patient_id")]
    assert (appt.checked, appt.orphans, appt.examples) == (2, 1, ["clinic_csv:appointment:2"])
    assert checks[("invoice", "patient_id")].orphans == 1


def test_checkpoint_resume_reads_every_row_once(h, tmp_path: Path) -> None:
    rows = [f"{i},F{i},L{i},01/02/1990,p{i}@x.org,n" for i in range(1, 51)]
    write(tmp_path, "patients.csv", HEADER + "\n".join(rows) + "\n")
    src = source(tmp_path, page_size=7)
    _, _, pages = h.read_all(src, "patient")
    assert len(pages) > 5
    cp = pages[2].checkpoint  # "killed" after the third page
    again, _, _ = h.read_all(source(tmp_path, page_size=7), "patient", checkpoint=cp)
    first = [r.source_id for p in pages[:3] for r in p.records]
    assert first + [r.source_id for r in again] == [str(i) for i in range(1, 51)]
    assert json.loads(cp)["offset"] > 0


def test_a_delta_read_gives_every_row_whatever_its_stamp(h, tmp_path: Path) -> None:
    """A newer export is compared with the staged records by content: a row whose modified
    stamp reads earlier than the last read (naive local time read as UTC, a stamp to the
    minute) may still have changed, so a read with ``since`` keeps it. Before, only rows
    stamped at or after ``since`` came back (a Pulse export's edited patient was lost)."""
    write(tmp_path, "patients.csv", "id,first_name,updated\n1,A,2024-01-01 00:00\n"
          "2,B,2025-03-01 00:00\n3,C,\n")
    recs, _, pages = h.read_all(source(tmp_path), "patient",
                                since=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert [r.source_id for r in recs] == ["1", "2", "3"]
    assert pages[-1].complete_listing and pages[-1].listed_ids == ["1", "2", "3"]


def test_malformed_input_is_reported_and_good_rows_load(h, tmp_path: Path) -> None:
    lines = [
        "Patient ID,First Name,Last Name,DOB,Email,Email",  # duplicate header name (line 1)
        "1,Ann,Lée,25/03/1980,ann@x.org,a2@x.org",  # UTF-8 file...
        '2,"Sec"ret,Smith,03/04/1990,,',  # stray quote in column 2 (line 3)
        "3,Cat,Ray,31/31/2000,,",  # impossible date in column 4 (line 4)
        "4,Dan,Moe,01/01/2001,,",
        '5,"Unclosed,Bad,01/01/2001,,',  # quote never closed (line 6)
        "6,Eve,Fox,02/02/2002,,",
        "7,Fay,Gum,03/03/2003,,,extra",  # too many cells (line 8)
    ]
    raw = ("\n".join(lines) + "\n").encode()
    raw += "8,Gil,Hé,04/04/2004,,\n".encode("cp1252")  # ...with a cp1252 line (line 9)
    raw += b"9,Hal,Ivy,05/05/2005,,\n10,Ida,Jo"  # truncated last row (line 11)
    (tmp_path / "patients.csv").write_bytes(raw)
    recs, errs, _ = h.read_all(source(tmp_path), "patient")
    # the impossible date loses only its field: record 3 is kept with no date of birth
    assert sorted(int(r.source_id) for r in recs) == [1, 3, 4, 6, 9]
    assert next(r for r in recs if r.source_id == "3").date_of_birth is None
    got = h.where(errs)
    assert ("patients.csv", 1, 6) in got  # duplicate column
    assert ("patients.csv", 3, 2) in got
    assert ("patients.csv", 4, 4) in got
    assert ("patients.csv", 6, 2) in got
    assert ("patients.csv", 8, 7) in got
    assert ("patients.csv", 9, 3) in got
    assert ("patients.csv", 11, 4) in got
    assert len(errs) == 7
    assert recs[0].custom["email_2"].value == "a2@x.org"  # the duplicate column is kept
    h.assert_no_values(errs, "Sec", "ret", "Unclosed", "31/31/2000", "extra", "Gil", "Ida")
    for e in errs:
        assert e.ref.startswith("clinic_csv:patient:")
    kept = [e for e in errs if getattr(e, "kept", False)]
    assert [(e.ref, e.field) for e in kept] == [("clinic_csv:patient:3", "date_of_birth")]
