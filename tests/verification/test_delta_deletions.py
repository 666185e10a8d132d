"""Patients deleted at the source during cutover: ``ferry delta`` follows each object map's
declared deletion policy. With ``delete_dependants`` (the default for ``delete_policy:
delete``) the deals, activities, notes and files that pointed at the person go too — no orphans
— the delta report says what it did and why, and reconcile after the delta balances."""

from __future__ import annotations

from typing import Any

import httpx

from ferry.engine.pipeline import delta, load
from ferry.engine.reconcile import run_reconcile


def _state(pair: Any) -> dict[str, Any]:
    return httpx.get(pair.dest_info["base_url"] + "/_sandbox/state", timeout=60).json()


def _live(state: dict[str, Any], obj: str) -> list[dict[str, Any]]:
    return [r for r in state["records"].get(obj, []) if not r.get("is_deleted")
            and r.get("active_flag", True) is not False]


def _pointing_at(state: dict[str, Any], persons: set[int]) -> dict[str, int]:
    return {obj: sum(1 for r in _live(state, obj) if r.get("person_id") in persons)
            for obj in ("deal", "activity", "note", "file")}


def test_delete_dependants_leaves_no_orphans_and_reconcile_balances(migration: Any) -> None:
    pair = migration(patients=8, options={"dedup_by_email": False}, review="approve")
    load(pair.project)
    r = httpx.post(pair.source_info["base_url"] + "/_sandbox/mutate",
                   json={"resources": {"patients": {"deletes": 3, "seed": 4}}}, timeout=60)
    r.raise_for_status()
    gone = [str(i) for i in r.json()["patients"]["deleted"]]
    store = pair.project.store
    persons = {int(d) for sid in gone
               if (d := store.dest_id("patient", sid, "person")) is not None}
    before = _pointing_at(_state(pair), persons)
    assert persons and sum(before.values()) > 0, before  # the deleted patients had dependants
    _, report, deleted = delta(pair.project)
    state = _state(pair)
    assert not {p["id"] for p in _live(state, "person")} & persons
    assert _pointing_at(state, persons) == dict.fromkeys(before, 0)  # no orphans
    assert set(report.deletions["policies"].values()) == {"delete_dependants"}
    assert report.deletions["dependants_deleted"] >= sum(before.values()) - before["file"]
    assert deleted == report.deletions["deleted"] + report.deletions["dependants_deleted"]
    rec = run_reconcile(pair.project)
    assert rec.balanced, rec.discrepancies[:8]


def test_a_document_deleted_at_the_source_takes_its_file_with_it(migration: Any) -> None:
    """A document deleted at the source left its file in the CRM and the delta report had no
    word for it (only record maps followed deletions)."""
    pair = migration(patients=8, options={"dedup_by_email": False}, review="approve")
    load(pair.project)
    store = pair.project.store
    doc_id = next(m.source_id for m in store.iter_idmap(src_object="document")
                  if m.dest_object == "file")
    file_id = store.dest_id("document", doc_id, "file")
    httpx.post(pair.source_info["base_url"] + "/_sandbox/mutate", json={"resources": {
        "files": {"delete_ids": [doc_id]}}}, timeout=60).raise_for_status()
    _, report, _ = delta(pair.project)
    assert int(file_id) not in {f["id"] for f in _live(_state(pair), "file")}
    line = next(c for c in report.changes["lines"] if c["ref"] == f"source:document:{doc_id}")
    assert line["change"] == "deleted" and line["outcome"] == "applied", line
    assert report.changes["unaccounted"] == 0
    assert run_reconcile(pair.project).balanced
