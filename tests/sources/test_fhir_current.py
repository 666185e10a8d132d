"""A patient as a real Bulk export writes it (HL7 FHIR R4 Patient: several names, contact points
and addresses, each with its ``use`` and ``period``), hand-written, not the sandbox's: the
patient moved (the first address is ``use: old``, its period ended), has a nickname listed
before the official name, gave up a number, and died. Before, the first address was read (the
old one), the old number kept, and ``deceasedDateTime`` not read at all: the recipes' Date of
death was never filled. Sample and reconcile compare with what was staged, so none showed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from ferry.sources.fhir_bulk import create

PATIENT = {
    "resourceType": "Patient", "id": "pat-1", "active": True,
    "name": [{"use": "nickname", "given": ["Ari"]},
             {"use": "old", "family": "Smith", "given": ["Aroha"],
              "period": {"end": "2010-01-01"}},
             {"use": "official", "family": "Te Whiu", "given": ["Aroha", "Mere"]}],
    "telecom": [{"system": "phone", "value": "07 838 0000", "use": "old"},
                {"system": "phone", "value": "021 234 5678", "use": "mobile",
                 "period": {"start": "2019-05-01"}},
                {"system": "phone", "value": "09 379 4567", "use": "home"}],
    "gender": "female", "birthDate": "1944-11-05",
    "deceasedDateTime": "2024-05-01T23:30:00+12:00",
    "address": [{"use": "old", "line": ["1 Old Rd"], "city": "Hamilton", "postalCode": "3204",
                 "country": "NZ", "period": {"end": "2020-01-01"}},
                {"use": "work", "line": ["5 Office Pl"], "city": "Auckland", "country": "NZ"},
                {"use": "home", "line": ["12 Queen Street", "Ponsonby"], "city": "Auckland",
                 "postalCode": "1011", "country": "NZ"}]}
ONLY_OLD = {"resourceType": "Patient", "id": "pat-2", "name": [{"family": "Vos"}],
            "address": [{"use": "old", "line": ["9 Gone St"], "city": "Napier"}]}


def test_the_current_name_number_and_address_and_the_date_of_death(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "Patient.000.ndjson").write_text(
        json.dumps(PATIENT) + "\n" + json.dumps(ONLY_OLD) + "\n")
    src = create({"mode": "folder", "path": str(tmp_path)}, tmp_path / "work")
    recs, errs, _ = h.read_all(src, "patient")
    assert errs == []
    got = {r.source_id: r for r in recs}
    p = got["pat-1"]
    assert (p.first_name, p.last_name) == ("Aroha Mere", "Te Whiu")
    assert (p.street, p.street2, p.city, p.postcode) == ("12 Queen Street", "Ponsonby",
                                                         "Auckland", "1011")
    assert (p.phone, p.mobile) == ("09 379 4567", "021 234 5678")
    assert p.deceased_date == dt.date(2024, 5, 1)
    # every address given up: the last one known is kept rather than none
    assert (got["pat-2"].street, got["pat-2"].city) == ("9 Gone St", "Napier")


def test_a_birth_date_no_calendar_has_is_listed_not_dropped(h, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # 1980-02-31 had gone, unlisted, into a custom "Birth date (partial)" field that no map
    # writes (hphi2); a partial date (1980-03) is still kept as that custom text
    rows = [{"resourceType": "Patient", "id": "p-bad", "name": [{"family": "Ngata"}],
             "birthDate": "1980-02-31"},
            {"resourceType": "Patient", "id": "p-part", "name": [{"family": "Vos"}],
             "birthDate": "1980-03"}]
    (tmp_path / "Patient.000.ndjson").write_text("".join(json.dumps(r) + "\n" for r in rows))
    src = create({"mode": "folder", "path": str(tmp_path)}, tmp_path / "work")
    recs, errs, _ = h.read_all(src, "patient")
    got = {r.source_id: r for r in recs}
    assert got["p-bad"].date_of_birth is None and "birth_date_partial" not in got["p-bad"].custom
    [err] = errs
    assert err.ref.endswith(":p-bad") and err.field == "date_of_birth"
    assert getattr(err, "kept", False) and "1980" not in str(err)
    assert got["p-part"].custom["birth_date_partial"].value == "1980-03"
