"""Reconcile against real sandboxes: balanced after a clean run; after planted faults — a
dropped write, an orphaned note, a double write, a record silently dropped from the logs — the
discrepancy log names each affected record, and the CLI exits 1."""

from __future__ import annotations

import json
from dataclasses import replace

from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.engine.pipeline import load, open_destination
from ferry.engine.reconcile import run_reconcile
from ferry.sandbox.synth.dirt import DirtRates


def _refs(result, kind: str) -> set[str]:
    return {d["ref"] for d in result.discrepancies if d["kind"] == kind}


def test_balanced_then_each_planted_fault_pinpointed(migration) -> None:
    # BAA + reviewed notes (so notes move); patients sharing an email (merged on load)
    pair = migration(patients=20, review="approve", source_extra={
        "dirt": replace(DirtRates(), duplicate_email=0.2)})
    proj = pair.project
    load(proj)
    clean = run_reconcile(proj)
    assert clean.balanced, clean.discrepancies[:10]
    for row in clean.objects:
        assert row["adds_up"], row
    patients = next(r for r in clean.objects if r["object"] == "patient")
    assert patients["merged"] > 0
    assert patients["source"] == patients["loaded"] + patients["merged"] + patients["skipped"] \
        + patients["held"] + patients["excluded"]
    assert {r["object"] for r in clean.destination} == {"organization", "person", "deal",
                                                        "note", "file"}
    assert all(r["balanced"] for r in clean.destination), clean.destination
    assert clean.sums and all(s["equal"] for s in clean.sums)  # deal value = appointment fee
    per = {c["map"]: c for c in clean.children}
    assert per["note_note"]["expected"] == per["note_note"]["actual"] > 0  # notes per person
    assert per["document_file"]["expected"] == per["document_file"]["actual"] > 0  # files

    store, dest = proj.store, open_destination(proj)
    deals = [m for m in store.iter_idmap(src_object="appointment") if m.dest_object == "deal"]
    notes = [m for m in store.iter_idmap(src_object="clinical_note") if m.dest_object == "note"]
    persons = {m.source_id: m.dest_id for m in store.iter_idmap(src_object="patient")
               if m.dest_object == "person"}
    # 1. a dropped write: the destination lost a deal the audit log says was created
    dropped = deals[0]
    assert dest.delete("deal", [dropped.dest_id])[0].ok
    # 2. an orphaned note: its person is gone from the destination
    note_rec = {n.source_id: store.get("clinical_note", n.source_id).record for n in notes}
    with_files = {store.get("document", m.source_id).record.patient_id
                  for m in store.iter_idmap(src_object="document") if m.dest_object == "file"}
    victim_pid = next(r.patient_id for r in note_rec.values() if r.patient_id in persons
                      and r.patient_id in with_files)
    victim_person = persons[victim_pid]
    victim_notes = {n.dest_id for n in notes if note_rec[n.source_id].patient_id == victim_pid}
    victim_files = {m.dest_id for m in store.iter_idmap(src_object="document")
                    if m.dest_object == "file"
                    and store.get("document", m.source_id).record.patient_id == victim_pid}
    assert victim_notes and victim_files
    assert dest.delete("person", [victim_person])[0].ok
    # 3. a double write: a second person carrying another patient's source id
    twin_sid, twin_dest = next((s, d) for s, d in persons.items() if s != victim_pid)
    row = dest.read("person", [twin_dest])[twin_dest]
    id_key = next(k for k in row if len(k) == 40 and row[k] == twin_sid)
    [dup] = dest.create("person", [{"name": "Duplicate Write", id_key: twin_sid}])
    assert dup.ok
    # 4. silently dropped: a note the staging store no longer accounts for
    lost = next(n for n in notes if n.dest_id not in victim_notes)
    dest.delete("note", [lost.dest_id])
    store.unmap_id("clinical_note", lost.source_id, "note")

    result = run_reconcile(proj)
    assert not result.balanced
    assert f"source:appointment:{dropped.source_id}" in _refs(result, "missing")
    assert f"source:patient:{victim_pid}" in _refs(result, "missing")
    assert {f"destination:note:{d}" for d in victim_notes} <= _refs(result, "orphan")
    orphan_notes = {r for r in _refs(result, "orphan") if r.startswith("destination:note:")}
    assert orphan_notes == {f"destination:note:{d}" for d in victim_notes}
    orphan_files = {r for r in _refs(result, "orphan") if r.startswith("destination:file:")}
    assert orphan_files == {f"destination:file:{d}" for d in victim_files}
    [dup_line] = [d for d in result.discrepancies if d["kind"] == "duplicate"]
    assert dup_line["ref"] == f"source:patient:{twin_sid}" and dup.dest_id in dup_line["detail"]
    assert _refs(result, "dropped") == {f"source:clinical_note:{lost.source_id}"}
    notes_row = next(o for o in result.objects if o["object"] == "clinical_note")
    assert notes_row["unaccounted"] == 1 and not notes_row["adds_up"]
    # the report and the exit status say so
    out = CliRunner().invoke(app, ["reconcile", "--project", str(proj.root)])
    assert out.exit_code == 1, out.output
    [report] = sorted((proj.root / "reports" / "reconcile").glob("*.json"))[-1:]
    data = json.loads(report.read_text())
    assert data["balanced"] is False and data["discrepancy_count"] == len(result.discrepancies)
    assert "Duplicate Write" not in report.read_text()  # names never appear, refs only
