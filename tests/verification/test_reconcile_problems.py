"""Reconcile groups its discrepancy lines so each problem appears once, with what to do about it:
three persons deleted in the CRM, with deals, notes and files still pointing at them, are three
problems — not a line per record and check (it used to print 8 lines for 3 records, no
guidance)."""

from __future__ import annotations

from typing import Any

from ferry.engine.pipeline import load, open_destination
from ferry.engine.reconcile import run_reconcile


def test_each_problem_once_with_what_to_do(migration: Any) -> None:
    pair = migration(patients=10, options={"dedup_by_email": False}, review="approve")
    load(pair.project)
    assert run_reconcile(pair.project).balanced
    store = pair.project.store
    # the three patients with the most dependants
    counts: dict[str, int] = {}
    for m in store.iter_idmap(src_object="appointment"):
        staged = store.get("appointment", m.source_id)
        if staged is not None:
            counts[staged.record.patient_id] = counts.get(staged.record.patient_id, 0) + 1
    chosen = sorted(counts, key=lambda p: (-counts[p], p))[:3]
    persons = [store.dest_id("patient", p, "person") for p in chosen]
    dest = open_destination(pair.project)
    assert all(r.ok for r in dest.delete("person", [str(p) for p in persons]))
    rec = run_reconcile(pair.project)
    assert not rec.balanced
    assert len(rec.discrepancies) > len(persons)  # several lines per deleted person
    roots = {f"person:{p}" for p in persons}
    assert {p["problem"] for p in rec.problems} == roots, rec.problems
    for p in rec.problems:
        assert p["what"] and p["action"]
        assert "ferry rollback" in p["action"] or "restore" in p["action"]
        assert p["lines"] >= 1 and p["refs"]
    assert rec.as_dict()["problem_count"] == 3
