"""A delta pass re-folds a parent from *all* its children: an edited child is replaced, a child
deleted at the source leaves its parent, and a parent whose last child went gets its folded
fields emptied. (A delta used to fold only the children that changed — the person's insurance
carriers became the one edited policy, and a deleted policy stayed on the person.)"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx

from ferry.engine.pipeline import confirmed_mapping, delta, load, open_destination
from ferry.engine.prepare import apply_keys


def _policies(pair: Any) -> list[dict[str, Any]]:
    body = httpx.get(pair.source_info["base_url"] + "/_sandbox/records/insurance_policies",
                     timeout=60).json()
    return body["records"]


def _expected(policies: list[dict[str, Any]]) -> dict[str, str | None]:
    by: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for p in policies:
        if p.get("carrier"):
            by[str(p["patient_id"])].append((str(p["source_id"]), p["carrier"]))
    return {pid: "; ".join(c for _, c in sorted(rows)) for pid, rows in by.items()}


def test_delta_refolds_parents_from_all_their_children(migration: Any) -> None:
    pair = migration(patients=24, options={"dedup_by_email": False}, review="approve")
    load(pair.project)
    by_patient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in _policies(pair):
        by_patient[str(p["patient_id"])].append(p)
    many = next((pid for pid, ps in sorted(by_patient.items()) if len(ps) >= 3), None) or \
        next(pid for pid, ps in sorted(by_patient.items()) if len(ps) >= 2)
    one, blank = [pid for pid, ps in sorted(by_patient.items()) if len(ps) == 1][:2]
    edited, gone = sorted(by_patient[many], key=lambda p: str(p["source_id"]))[:2]
    base = pair.source_info["base_url"] + "/_sandbox"
    httpx.post(base + "/set", json={"resource": "insurance_policies", "id": edited["source_id"],
                                    "fields": {"carrier": "Edited Mutual"}},
               timeout=60).raise_for_status()
    # a child that still exists but folds no value any more: its parent is emptied too
    httpx.post(base + "/set", json={"resource": "insurance_policies",
                                    "id": by_patient[blank][0]["source_id"],
                                    "fields": {"carrier": ""}}, timeout=60).raise_for_status()
    httpx.post(base + "/mutate", json={"resources": {"insurance_policies": {"delete_ids": [
        gone["source_id"], by_patient[one][0]["source_id"]]}}}, timeout=60).raise_for_status()
    _, report, _ = delta(pair.project)
    expected = _expected(_policies(pair))
    assert "Edited Mutual" in (expected[many] or "") and one not in expected
    assert blank not in expected
    store = pair.project.store
    doc = apply_keys(confirmed_mapping(pair.project), store)
    key = doc.custom_field("person", "insurance_carrier").key
    dest = open_destination(pair.project)
    rows = dest.read("person", [store.dest_id("patient", pid, "person")
                                for pid in (many, one, blank)], [key])
    got = {pid: rows[store.dest_id("patient", pid, "person")].get(key)
           for pid in (many, one, blank)}
    assert got[many] == expected[many]
    assert got[one] in (None, "")
    assert got[blank] in (None, "")
    lines = {c["ref"]: c for c in report.changes["lines"]}
    for sid in (gone["source_id"], by_patient[one][0]["source_id"]):
        line = lines[f"source:insurance_policy:{sid}"]
        assert line["outcome"] == "applied" and "taken out" in line["detail"], line
