"""Sample against real sandboxes: a clean sample passes; a destination that silently cuts a
field makes the diff find it, name it unexplained and fail (exit status 1)."""

from __future__ import annotations

import json
from dataclasses import replace

from typer.testing import CliRunner

from ferry.cli.app import app
from ferry.engine.readback import run_sample
from ferry.sandbox.synth.dirt import DirtRates


def test_clean_sample_passes(migration) -> None:
    # duplicates by email: merged patients' children must land on survivors the slice includes
    pair = migration(source_extra={"dirt": replace(DirtRates(), duplicate_email=0.3)})
    report, diff, selected = run_sample(pair.project, 40)
    assert diff.records > 10 and selected["patient"] >= 1
    bad = [(f.ref, f.field, f.category, f.note) for f in diff.unexplained]
    assert diff.passed, (bad, diff.not_found, diff.unexplained_skips)
    cats = diff.categories()
    assert cats["equal"] > 0 and cats["transformed"] > 0  # refs, owners, value maps
    maps = {f.map for f in diff.fields}
    assert {"patient_person", "appointment_deal", "insurance_fold", "insurance_dates",
            "document_file"} <= maps  # records, folds and files read back
    # No BAA in this project: notes (clinical, required content) are held by the PHI gate —
    # explained skips, not differences — and so is anything that needed a held parent.
    held = [s for s in diff.skips if s["ref"].startswith("source:clinical_note:")]
    assert held and all(s["stage"] == "hold" and s["explained"] for s in held)


def test_silent_truncation_is_found_and_fails(migration, tmp_path) -> None:
    pair = migration(dest_extra={"silent_truncate": "person.Occupation:3"})
    result = CliRunner().invoke(app, ["sample", "--project", str(pair.project.root),
                                      "--size", "40"])
    assert result.exit_code == 1, result.output
    reports = sorted((pair.project.root / "reports" / "sample").glob("*.json"))
    data = json.loads(reports[-1].read_text())
    assert data["verdict"] == "fail"
    assert data["unexplained_skip_count"] == 0  # held records and their children are explained
    cut = [d for d in data["unexplained_differences"] if d["field"] == "custom:occupation"]
    assert cut and all(d["category"] == "truncated" for d in cut)
    assert all(d["note"].startswith("the destination cut the value") for d in cut)
    # occupation is demographic PHI: masked to its shape in the report
    assert all(set(str(d["stored"])) <= set("Xx9 -'.,") for d in cut)
    # explained truncation by the map (mrn truncate max 6) is not counted against the verdict
    assert not [d for d in data["unexplained_differences"] if d["field"] == "custom:mrn"]


def test_salesforce_silent_truncation_is_found(migration) -> None:
    from .mapping_sf import doc

    pair = migration(destination="salesforce", doc=doc(), patients=12,
                     dest_extra={"silent_truncate": "Contact.Occupation__c:3"})
    _, diff, _ = run_sample(pair.project, 20)
    assert not diff.passed
    bad = {(f.map, f.field, f.category) for f in diff.unexplained}
    assert bad == {("patient_contact", "custom:occupation", "truncated")}, bad
    industry = [f for f in diff.fields if f.field == "Industry"]
    assert industry and all(f.category == "transformed" and f.explained
                            and "default" in f.note for f in industry)  # a constant, as mapped


def test_redacted_notes_are_compared_as_written(migration) -> None:
    """With a BAA and the PHI review deciding 'redact', notes go out redacted: the diff compares
    the redacted text the load wrote and explains the change by the review, not as a loss."""
    pair = migration(review="redact")
    _, diff, _ = run_sample(pair.project, 40)
    assert diff.passed, [(f.ref, f.field, f.note) for f in diff.unexplained]
    content = [f for f in diff.fields if f.map == "note_note" and f.field == "content"]
    assert content
    redacted = [f for f in content if "PHI review" in f.note]
    assert redacted and all(f.category == "transformed" and f.explained for f in redacted)
