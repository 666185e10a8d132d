"""Dedup, owner matching and sample selection over a generated practice in the staging store."""

from __future__ import annotations

from collections import defaultdict

import pytest

from ferry.connectors.base import DestUser
from ferry.engine import dedup
from ferry.engine.owners import match_owners
from ferry.engine.sample import select_sample
from ferry.errors import ConfigError
from ferry.model.entities import Patient
from ferry.model.staging import StagingStore
from ferry.sandbox.synth import Practice


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Practice, StagingStore]:
    practice = Practice(seed=7, patients=300)
    store = StagingStore(tmp_path_factory.mktemp("dedup") / "staging.db")
    for obj in practice.objects():
        store.put_records(obj, practice.iter(obj))
    return practice, store


def test_same_email_patients_merge_into_the_most_complete(staged) -> None:
    practice, store = staged
    result = dedup.analyse(store)
    by_email: dict[str, list[Patient]] = defaultdict(list)
    for p in practice.iter("patient"):
        assert isinstance(p, Patient)
        if p.email:
            by_email[p.email.strip().lower()].append(p)
    groups = {e: ps for e, ps in by_email.items() if len(ps) > 1}
    assert result.groups == len(groups) > 0
    assert result.merged == sum(len(ps) - 1 for ps in groups.values())
    merges = dedup.merges(store)
    assert len(merges) == result.merged
    for ps in groups.values():
        ids = {p.source_id for p in ps}
        survivors = {dedup.survivor_of(store, "patient", i) for i in ids} - {None}
        assert len(survivors) == 1  # one survivor per group …
        (survivor,) = survivors
        assert survivor in ids and dedup.survivor_of(store, "patient", survivor) is None
        merged = dedup.merged_record(store, "patient", store.get("patient", survivor).record)
        for p in ps:  # … holding every value any member had
            for k, v in p.model_dump().items():
                if k not in dedup.SKIP_FIELDS and v not in (None, "", [], {}):
                    assert getattr(merged, k) not in (None, "", [], {}), k


def test_probable_duplicates_are_listed_not_merged(staged) -> None:
    practice, store = staged
    dedup.analyse(store)
    probable = list(dedup.probable_duplicates(store))
    planted = practice.ledger.ids("duplicate_person")
    assert planted, "the generator plants same-person-different-email duplicates"
    listed = {r.split(":")[-1] for row in probable for r in row["patients"]}
    assert planted <= listed
    # probable duplicates are never merged: only the same-email rule merges
    assert all(m["rule"] == "same email" for m in dedup.merges(store))


def test_owners_match_by_email_case_insensitively_with_fallback(staged) -> None:
    practice, store = staged
    emails = practice.crm_user_emails()
    users = [DestUser(str(i + 10), f"  {e.upper()} ") for i, e in enumerate(emails)]
    users.append(DestUser("1", "owner@clinic.example"))
    owners = match_owners(store, users, "Owner@Clinic.example")
    assert owners.fallback_user_id == "1"
    practitioners = list(practice.iter("practitioner"))
    matched = [p for p in practitioners if p.email and p.email.lower() in
               {e.lower() for e in emails}]
    assert len(owners.by_practitioner) == len(matched)
    unmatched = owners.report()["unmatched"]
    assert len(unmatched) == len(practitioners) - len(matched) > 0
    assert all(u["records"] >= 0 for u in unmatched)
    lone = next(p for p in practitioners if p.source_id not in owners.by_practitioner)
    assert owners.owner(lone.source_id) == "1"
    with pytest.raises(ConfigError):
        match_owners(store, users, "nobody@nowhere.example")


def test_sample_is_stratified_and_closed_over_parents(staged) -> None:
    _, store = staged
    chosen = select_sample(store, 120, store.counts().keys())
    objs = {o for o, _ in chosen}
    assert {"patient", "appointment", "clinic", "practitioner"} <= objs
    statuses = {store.get("appointment", i).record.status for o, i in chosen
                if o == "appointment"}
    assert len(statuses) >= 3, "every appointment status is represented"
    for obj, sid in chosen:
        rec = store.get(obj, sid).record
        for ref_field, target in (("patient_id", "patient"), ("practitioner_id", "practitioner"),
                                  ("clinic_id", "clinic")):
            pid = getattr(rec, ref_field, None)
            if pid and store.get(target, pid) is not None:
                assert (target, pid) in chosen, (obj, ref_field)
