"""An export with City, State and ZIP columns and no Country: its addresses name the practice's
country, and its ambiguous dates (``03/04/1990``) take that country's order. A US front desk's
local numbers name no country, so nothing did: every such birthday was left out and listed
("nothing in the export says which order its dates are in"); with two UK patients' ``+44``
numbers, the UK's day-first order was taken."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ferry.sources.clinic_csv import create

PATIENTS = """Patient ID,First Name,Last Name,DOB,Cell Phone,City,State,ZIP
1,Ann,Lee,03/04/1990,(312) 555-0143,Chicago,IL,60601
2,Bo,Ng,05/06/1985,(415) 555-0199,San Francisco,CA,94110
3,Cy,Oh,11/10/1979,+44 7700 900123,New York,NY,10001
4,Di,Pu,,+44 20 7946 0958,Austin,TX,78701
"""


def _read(h, tmp_path: Path, text: str, **settings: str) -> tuple[dict[str, dt.date], object]:
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    (folder / "patients.csv").write_text(text, encoding="utf-8")
    src = create({"path": str(folder), **settings}, tmp_path)
    recs, errs, _ = h.read_all(src, "patient")
    assert not errs
    return {r.source_id: r.date_of_birth for r in recs}, src


def test_state_and_zip_order_the_dates(h, tmp_path: Path) -> None:
    got, src = _read(h, tmp_path, PATIENTS)
    assert got == {"1": dt.date(1990, 3, 4), "2": dt.date(1985, 5, 6),
                   "3": dt.date(1979, 11, 10), "4": None}  # before: 3 April, 5 June, 11 Oct
    ev = src.date_evidence()  # type: ignore[attr-defined]
    assert ev.region == "US" and "states and postcodes" in ev.region_from


def test_no_vote_without_agreement_or_with_a_country_column(h, tmp_path: Path) -> None:
    mixed = PATIENTS.replace("Austin,TX,78701", "Sydney,NSW,2000").replace(
        "New York,NY,10001", "Melbourne,VIC,3000")  # 2 US, 2 AU: no country is the file's
    _, src = _read(h, tmp_path, mixed)
    assert src.date_evidence().region != "US"  # type: ignore[attr-defined]
    head, *rows = PATIENTS.splitlines()
    with_country = "\n".join([f"{head},Country", *(f"{r}," for r in rows)]) + "\n"
    _, src = _read(h, tmp_path, with_country)
    assert src.date_evidence().region == "GB"  # type: ignore[attr-defined] # as before
