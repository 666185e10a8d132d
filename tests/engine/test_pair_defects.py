"""One test per defect issue 15 found in the 12 source × destination pairs (the matrix itself is
``test_matrix.py``). These are the cheap, sandbox-free ones; the FHIR check and the Salesforce
design rules are tested against their sandboxes in their own test files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ferry.engine.reconcile import _ref_keys
from ferry.mapping.adapt import fit_to_source
from ferry.mapping.compile import compile_mapping
from ferry.mapping.model import FieldMap, MappingDoc, ObjectMap, Transform
from ferry.mapping.recipes import load_recipe
from ferry.mapping.review import settle_reviews
from ferry.mapping.validate import validate
from ferry.sources.pulse.reader import OBJECTS as PULSE_OBJECTS


def _refs(doc: MappingDoc) -> set[str]:
    return {str(t.args.get("object")) for om in doc.objects for fm in om.fields
            if fm.status == "mapped" for t in fm.transform if t.name == "ref"}


@pytest.mark.parametrize("destination", ["pipedrive", "salesforce", "odoo"])
def test_recipe_fits_a_source_without_clinics_or_payments(destination: str) -> None:
    """Pulse has no clinics, payments or treatment records: nothing in the fitted map may wait
    for them (patients skipped for a clinic never written; a pick-list waiting for payments;
    a lookup to a custom object never created)."""
    doc = load_recipe("pulse", destination)
    assert {"clinic", "payment"} & {om.source for om in doc.objects}  # the recipe has them
    notes = fit_to_source(doc, PULSE_OBJECTS)
    have = set(PULSE_OBJECTS)
    assert {om.source for om in doc.objects if om.mode != "none"} <= have
    assert _refs(doc) <= have
    ignored = [fm for om in doc.objects for fm in om.fields if fm.status == "ignored"
               and "the source has no" in fm.reason]
    assert ignored and notes
    targets = {om.target for om in doc.objects}
    for fields in doc.custom_fields.values():
        for cf in fields:  # a lookup to a custom object no map creates cannot be provisioned
            assert cf.ref is None or not cf.ref.endswith("__c") or cf.ref in targets, cf.name
            assert not cf.name.lower().startswith("last_payment"), cf.name
    assert validate(doc) == []


def test_fit_keeps_everything_a_full_source_has() -> None:
    doc = load_recipe("practicehub", "salesforce")
    before = doc.model_copy(deep=True)
    everything = {om.source for om in doc.objects} | {"clinic", "treatment_record"}
    assert fit_to_source(doc, everything) == []
    assert doc == before


def test_demo_reviewer_turns_review_lines_into_custom_fields() -> None:
    """The Odoo proposal leaves source custom fields 'in review' (preferred language → ``lang``,
    account balance → an existing amount field); confirm refuses them. The demo's reviewer
    keeps each value in a custom field of its own instead of betting on the guess."""
    doc = MappingDoc(source="practicehub", destination="odoo", objects=[ObjectMap(
        name="patient_partner", source="patient", target="res.partner", fields=[
            FieldMap(source="custom.preferred_language", target="lang", status="review",
                     confidence=0.7),
            FieldMap(source="custom.account_balance", target="custom:last_bill_amount",
                     transform=[Transform(name="money")], status="review", confidence=0.6),
            FieldMap(source="last_name", target="name")])])
    decided = settle_reviews(doc)
    assert len(decided) == 2
    fms = doc.objects[0].fields
    assert [f.status for f in fms] == ["mapped", "mapped", "mapped"]
    assert fms[0].target == "custom:src_preferred_language"
    assert fms[1].target == "custom:src_account_balance"
    kinds = {cf.name: cf.kind.value for cf in doc.custom_fields["res.partner"]}
    assert kinds == {"src_preferred_language": "text", "src_account_balance": "money"}
    assert not any("still in review" in p for p in validate(doc))


def test_reference_to_a_split_object_is_live_in_any_of_its_targets() -> None:
    """Salesforce appointments land in Task or Event by type; an invoice's Source_Appointment
    holds whichever id the appointment got, so reconcile must look in both (it looked only in
    Task and called every Event-linked invoice an orphan)."""
    doc = load_recipe("practicehub", "salesforce")
    invoice = next(cm for cm in compile_mapping(doc, need_keys=False)
                   if cm.om.source == "invoice" and cm.om.mode == "record")
    refs = {src: set(targets) for _, src, targets in _ref_keys(doc, invoice)}
    assert refs["appointment"] == {"Task", "Event"}
    assert refs["patient"] == {"Contact"}


def test_demo_key_is_per_folder_and_said_when_no_keyring(tmp_path: Path, capsys) -> None:
    from ferry.cli.commands.demo import _keep_key, demo_key_env

    a, b = demo_key_env(tmp_path / "a"), demo_key_env(tmp_path / "b")
    assert a != b and a.startswith("FERRY_DEMO_KEY_")
    line = _keep_key(a, "k3y")
    try:
        import keyring  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        assert line == f"export {a}=k3y"
        assert line in capsys.readouterr().out


def test_clinic_export_is_read_back_whole(tmp_path: Path) -> None:
    """``ferry demo --source clinic_csv`` migrates a generated export: CSV files and one XLSX,
    with a BOM, a semicolon file, day-first dates, a duplicated and a broken row."""
    from ferry.sandbox.clinic_export import FILES, write_clinic_export
    from ferry.sandbox.synth import Practice
    from ferry.sources.clinic_csv import create

    practice = Practice(seed=2, patients=12)
    written = write_clinic_export(tmp_path / "export", practice)
    assert sorted(p.suffix for p in (tmp_path / "export").iterdir()).count(".xlsx") == 1
    src = create({"path": str(tmp_path / "export")}, tmp_path)

    async def read(obj: str) -> tuple[set[str], int, int]:
        ids, errors, twice = set(), 0, 0
        async for page in src.read(obj):
            ids |= {r.source_id for r in page.records}
            twice += sum(bool(getattr(e, "duplicate", False)) for e in page.errors)
            errors += len(page.errors)
        return ids, errors - twice, twice

    for obj, (name, _) in FILES.items():
        ids, errors, twice = asyncio.run(read(obj))
        assert ids == {r.source_id for r in practice.iter(obj)}, obj
        assert errors == (1 if obj == "patient" else 0), obj
        assert twice == (1 if obj == "invoice" else 0), obj  # the row exported twice
        assert written[name] >= len(ids)
    patients = {}

    async def first() -> None:
        async for page in src.read("patient"):
            patients.update({r.source_id: r for r in page.records})

    asyncio.run(first())
    want = {r.source_id: r.date_of_birth for r in practice.iter("patient")}
    assert {k: v.date_of_birth for k, v in patients.items()} == want  # day-first read right


def test_invalid_phone_is_explained_only_by_a_confirmed_leave_out() -> None:
    """An invalid phone stays an unexplained difference (issue 21) unless the person confirming
    the map decided to leave such values out (``on_invalid: leave_out``), as the demo's reviewer
    does: the diff then names that rule, and the map round-trips it."""
    import datetime as dt

    from ferry.engine.diff import diff_record
    from ferry.mapping import mapping_file
    from ferry.mapping.review import leave_out_invalid
    from ferry.model.entities import Patient

    class NoLookup:
        def dest_id(self, src_object, source_id, dest_object=None):  # noqa: ANN001, ANN202
            return None

        def owner(self, practitioner_source_id):  # noqa: ANN001, ANN202
            return None

    def doc() -> MappingDoc:
        return MappingDoc(source="practicehub", destination="pipedrive", objects=[ObjectMap(
            name="patients", source="patient", target="person", fields=[
                FieldMap(source="mobile", target="phone",
                         transform=[Transform(name="phone_e164")])])])

    rec = Patient(source_id="p1", first_name="A", last_name="B", mobile="call after 5pm",
                  date_of_birth=dt.date(1980, 1, 2))
    strict, decided = doc(), doc()
    assert leave_out_invalid(decided) == ["patients.phone"]
    assert mapping_file.loads(mapping_file.dump_doc(decided)).objects[0].fields[0].on_invalid \
        == "leave_out"
    for d, explained in ((strict, False), (decided, True)):
        (cm,) = compile_mapping(d, need_keys=False, region="AU")
        (fd,) = diff_record(cm, rec, NoLookup(), {}, dest="person:1")
        assert (fd.category, fd.explained) == ("missing", explained)
    assert "on_invalid: leave_out" in fd.note


def test_pick_list_fed_by_an_object_the_source_lacks(tmp_path: Path) -> None:
    """Pulse has no payments: after a finished extract a pick-list fed by payments gets no
    labels instead of asking for an extract that already ran; before any extract it still
    says to run one."""
    from ferry.engine.prepare import derive_options
    from ferry.errors import MappingError
    from ferry.model.staging import StagingStore

    doc = load_recipe("pulse", "pipedrive")
    store = StagingStore(tmp_path / "s.db")
    with pytest.raises(MappingError, match="run `ferry extract`"):
        derive_options(doc, store)
    run = store.start_run("extract")
    for obj in PULSE_OBJECTS:
        store.set_checkpoint(f"extract:{obj}", "done")
    store.finish_run(run, "done")
    got = derive_options(doc, store)
    assert got.custom_field("deal", "last_payment_method").options == ["(none)"]
    store.close()
