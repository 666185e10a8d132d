"""Every fold map's values for one parent go in one update: two maps fold a patient's insurance
policies into their person here (carrier, latest effective date), and each person the folds
reach gets one ``PATCH``, not one per map (the API's tokens, the audit log). The update's
before-image covers both maps' fields, so rolling back a delta that changed both restores
both; a delta re-sends only what changed."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import httpx

from ferry.engine.pipeline import (
    confirmed_mapping,
    delta,
    load,
    open_destination,
    run_rollback,
)
from ferry.engine.prepare import apply_keys
from ferry.model.audit import AuditLog


def _person_patches(pair: Any) -> Counter[str]:
    log = httpx.get(pair.dest_info["base_url"] + "/_sandbox/requests", timeout=60).json()
    return Counter(r["path"].rsplit("/", 1)[1] for r in log["requests"]
                   if r["method"] == "PATCH" and r["path"].startswith("/api/v2/persons/"))


def _folded(pair: Any, ids: list[str]) -> dict[str, tuple[Any, Any]]:
    doc = apply_keys(confirmed_mapping(pair.project), pair.project.store)
    keys = [doc.custom_field("person", n).key for n in ("insurance_carrier",
                                                        "insurance_effective")]
    rows = open_destination(pair.project).read("person", ids, keys)
    return {i: (rows[i].get(keys[0]), rows[i].get(keys[1])) for i in ids}


def test_fold_maps_into_one_parent_send_one_update(migration: Any) -> None:
    pair = migration(patients=24, options={"dedup_by_email": False}, review="approve")
    load(pair.project)
    store = pair.project.store
    policies = httpx.get(pair.source_info["base_url"] + "/_sandbox/records/insurance_policies",
                         timeout=60).json()["records"]
    patients = sorted({str(p["patient_id"]) for p in policies})
    person = {pid: store.dest_id("patient", pid, "person") for pid in patients}
    ids = [d for d in person.values() if d]
    values = _folded(pair, ids)
    both = [d for d, (carrier, eff) in values.items() if carrier and eff]
    assert both, "the practice has persons with a carrier and a date folded"
    patches = _person_patches(pair)
    # the first load patches persons only to fold: each person with a folded value once
    assert set(patches) == {d for d, v in values.items() if any(v)}
    assert set(patches.values()) == {1}, patches.most_common(3)
    # each fold update is audited under the patient it was folded into, not under the
    # person's id read as a patient's source id
    folds = [e for e in AuditLog(store).entries() if e.kind == "done" and e.detail.get("fold")]
    assert {e.dest_id for e in folds} == set(patches)
    patient_of = {d: p for p, d in person.items()}
    assert {e.src_ref for e in folds} == {f"source:patient:{patient_of[e.dest_id]}"
                                          for e in folds}

    # a delta that changes both maps' values of one person: one PATCH, both fields
    pid = next(p for p in patients if person[p] in both
               and sum(1 for x in policies if str(x["patient_id"]) == p) == 1)
    policy = next(x for x in policies if str(x["patient_id"]) == pid)
    before = values[person[pid]]
    base = pair.source_info["base_url"] + "/_sandbox"
    httpx.post(base + "/set", json={"resource": "insurance_policies", "id": policy["source_id"],
                                    "fields": {"carrier": "Edited Mutual",
                                               "effective_date": "2031-02-03"}},
               timeout=60).raise_for_status()
    _, report, _ = delta(pair.project)
    after = _person_patches(pair) - patches
    assert after == Counter({person[pid]: 1}), after
    assert _folded(pair, [person[pid]])[person[pid]] == ("Edited Mutual", dt.date(2031, 2, 3))

    # rolling the delta back restores both maps' fields from the one update's before-image
    result = run_rollback(pair.project, report.run_id)
    assert result.verified and result.restored == 1, (result.failures, result.restored_hash_ok)
    assert _folded(pair, [person[pid]])[person[pid]] == before
