"""Every patient's and practitioner's phone as the map builds it, against the generated
practice's truth: the number parsed in the numbering plan of where the person really is (their
own address, else their clinic's). Sample and reconcile compare the destination with the staged
records, so a number read in the wrong plan before or while staging passes both (issue: phones
landed with the wrong country code while both said PASS). Seed 23: a Spanish practice with
British and Dutch clinics; Pulse's API exports no clinics, and the clinic CSV export holds some
patients' whole address in "Address 1"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from ferry.engine import pipeline as P
from ferry.mapping.mapping_file import load
from ferry.mapping.phones import record_country

from .setup_pair import make_pair


class Lookup:
    def dest_id(self, *args: Any, **kw: Any) -> str:
        return "1"

    def owner(self, *args: Any) -> None:
        return None

    def label(self, *args: Any) -> str:
        return ""


def _truth(practice: Any) -> dict[tuple[str, str], set[str]]:
    clinics = {c.source_id: record_country(c) for c in practice.iter("clinic")}
    out: dict[tuple[str, str], set[str]] = {}
    for obj in ("patient", "practitioner"):
        for r in practice.iter(obj):
            plan = record_country(r) or clinics.get(r.clinic_id)
            numbers = set()
            for text in (getattr(r, "phone", None), getattr(r, "mobile", None)):
                try:
                    num = phonenumbers.parse(text or "", plan)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(num):
                    numbers.add(phonenumbers.format_number(num,
                                                           phonenumbers.PhoneNumberFormat.E164))
            out[(obj, r.source_id)] = numbers
    return out


def _e164(payload: dict[str, Any]) -> set[str]:
    return {x for v in payload.values() for x in (v if isinstance(v, list) else [v])
            if isinstance(x, str) and x.startswith("+") and x[1:].isdigit()}


@pytest.mark.parametrize("source", ["practicehub", "pulse", "clinic_csv"])
def test_phones_are_read_in_the_plan_of_where_the_person_is(tmp_path: Path, source: str) -> None:
    with make_pair(tmp_path / "p", destination="salesforce", source=source, seed=23,
                   patients=60, env_prefix="FERRY_PHONETRUTH_") as pair:
        project = pair.project
        P.run_extract(project)
        truth = _truth(pair.practice)
        assert {record_country(c) for c in pair.practice.iter("clinic")} >= {"ES", "GB", "NL"}
        wrong, missing, checked = [], [], 0
        for cm in project.compile(load(project.mapping_path), need_keys=False):
            if cm.om.mode != "record" or cm.om.source not in ("patient", "practitioner"):
                continue
            for rec in project.store.iter_records(cm.om.source):
                want = truth[(cm.om.source, rec.source_id)]
                got = _e164(cm.build(rec, Lookup()).payload or {})
                checked += 1
                if got - want:
                    wrong.append((cm.om.name, rec.source_id))
                elif want - got:
                    missing.append((cm.om.name, rec.source_id))
        assert checked >= 60
        assert wrong == [] and missing == []
