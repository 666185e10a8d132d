"""An export's Country column names the practice's country however it is written
(``Deutschland``, ``USA``, ``U.S.A.``: ``ferry.model.countries``), and its ambiguous dates
(``03/04/1981``) take that country's order. A German practice's export with local numbers
(``0151 23456789``, no ``+49``) said nothing the reader understood: every such birthday was
left out and listed ("nothing in the export says which order its dates are in")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ferry.sources.clinic_csv import create

HEAD = "Patient ID,First Name,Last Name,DOB,Mobile,City,Country\n"
DE = ("1,Jürgen,Müller,03/04/1981,0151 23456789,Berlin,Deutschland\n"
      "2,Anna,Bäumer,05/06/1975,0170 1234567,München,Deutschland\n"
      "3,Karl,Weiß,07/08/1990,0160 9876543,Hamburg,DEUTSCHLAND\n")
US = ("4,Ann,Lee,03/04/1981,(312) 555-0143,Chicago,USA\n"
      "5,Bo,Ng,05/06/1975,(415) 555-0199,San Francisco,U.S.A.\n"
      "6,Cy,Oh,07/08/1990,(212) 555-0100,New York,United States of America\n")


def _read(h, tmp_path: Path, text: str) -> tuple[dict[str, dt.date | None], object]:  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    (folder / "patients.csv").write_text(text, encoding="utf-8")
    src = create({"path": str(folder)}, tmp_path)
    recs, _, _ = h.read_all(src, "patient")
    return {r.source_id: r.date_of_birth for r in recs}, src


def test_a_country_column_in_the_practice_s_language_orders_the_dates(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got, src = _read(h, tmp_path, HEAD + DE)
    assert got == {"1": dt.date(1981, 4, 3), "2": dt.date(1975, 6, 5),
                   "3": dt.date(1990, 8, 7)}  # before: all three left out
    ev = src.date_evidence()  # type: ignore[attr-defined]
    assert ev.region == "DE" and "country column" in ev.region_from


def test_the_us_written_three_ways(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got, src = _read(h, tmp_path, HEAD + US)
    assert got == {"4": dt.date(1981, 3, 4), "5": dt.date(1975, 5, 6),
                   "6": dt.date(1990, 7, 8)}
    assert src.date_evidence().region == "US"  # type: ignore[attr-defined]


def test_no_country_without_agreement(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    got, src = _read(h, tmp_path, HEAD + DE + US)
    assert src.date_evidence().region is None  # type: ignore[attr-defined]
    assert got["1"] is None  # never guessed: left out and listed, as before
