"""A custom date column written without separators (``Last recall`` = ``20240315``, as many
practice systems export dates) is a date when every cell reads as one. Before, infer_type took
the digits for a whole number: the CRM got a number field holding 20,240,315."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ferry.sources.clinic_csv import create
from ferry.sources.clinic_csv.values import infer_type

PATIENTS = ("Patient ID,Last Name,DOB,Last recall,Recall booked,Chart\r\n"
            "1,Lee,1990-07-12,20240315,20240315143000,20240001\r\n"
            "2,Ng,1985-05-05,20231130,20231130090000,20240002\r\n"
            "3,Roy,1979-11-10,,,20240003\r\n")


def test_a_compact_date_column_is_read_as_dates(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "patients.csv").write_text(PATIENTS, encoding="utf-8")
    src = create({"path": str(tmp_path), "timezone": "Europe/London"}, tmp_path)
    recs, errs, _ = h.read_all(src, "patient")
    assert errs == []
    got = {r.source_id: r.custom for r in recs}
    assert got["1"]["last_recall"].type == "date"
    assert got["1"]["last_recall"].value == dt.date(2024, 3, 15)
    assert got["2"]["last_recall"].value == dt.date(2023, 11, 30)
    assert got["1"]["recall_booked"].type == "datetime"
    assert got["1"]["recall_booked"].value == dt.datetime(
        2024, 3, 15, 14, 30, tzinfo=dt.UTC)  # 14:30 in London in March (GMT)
    # digits that are no date (month 00) stay a whole number
    assert got["1"]["chart"].type == "int" and got["1"]["chart"].value == 20240001


def test_infer_type_needs_every_cell_to_agree() -> None:
    assert infer_type(["20240315", "20231130"])[0] == "date"
    assert infer_type(["20240315", "20241399"])[0] == "int"  # one cell no date: a number
    assert infer_type(["12345678", "20240315"])[0] == "int"
    assert infer_type(["20240315143000"])[0] == "datetime"
