"""``bench/demo_values.py`` on a merged duplicate and on a value extract listed. At seed 97
(150 patients) patient 10099 is a planted duplicate of 10083 (same email); the run merges them
and fills the survivor's empty phone from 10099. The bench called it 'a number not the person's'
in every pair (5 runs, --delta); it is the same person's. A birthday PracticeHub gave in a
local shape is left out and listed by ``ferry extract``; the bench counted it as lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ferry.mapping.phones import record_country
from ferry.sandbox.synth import Practice

from .test_demo_values_delta import _bench

SEED, PATIENTS = 97, 150


def _people(bench: Any, practice: Any) -> dict[str, dict[str, Any]]:
    people: dict[str, dict[str, Any]] = {}
    for r in practice.iter("patient"):
        plan = record_country(r)
        people[r.source_id] = {
            "cf:Ferry source ID": r.source_id,
            "cf:Birthday": r.date_of_birth.isoformat() if r.date_of_birth else None,
            "phone": [n for f in ("phone", "mobile", "work_phone")
                      if (n := bench.e164(getattr(r, f), plan))]}
    return people


def _problems(counts: Any) -> dict[str, int]:
    return {k: n for k, n in counts.items() if k.startswith("patient")
            and k.endswith(("lost", "wrong", "swapped"))}


def test_a_merged_duplicates_number_is_the_persons(tmp_path: Path) -> None:
    bench = _bench()
    practice = Practice(SEED, PATIENTS)
    pairs = practice.ledger.pairs("duplicate_email")
    assert pairs.get("10099") == "10083"
    people = _people(bench, practice)
    survivor, merged = people["10083"], people.pop("10099")
    extra = [n for n in merged["phone"] if n not in survivor["phone"]]
    assert extra, "the duplicate should carry a number its original lacks"
    survivor["phone"] = survivor["phone"] + extra[:1]  # the merge fills the empty phone
    norm = {"person": {f"person {k}": v for k, v in people.items()}}
    counts, _ = bench.check(practice, norm, "pipedrive")
    assert _problems(counts) == {}
    # a number of another patient is still caught
    survivor["phone"] = survivor["phone"] + people["10000"]["phone"][:1]
    counts, _ = bench.check(practice, norm, "pipedrive")
    assert _problems(counts) == {"patient phone wrong": 1}


def test_a_birthday_left_out_and_listed_is_not_lost(tmp_path: Path) -> None:
    bench = _bench()
    practice = Practice(SEED, PATIENTS)
    people = _people(bench, practice)
    people["10001"]["cf:Birthday"] = None
    people["10117"]["cf:Birthday"] = None
    norm = {"person": {f"person {k}": v for k, v in people.items()}}
    report = tmp_path / "reports" / "extract" / "extract.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"problems": [
        {"ref": "practicehub:patient:10001", "field": "date_of_birth", "stage": "extract-field",
         "reason": "not an ISO 8601 date"}]}))
    listed = bench.listed_empty(tmp_path)
    assert listed == {("patient", "10001", "date_of_birth")}
    counts, _ = bench.check(practice, norm, "pipedrive", "practicehub", set(), listed)
    assert counts["patient birthday left out, listed at extract"] == 1
    assert _problems(counts) == {"patient birthday lost": 1}  # 10117: not listed, lost
