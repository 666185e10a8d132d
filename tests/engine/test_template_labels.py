"""Template fields that name a related record (``{clinic_name}``, ``{primary_practitioner_name}``)
render from the staged clinic and practitioner through the engine's own lookup."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ferry.engine.context import StoreLookup
from ferry.engine.owners import OwnerMatch
from ferry.mapping.compile import compile_mapping
from ferry.model.entities import Clinic, Patient, Practitioner
from ferry.model.staging import StagingStore

from .setup_pair import recipe_for

T = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)


def test_recipe_templates_name_the_clinic_and_practitioner(tmp_path: Path) -> None:
    store = StagingStore(tmp_path / "s.db")
    store.put_page("clinic", [Clinic(source_id="c1", name="Harbour Physio", created_at=T)],
                   "extract:clinic", "1")
    store.put_page("practitioner", [Practitioner(source_id="pr1", title="Dr", first_name="Ana",
                                                 last_name="Silva", created_at=T)],
                   "extract:practitioner", "1")
    patient = Patient(source_id="p1", first_name="Jo", last_name="Bloggs", clinic_id="c1",
                      primary_practitioner_id="pr1", created_at=T)
    doc = recipe_for("practicehub", "odoo")
    [cm] = [c for c in compile_mapping(doc, need_keys=False) if c.om.source == "patient"
            and c.om.mode == "record"]
    lookup = StoreLookup(store, OwnerMatch())
    built = cm.build(patient, lookup)
    assert built.ok, built.error
    values = {k: v for k, v in built.payload.items() if isinstance(v, str)}
    assert "Harbour Physio" in values.values(), values
    assert "Dr Ana Silva" in values.values(), values
    # a reference to nothing staged renders empty, not an error
    orphan = patient.model_copy(update={"clinic_id": "nope", "primary_practitioner_id": None})
    built = cm.build(orphan, lookup)
    assert built.ok and "Harbour Physio" not in built.payload.values()
    store.close()


def test_a_reference_column_that_holds_the_name_names_it_when_the_export_has_no_such_file(
        tmp_path: Path) -> None:
    """A clinic's own export: appointments name their practitioner (``Dr Hemi Walker``) and
    there is no staff file. The name is the only place the practitioner is written; the
    Pipedrive recipe's ``Provider: {practitioner_name}`` rendered it empty, so the name was lost
    with sample and reconcile at PASS. An id, or an orphan of an object the export has, stays
    unnamed."""
    from ferry.model.entities import Appointment

    store = StagingStore(tmp_path / "s.db")
    doc = recipe_for("clinic_csv", "pipedrive")
    [cm] = [c for c in compile_mapping(doc, need_keys=False) if c.om.source == "appointment"
            and c.om.target == "activity"]
    visit = Appointment(source_id="b1", patient_id="p1", practitioner_id="Dr Hemi Walker",
                        status="completed", start=T, created_at=T)

    def note(v: Appointment, lookup: StoreLookup) -> str:
        built = cm.build(v, lookup)
        assert built.ok, built.error
        return str(built.payload.get("note"))

    assert "Provider: Dr Hemi Walker" in note(visit, StoreLookup(store, OwnerMatch()))
    by_id = visit.model_copy(update={"practitioner_id": "17"})
    assert "Provider: <br>" in note(by_id, StoreLookup(store, OwnerMatch()))
    store.put_page("practitioner", [Practitioner(source_id="pr1", first_name="Ana",
                                                 last_name="Silva", created_at=T)],
                   "extract:practitioner", "1")
    # the export has a staff file: a name it does not hold is an orphan reference, unnamed
    assert "Provider: <br>" in note(visit, StoreLookup(store, OwnerMatch()))
    store.close()
