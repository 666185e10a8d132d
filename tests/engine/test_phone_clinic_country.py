"""A practitioner's phone is read in the numbering plan of the practitioner's own clinic, not
the practice's: ``ferry demo --seed 23`` (500 patients, a Spanish practice with a clinic in
Britain and one in the Netherlands) left the phones of 3 of 12 practitioners empty in
Salesforce — '07728 214068' read in the ES plan is no number — and ``--seed 7`` (a US
practice with Dutch clinics) did the same to the Dutch ones (hpairs, 7 December). A record
without an address of its own (a practitioner; a patient with none) has its clinic's country.

``phones.record_country`` falls back to the record's clinic (``Project.clinic_countries``), in
the map's transform and in the audit's findings alike.
"""

from __future__ import annotations

from pathlib import Path

import phonenumbers

from ferry.engine import pipeline as P

from .setup_pair import approve_phi, make_pair

SEED, PATIENTS = 23, 12  # clinics: 1 ES, 2 GB, 3 NL; the practice's country: ES


def test_practitioner_phones_in_their_clinics_plan(tmp_path: Path) -> None:
    with make_pair(tmp_path / "proj", destination="salesforce", seed=SEED, patients=PATIENTS,
                   env_prefix="FERRY_CLINICPHONE_") as pair:
        proj = pair.project
        P.run_extract(proj)
        assert proj.phone_region == "ES"
        P.run_prepare(proj)
        approve_phi(proj)
        P.load(proj)
        clinics = {c.source_id: c.country for c in pair.practice.iter("clinic")}
        want, ids = {}, {}
        for pr in pair.practice.iter("practitioner"):
            country = clinics[pr.clinic_id]  # type: ignore[attr-defined]
            num = phonenumbers.parse(pr.phone, country)  # type: ignore[attr-defined]
            assert phonenumbers.is_valid_number(num), pr.source_id  # valid where it is
            want[pr.source_id] = phonenumbers.format_number(
                num, phonenumbers.PhoneNumberFormat.E164)
            ids[pr.source_id] = proj.store.dest_id("practitioner", pr.source_id, "Contact")
        assert {clinics[pr.clinic_id] for pr in pair.practice.iter("practitioner")} > {"ES"}  # type: ignore[attr-defined]
        dest = P.open_destination(proj)
        try:
            got = dest.read("Contact", [d for d in ids.values() if d], ["Phone"])
        finally:
            dest.close()
        stored = {sid: (got.get(d) or {}).get("Phone") for sid, d in ids.items() if d}
        assert stored == {sid: want[sid] for sid in stored}
        left_out = [s.ref for s in proj.store.skips() if s.ref.startswith("source:practitioner")
                    and "phone number" in s.reason]
        assert left_out == []
